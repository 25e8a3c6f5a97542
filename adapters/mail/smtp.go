package mail

import (
	"cmp"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/hotline-dev/hotline/bot"
)

// DefaultMaxMessageBytes is the SMTP listener's size limit: alert mail is
// small, and a mail with screenshots still fits.
const DefaultMaxMessageBytes = 10 << 20

// deliverWithin bounds storing one mail; the sending MTA waits for the
// answer and retries on a 451.
const deliverWithin = 30 * time.Second

// SMTPConfig configures the listener that receives alert mail.
type SMTPConfig struct {
	// Domain is the name the listener greets with.
	Domain string
	// MaxMessageBytes refuses larger mail with 552; 0: DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// TLS, when set, is offered with STARTTLS.
	TLS *tls.Config
	// Username and Password, when set, are required with AUTH PLAIN
	// before MAIL FROM (and only over TLS, unless the client is on
	// loopback).
	Username, Password string
	Intake             *Intake
	Logger             *slog.Logger
}

// SMTPServer receives alert mail for the integrations' addresses. It never
// relays: mail for any other address is refused with 550. A mail is
// answered 250 only once its alert is committed, 451 when it cannot be
// stored now (the sender's MTA tries again), 554 when it is unusable.
type SMTPServer struct {
	srv *smtp.Server
	log *slog.Logger
}

// NewSMTPServer checks cfg and builds the listener.
func NewSMTPServer(cfg SMTPConfig) (*SMTPServer, error) {
	var problems bot.Problems
	if cfg.Intake == nil {
		problems.Add("intake", "is required")
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		problems.Add("mail.smtp.password", "username and password go together")
	}
	if err := problems.Err(); err != nil {
		return nil, fmt.Errorf("smtp listener: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("listener", "smtp")
	b := &smtpBackend{cfg: cfg, log: log}
	s := smtp.NewServer(b)
	s.Domain = cmp.Or(cfg.Domain, "localhost")
	s.MaxMessageBytes = cfg.MaxMessageBytes
	if s.MaxMessageBytes <= 0 {
		s.MaxMessageBytes = DefaultMaxMessageBytes
	}
	s.MaxRecipients = 50
	s.ReadTimeout = 5 * time.Minute
	s.WriteTimeout = time.Minute
	s.TLSConfig = cfg.TLS
	// Auth checks for TLS or loopback itself (secure).
	s.AllowInsecureAuth = true
	s.ErrorLog = slogLogger{log}
	return &SMTPServer{srv: s, log: log}, nil
}

// Serve accepts connections on ln until Shutdown.
func (s *SMTPServer) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for the sessions under way, or ctx.
func (s *SMTPServer) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

type smtpBackend struct {
	cfg SMTPConfig
	log *slog.Logger
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{b: b, remote: c.Conn().RemoteAddr(), conn: c}, nil
}

// smtpSession is one SMTP connection's transaction state.
type smtpSession struct {
	b      *smtpBackend
	conn   *smtp.Conn
	remote net.Addr
	authed bool
	from   string
	rcpts  []string
}

var (
	errNotRelay = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "no alert integration has this address; Hotline does not relay"}
	// errAuthRequired is RFC 4954's answer (go-smtp's own is a 502).
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	errTryLater     = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "the alert cannot be stored now; try again later"}
)

func (s *smtpSession) AuthMechanisms() []string {
	if s.b.cfg.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || s.b.cfg.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	if !s.secure() {
		return nil, &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11}, Message: "use STARTTLS before AUTH"}
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		user := subtle.ConstantTimeCompare([]byte(username), []byte(s.b.cfg.Username))
		pass := subtle.ConstantTimeCompare([]byte(password), []byte(s.b.cfg.Password))
		if user&pass != 1 || (identity != "" && identity != username) {
			s.b.log.Warn("smtp auth refused", "remote", s.remote.String(), "user", username)
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.authed = true
		return nil
	}), nil
}

// secure reports whether a password may cross this connection: over TLS,
// or from this machine.
func (s *smtpSession) secure() bool {
	if _, ok := s.conn.TLSConnectionState(); ok {
		return true
	}
	tcp, ok := s.remote.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.cfg.Username != "" && !s.authed {
		return errAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, _, ok := s.b.cfg.Intake.Route(to); !ok {
		s.b.log.Info("smtp recipient refused", "remote", s.remote.String(), "rcpt", to)
		return errNotRelay
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data stores the mail's alert for each recipient and answers 250 only
// when every one is committed.
func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		// go-smtp's 552 when the mail is over the limit.
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), deliverWithin)
	defer cancel()
	seen := map[string]bool{}
	for _, rcpt := range s.rcpts {
		ig, key, _ := s.b.cfg.Intake.Route(rcpt)
		if seen[ig.ID+"+"+key] {
			continue // the same integration and key twice: one alert
		}
		seen[ig.ID+"+"+key] = true
		out, err := s.b.cfg.Intake.Deliver(ctx, rcpt, raw)
		var invalid *bot.InvalidError
		switch {
		case err == nil:
			s.b.log.Debug("smtp mail stored", "remote", s.remote.String(), "rcpt", rcpt, "action", out.Action)
		case errors.As(err, &invalid):
			s.b.log.Warn("smtp mail refused", "remote", s.remote.String(), "rcpt", rcpt, "reason", invalid.Reason)
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: invalid.Reason}
		default:
			s.b.log.Error("smtp mail not stored; the sender will retry", "remote", s.remote.String(), "rcpt", rcpt, "err", err)
			return errTryLater
		}
	}
	return nil
}

func (s *smtpSession) Reset() { s.from, s.rcpts = "", nil }

func (s *smtpSession) Logout() error { return nil }

// slogLogger is go-smtp's error log on slog.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l slogLogger) Println(v ...any)               { l.log.Warn(fmt.Sprint(v...)) }

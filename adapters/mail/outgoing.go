// Package mail connects Hotline to e-mail. Sender delivers outgoing mail
// (status mail to administrators, the bot.Mailer port) through an SMTP relay.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"syscall"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/hotline-dev/hotline/bot"
)

// Outgoing TLS modes, as written in mail.outgoing.tls.
const (
	OutgoingSTARTTLS = "starttls"
	OutgoingTLS      = "tls"
	OutgoingNoTLS    = "none"
)

// defaultOutgoingTimeout bounds each step of an SMTP exchange (dial, each
// command, the message data), not the whole delivery.
const defaultOutgoingTimeout = 15 * time.Second

// outgoingAuthMechs are tried in this order among those the server offers.
// PLAIN and LOGIN cover practically every relay; go-mail refuses both on an
// unencrypted connection to anything but loopback, so a password never
// crosses the network in clear text.
var outgoingAuthMechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}

// OutgoingConfig is mail.outgoing: the SMTP relay status mail goes through.
type OutgoingConfig struct {
	Addr     string // host:port
	Username string // empty: no AUTH
	Password string
	From     string // "hotline@example.com" or "Hotline <hotline@example.com>"
	TLS      string // "starttls" (default) | "tls" | "none"
	// TLSConfig is optional; it is cloned and its ServerName defaults to the
	// host of Addr. Tests use it to trust a self-signed certificate.
	TLSConfig *tls.Config
	Timeout   time.Duration // per SMTP step; default 15s
}

// Sender sends mail through one SMTP relay. It is safe for concurrent use:
// each Send opens its own connection.
type Sender struct {
	addr     string
	host     string
	port     int
	username string
	password string
	from     *netmail.Address
	msgIDDom string // right-hand side of Message-ID, the From domain
	tlsMode  string
	tlsConf  *tls.Config
	timeout  time.Duration
}

var _ bot.Mailer = (*Sender)(nil)

// NewSender validates cfg and returns a Sender. Every problem is reported at
// once, each with its path under mail.outgoing, as a *bot.InvalidError.
func NewSender(cfg OutgoingConfig) (*Sender, error) {
	var problems bot.Problems
	s := &Sender{
		addr:     cfg.Addr,
		username: cfg.Username,
		password: cfg.Password,
		tlsMode:  cfg.TLS,
		timeout:  cfg.Timeout,
	}

	if cfg.Addr == "" {
		problems.Add("mail.outgoing.addr", "required (host:port)")
	} else if host, port, err := net.SplitHostPort(cfg.Addr); err != nil || host == "" {
		problems.Add("mail.outgoing.addr", fmt.Sprintf("%q is not host:port", cfg.Addr))
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		problems.Add("mail.outgoing.addr", fmt.Sprintf("port %q is not a number from 1 to 65535", port))
	} else {
		s.host, s.port = host, n
	}

	if cfg.From == "" {
		problems.Add("mail.outgoing.from", "required")
	} else if from, err := netmail.ParseAddress(cfg.From); err != nil {
		problems.Add("mail.outgoing.from", fmt.Sprintf("%q is not a mail address: %v", cfg.From, err))
	} else {
		s.from = from
		s.msgIDDom = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}

	switch cfg.TLS {
	case "":
		s.tlsMode = OutgoingSTARTTLS
	case OutgoingSTARTTLS, OutgoingTLS, OutgoingNoTLS:
	default:
		problems.Add("mail.outgoing.tls", fmt.Sprintf("%q is not one of starttls, tls, none", cfg.TLS))
	}

	// An unset ${SMTP_PASSWORD} must not turn into an AUTH with an empty
	// password that fails on every send.
	if cfg.Username != "" && cfg.Password == "" {
		problems.Add("mail.outgoing.password", "required with username")
	}
	if cfg.Username == "" && cfg.Password != "" {
		problems.Add("mail.outgoing.username", "required with password")
	}

	switch {
	case cfg.Timeout < 0:
		problems.Add("mail.outgoing.timeout", "must be > 0")
	case cfg.Timeout == 0:
		s.timeout = defaultOutgoingTimeout
	}

	if err := problems.Err(); err != nil {
		return nil, err
	}

	if cfg.TLSConfig != nil {
		s.tlsConf = cfg.TLSConfig.Clone()
	} else {
		s.tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tlsConf.ServerName == "" {
		s.tlsConf.ServerName = s.host
	}
	return s, nil
}

// Send delivers m to every address in m.To in one SMTP transaction.
//
// Errors: a bad message is a *bot.InvalidError; an SMTP 4xx reply, a refused
// or lost connection and a timeout are *bot.RetryableError; an SMTP 5xx reply
// (unknown mailbox, failed AUTH, ...) and a TLS certificate the relay cannot
// be trusted with are permanent and wrap a *bot.InvalidError carrying the
// server's text. A cancelled ctx aborts the exchange and is retryable.
func (s *Sender) Send(ctx context.Context, m bot.Mail) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return bot.Retryable(fmt.Errorf("send mail via %s: %w", s.addr, err), 0)
	}

	// go-mail only uses ctx to dial; after that its deadlines come from the
	// timeout. Closing the connection when ctx is done makes every later
	// read or write fail at once.
	var stopWatch func() bool
	defer func() {
		if stopWatch != nil {
			stopWatch()
		}
	}()
	dial := func(dialCtx context.Context, _, _ string) (net.Conn, error) {
		conn, err := s.dial(dialCtx)
		if err != nil {
			return nil, err
		}
		stopWatch = context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}

	client, err := gomail.NewClient(s.host, s.clientOptions(dial)...)
	if err != nil {
		// Only option validation fails here; NewSender checked the inputs.
		return fmt.Errorf("send mail via %s: %w", s.addr, err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil || msg.IsDelivered() {
		// A relay that took the message but failed the RSET or QUIT after
		// it has still delivered; retrying would send it twice.
		return nil
	}
	return s.classify(ctx, err)
}

// message builds the MIME message: text/plain in UTF-8, quoted-printable so
// it is 7-bit clean on any relay, with an RFC 2047 encoded Subject.
func (s *Sender) message(m bot.Mail) (*gomail.Msg, error) {
	if len(m.To) == 0 {
		return nil, bot.Invalid("mail has no recipients")
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithEncoding(gomail.EncodingQP), gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	for _, to := range m.To {
		if err := msg.AddTo(to); err != nil {
			return nil, bot.Invalid("mail recipient %q is not a mail address", to)
		}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(rand.Text() + "@" + s.msgIDDom)
	msg.SetUserAgent("Hotline")
	// RFC 3834: keeps vacation responders from answering the bot.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	return msg, nil
}

func (s *Sender) clientOptions(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(s.tlsConf),
		gomail.WithDialContextFunc(dial),
	}
	switch s.tlsMode {
	case OutgoingTLS:
		// The connection is TLS from the start (see dial); no STARTTLS.
		opts = append(opts, gomail.WithSSL())
	case OutgoingNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		// Mandatory: a relay that stops offering STARTTLS (or a downgrade
		// attack stripping it) fails the send instead of going clear text.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.username != "" {
		opts = append(opts,
			gomail.WithUsername(s.username),
			gomail.WithPassword(s.password),
			gomail.WithOpportunisticSMTPAuth(outgoingAuthMechs...))
	}
	return opts
}

// dial connects to the relay itself: go-mail's own dialer joins host and
// port without brackets, which breaks IPv6 literals, and a custom dialer is
// the only way to see the connection so ctx can close it.
func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	dialer := &net.Dialer{Timeout: s.timeout}
	if s.tlsMode == OutgoingTLS {
		tlsDialer := &tls.Dialer{NetDialer: dialer, Config: s.tlsConf}
		return tlsDialer.DialContext(ctx, "tcp", s.addr)
	}
	return dialer.DialContext(ctx, "tcp", s.addr)
}

// classify decides for the job runner whether a failed delivery is worth
// another try.
func (s *Sender) classify(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return bot.Retryable(fmt.Errorf("send mail via %s: %w", s.addr, ctxErr), 0)
	}
	retry := func() error {
		return bot.Retryable(fmt.Errorf("send mail via %s: %w", s.addr, err), 0)
	}
	refused := func() error {
		return fmt.Errorf("send mail: %w", &bot.InvalidError{
			Reason: fmt.Sprintf("mail server %s: %v", s.addr, err),
		})
	}

	// A SendError (MAIL, RCPT, DATA) keeps the reply code but does not
	// unwrap to it, so it is checked before the generic cases.
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) {
		if sendErr.ErrorCode() >= 500 {
			return refused()
		}
		// A 4xx, or no reply code at all: the connection broke
		// mid-transaction. The addresses were parsed before we connected,
		// so nothing about the message itself is wrong.
		return retry()
	}

	// Replies during the greeting, EHLO, STARTTLS and AUTH.
	var reply *textproto.Error
	if errors.As(err, &reply) {
		if reply.Code >= 400 && reply.Code < 500 {
			return retry()
		}
		return refused()
	}

	// A certificate the relay cannot be trusted with is a configuration
	// problem (or an attack); retrying will not fix it.
	var (
		verifyErr    *tls.CertificateVerificationError
		authorityErr x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidErr   x509.CertificateInvalidError
		recordErr    tls.RecordHeaderError
	)
	if errors.As(err, &verifyErr) || errors.As(err, &authorityErr) ||
		errors.As(err, &hostnameErr) || errors.As(err, &invalidErr) ||
		errors.As(err, &recordErr) {
		return refused()
	}

	// Refused connections, resets, DNS failures and timeouts.
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return retry()
	}

	// What is left is go-mail refusing the relay's capabilities: no
	// STARTTLS under "starttls", no usable AUTH mechanism, AUTH in clear
	// text to a remote host. Only a configuration change helps.
	return refused()
}

package mail

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/hotline-dev/hotline/bot"
)

// IMAP TLS modes, as written in mail.imap.tls.
const (
	IMAPTLS      = "tls" // implicit TLS, port 993
	IMAPSTARTTLS = "starttls"
	IMAPNoTLS    = "none"
)

const (
	imapPollEvery = 30 * time.Second
	// imapIdleRefresh re-issues IDLE well inside the 29 minutes after which
	// RFC 2177 lets a server drop an idle client (go-imap restarts at 28).
	imapIdleRefresh = 25 * time.Minute
	// imapMessageWithin bounds handling one message: the dedup look-ups, the
	// commit and remembering it. It runs to the end even when Run's context
	// ends meanwhile, so a commit that lands is also remembered.
	imapMessageWithin = 15 * time.Second
	// imapStopWithin is how long Run may take to finish the message in hand and
	// log out once its context ends; then the connection is closed.
	imapStopWithin = imapMessageWithin + 5*time.Second
	imapRetryMin   = time.Second
	imapRetryMax   = time.Minute
	imapDialWithin = 30 * time.Second
)

// IMAPConfig is mail.imap: the mailbox the poller reads alert mail from.
type IMAPConfig struct {
	Addr string // host:port
	TLS  string // "tls" (default, implicit TLS) | "starttls" | "none"
	// TLSConfig is optional; it is cloned and its ServerName defaults to the
	// host of Addr. Tests use it to trust a self-signed certificate.
	TLSConfig          *tls.Config
	Username, Password string
	Mailbox            string // default INBOX
	// After says what happens to a message once its alert is committed:
	// "seen" (default) sets \Seen; "move:<mailbox>" moves it there (MOVE, or
	// COPY, \Deleted and EXPUNGE on servers without MOVE), creating the
	// mailbox when the server asks for it (TRYCREATE). Mail that cannot
	// become an alert (no integration has its address, it cannot be read)
	// is marked \Seen and \Flagged and stays where it is, for a human.
	After string
	// PollEvery is how often a server without IDLE is asked for new mail;
	// default 30s.
	PollEvery time.Duration
	Intake    *Intake
	// Dedup remembers the messages handled, across restarts and replicas
	// (the store).
	Dedup  bot.Deduper
	Logger *slog.Logger
}

// Poller reads alert mail from one IMAP mailbox and hands it to the Intake.
// It runs on one replica at a time: its Run is the function of a
// bot.RunLeader.
//
// What is new. UID SEARCH UNSEEN finds the mail a human has not read,
// and, while the poller runs, everything above a UID high-water mark counts
// as new too, as does a message found once and not handled yet: a human who
// opens alert mail in a mail client (which marks it read within seconds) or
// reads it during a database outage does not hide it from the poller. The
// mark lives in memory only (the store keeps no cursor), so after a restart
// or a leader change the mail already in the mailbox is new when unseen:
// mail that a human read while no replica polled counts as handled by that
// human. Mail that a human marks unread again is found by the search but
// not delivered twice (below).
//
// Exactly once. A message is delivered, its key remembered in the store,
// and only then marked. The key names the server, user, mailbox,
// UIDVALIDITY and UID ("imap:host:993/alerts/INBOX:1712:42"), so a new
// UIDVALIDITY starts a new key space. The store's Remember records a key as
// it checks it, so the check before delivery cannot look at the key itself
// without setting it; instead each delivery attempt n first claims
// "<key>[#n]:claim" and, after the commit, remembers "<key>[#n]". Finding
// attempt n's claim taken, a later pass claims n+1 and then checks whether
// attempt n was remembered: if so it only marks the message; if not,
// attempt n never committed (the database was down, the process died) and
// it delivers again. Any doubt resolves to delivering again, never to
// dropping the mail: a crash (or a store failing) between a commit and
// remembering it, or between a later pass's claim and its check, costs a
// duplicate alert, which only appends to the open incident.
type Poller struct {
	addr, host string
	username   string
	password   string
	mailbox    string
	tlsMode    string
	tlsConf    *tls.Config
	moveTo     string // "" sets \Seen instead
	pollEvery  time.Duration
	intake     *Intake
	dedup      bot.Deduper
	log        *slog.Logger
	keyPrefix  string        // "imap:<addr>/<user>/<mailbox>:"
	noIdle     bool          // tests: behave as if the server lacked IDLE
	retryMax   time.Duration // the longest backoff; tests shorten it

	// What one Run leaves the next, on this replica: running guards it.
	running     sync.Mutex
	uidValidity uint32
	next        imap.UID              // UIDs from next on are new whatever their flags; 0: not known yet
	pending     map[imap.UID]bool     // found new, not handled yet: new whatever their flags
	owed        map[imap.UID]owedMark // handled, key not remembered yet
	unmarkable  map[imap.UID]bool     // handled, but the server refused to mark them
}

// owedMark is a message whose alert was committed (or that was refused) but
// whose key could not be remembered yet: it is never delivered again by this
// poller.
type owedMark struct {
	key     string
	refused bool
}

// NewPoller checks cfg and names every problem at once.
func NewPoller(cfg IMAPConfig) (*Poller, error) {
	var problems bot.Problems
	p := &Poller{
		addr:       cfg.Addr,
		username:   cfg.Username,
		password:   cfg.Password,
		mailbox:    cmp.Or(cfg.Mailbox, "INBOX"),
		tlsMode:    cmp.Or(cfg.TLS, IMAPTLS),
		pollEvery:  cmp.Or(cfg.PollEvery, imapPollEvery),
		intake:     cfg.Intake,
		dedup:      cfg.Dedup,
		log:        cfg.Logger,
		retryMax:   imapRetryMax,
		owed:       map[imap.UID]owedMark{},
		pending:    map[imap.UID]bool{},
		unmarkable: map[imap.UID]bool{},
	}
	if cfg.Addr == "" {
		problems.Add("mail.imap.addr", "required (host:port)")
	} else if host, port, err := net.SplitHostPort(cfg.Addr); err != nil || host == "" {
		problems.Add("mail.imap.addr", fmt.Sprintf("%q is not host:port", cfg.Addr))
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		problems.Add("mail.imap.addr", fmt.Sprintf("port %q is not a number from 1 to 65535", port))
	} else {
		p.host = host
	}
	switch p.tlsMode {
	case IMAPTLS, IMAPSTARTTLS, IMAPNoTLS:
	default:
		problems.Add("mail.imap.tls", fmt.Sprintf("%q is not one of tls, starttls, none", cfg.TLS))
	}
	if cfg.Username == "" {
		problems.Add("mail.imap.username", "required")
	}
	// An unset ${IMAP_PASSWORD} must not turn into a login that fails on
	// every poll.
	if cfg.Password == "" {
		problems.Add("mail.imap.password", "required")
	}
	switch after := cmp.Or(cfg.After, "seen"); {
	case after == "seen":
	case strings.HasPrefix(after, "move:") && strings.TrimSpace(after[len("move:"):]) != "":
		p.moveTo = strings.TrimSpace(after[len("move:"):])
		if p.moveTo == p.mailbox {
			problems.Add("mail.imap.after", fmt.Sprintf("%q moves mail into the mailbox it is read from", after))
		}
	default:
		problems.Add("mail.imap.after", fmt.Sprintf("%q is not seen or move:<mailbox>", cfg.After))
	}
	if cfg.PollEvery < 0 {
		problems.Add("mail.imap.poll_every", "must not be negative")
	}
	if cfg.Intake == nil {
		problems.Add("intake", "is required")
	}
	if cfg.Dedup == nil {
		problems.Add("dedup", "is required")
	}
	if err := problems.Err(); err != nil {
		return nil, fmt.Errorf("imap poller: %w", err)
	}
	if cfg.TLSConfig != nil {
		p.tlsConf = cfg.TLSConfig.Clone()
	} else {
		p.tlsConf = &tls.Config{}
	}
	if p.tlsConf.ServerName == "" {
		p.tlsConf.ServerName = p.host
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("imap", cfg.Addr, "mailbox", p.mailbox)
	p.keyPrefix = "imap:" + cfg.Addr + "/" + cfg.Username + "/" + p.mailbox + ":"
	return p, nil
}

// Run connects, logs in, selects the mailbox and takes the new mail, then
// waits for more with IDLE (or polls every PollEvery when the server has no
// IDLE) until ctx ends; then it logs out and returns nil. It returns an
// error when the connection, the login or the mailbox fails; the leader
// loop calls it again. Mail that cannot be stored now (the database is
// down) stays unseen and is tried again after a backoff.
func (p *Poller) Run(ctx context.Context) error {
	if !p.running.TryLock() {
		return errors.New("imap poller: already running")
	}
	defer p.running.Unlock()

	wake := make(chan struct{}, 1)
	c, err := p.connect(ctx, wake)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while connecting
		}
		return err
	}
	defer c.Close()
	// The client's commands take no context: the connection is closed when
	// the message in hand and the logout take too long after ctx ended.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(imapStopWithin)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			c.Close()
		}
	}()

	s := &imapSession{Poller: p, c: c, wake: wake}
	err = s.run(ctx)
	if ctx.Err() == nil {
		return err
	}
	if err != nil {
		p.log.Warn("imap poller stopping", "err", err)
		return nil
	}
	if err := c.Logout().Wait(); err != nil {
		p.log.Debug("imap logout", "err", err)
	}
	return nil
}

// connect dials, logs in and selects the mailbox. wake hears every new
// message count the server announces.
func (p *Poller) connect(ctx context.Context, wake chan<- struct{}) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		TLSConfig: p.tlsConf,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	dialCtx, cancel := context.WithTimeout(ctx, imapDialWithin)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dialCtx, "tcp", p.addr)
	if err != nil {
		return nil, fmt.Errorf("imap %s: %w", p.addr, err)
	}
	// Until the mailbox is selected, ctx or the dial timeout ending closes
	// the connection under whatever step is waiting.
	abort := context.AfterFunc(dialCtx, func() { conn.Close() })
	c, err := p.login(conn, opts)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("imap %s: %w", p.addr, err)
	}
	sel, err := c.Select(p.mailbox, nil).Wait()
	if err == nil && !abort() {
		err = dialCtx.Err()
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("imap %s: select %s: %w", p.addr, p.mailbox, err)
	}
	if sel.UIDValidity != p.uidValidity {
		// A new key space: what was known about the old UIDs means nothing.
		if p.uidValidity != 0 {
			p.log.Warn("imap mailbox UIDVALIDITY changed", "from", p.uidValidity, "to", sel.UIDValidity)
		}
		p.uidValidity = sel.UIDValidity
		p.next = 0
		p.owed = map[imap.UID]owedMark{}
		p.pending = map[imap.UID]bool{}
		p.unmarkable = map[imap.UID]bool{}
	}
	if p.next == 0 {
		// Mail already here when the poller starts is new when unseen;
		// what arrives from now on is new whatever its flags.
		p.next = sel.UIDNext
	}
	return c, nil
}

// login starts TLS as configured, waits for the greeting and logs in.
func (p *Poller) login(conn net.Conn, opts *imapclient.Options) (*imapclient.Client, error) {
	var c *imapclient.Client
	switch p.tlsMode {
	case IMAPTLS:
		conf := p.tlsConf.Clone()
		if conf.NextProtos == nil {
			conf.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, conf)
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		c = imapclient.New(tc, opts)
	case IMAPSTARTTLS:
		// NewStartTLS refuses a PREAUTH greeting before TLS.
		var err error
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			return nil, fmt.Errorf("starttls: %w", err)
		}
	default:
		c = imapclient.New(conn, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := c.Login(p.username, p.password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login as %s failed: %w", p.username, err)
	}
	return c, nil
}

// imapSession is one connection's life.
type imapSession struct {
	*Poller
	c    *imapclient.Client
	wake chan struct{}
}

// imapDeferred is a failure to store mail now (the database): the mail
// stays where it is and is tried again after a backoff.
type imapDeferred struct{ err error }

func (e *imapDeferred) Error() string { return e.err.Error() }
func (e *imapDeferred) Unwrap() error { return e.err }

func (s *imapSession) run(ctx context.Context) error {
	idle := !s.noIdle && s.c.Caps().Has(imap.CapIdle)
	s.log.Info("imap poller started", "idle", idle)
	var backoff time.Duration
	for {
		var retry time.Duration
		err := s.pass(ctx)
		var deferred *imapDeferred
		switch {
		case errors.As(err, &deferred):
			backoff = min(max(2*backoff, imapRetryMin), s.retryMax)
			retry = backoff
			s.log.Warn("imap mail left for later", "err", err, "retry_in", retry)
		case err != nil:
			return err
		default:
			backoff = 0
		}
		if ctx.Err() != nil {
			return nil
		}
		if idle {
			err = s.idle(ctx, retry)
		} else {
			err = s.poll(ctx, retry)
		}
		if err != nil || ctx.Err() != nil {
			return err
		}
	}
}

// idle waits in IDLE for new mail, the retry time, the IDLE refresh or ctx.
func (s *imapSession) idle(ctx context.Context, retry time.Duration) error {
	cmd, err := s.c.Idle()
	if err != nil {
		return fmt.Errorf("imap %s: idle: %w", s.addr, err)
	}
	refresh := time.NewTimer(imapIdleRefresh)
	defer refresh.Stop()
	var retryC <-chan time.Time
	if retry > 0 {
		t := time.NewTimer(retry)
		defer t.Stop()
		retryC = t.C
	}
	select {
	case <-ctx.Done():
	case <-s.wake:
	case <-refresh.C:
	case <-retryC:
	case <-s.c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("imap %s: idle: %w", s.addr, err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("imap %s: idle: %w", s.addr, err)
	}
	return nil
}

// poll waits PollEvery (or the retry time), then asks the server for news.
func (s *imapSession) poll(ctx context.Context, retry time.Duration) error {
	wait := s.pollEvery
	if retry > 0 {
		wait = min(wait, retry)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	case <-s.wake:
	case <-s.c.Closed():
	}
	if err := s.c.Noop().Wait(); err != nil {
		return fmt.Errorf("imap %s: noop: %w", s.addr, err)
	}
	return nil
}

// pass handles the new messages in UID order. It stops at the first message
// that cannot be stored now, so later mail never overtakes it.
func (s *imapSession) pass(ctx context.Context) error {
	uids, err := s.newUIDs()
	if err != nil {
		return err
	}
	for _, uid := range uids {
		// Found once, a message stays new until it is handled, even if a
		// human reads it while the database is down.
		s.pending[uid] = true
	}
	for _, uid := range uids {
		if ctx.Err() != nil {
			return nil
		}
		if err := s.handle(ctx, uid); err != nil {
			return err
		}
		delete(s.pending, uid)
		if uid >= s.next {
			s.next = uid + 1
		}
	}
	return nil
}

// newUIDs are the unseen messages, those from the high-water mark on and
// those found before and not handled yet, in UID order.
func (s *imapSession) newUIDs() ([]imap.UID, error) {
	unseen, err := s.c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("imap %s: search unseen: %w", s.addr, err)
	}
	uids := unseen.AllUIDs()
	if s.next > 0 {
		since := imap.UIDSet{{Start: s.next, Stop: 0}} // next:*
		data, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{since}}, nil).Wait()
		if err != nil {
			return nil, fmt.Errorf("imap %s: search from uid %d: %w", s.addr, s.next, err)
		}
		for _, uid := range data.AllUIDs() {
			// "n:*" always includes the highest UID, even below n.
			if uid >= s.next {
				uids = append(uids, uid)
			}
		}
	}
	for uid := range s.pending {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	uids = slices.Compact(uids)
	return slices.DeleteFunc(uids, func(uid imap.UID) bool { return s.unmarkable[uid] }), nil
}

package mail

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/hotline-dev/hotline/adapters/sqlite"
	"github.com/hotline-dev/hotline/bot"
)

const (
	imapUser     = "alerts"
	imapPassword = "s3cret"
	imapAlerts   = "web-alerts@alerts.example.com"
)

// imapIngest is the bot's Ingest with an outage to switch on and a count
// of the alerts it committed.
type imapIngest struct {
	bot       *bot.Bot
	down      atomic.Bool
	attempts  atomic.Int32
	committed atomic.Int32
}

func (in *imapIngest) Ingest(ctx context.Context, a bot.Alert) (bot.IngestResult, error) {
	in.attempts.Add(1)
	if in.down.Load() {
		return bot.IngestResult{}, fmt.Errorf("ingest: %w", bot.ErrUnavailable)
	}
	res, err := in.bot.Ingest(ctx, a)
	if err == nil {
		in.committed.Add(1)
	}
	return res, err
}

// imapDedup is the store's Remember with the keys asked for recorded, an
// outage of the whole store or of remembering deliveries (not claims) only,
// and a hook that runs after a delivery is remembered.
type imapDedup struct {
	store bot.Deduper
	down  atomic.Bool // every look-up fails
	// downAfterCommit fails remembering deliveries: a commit lands but is
	// not remembered.
	downAfterCommit atomic.Bool
	failed          atomic.Int32

	mu        sync.Mutex
	keys      []string
	afterDone func()
}

func (d *imapDedup) Remember(ctx context.Context, key string) (bool, error) {
	claim := strings.HasSuffix(key, ":claim")
	if d.down.Load() || !claim && d.downAfterCommit.Load() {
		d.failed.Add(1)
		return false, fmt.Errorf("remember: %w", bot.ErrUnavailable)
	}
	first, err := d.store.Remember(ctx, key)
	d.mu.Lock()
	d.keys = append(d.keys, key)
	hook := d.afterDone
	d.mu.Unlock()
	if err == nil && !claim && hook != nil {
		hook()
	}
	return first, err
}

// lookups counts the keys of one message asked for: its claims and
// delivery keys ("imap:<addr>/<user>/<mailbox>:<uidvalidity>:<uid>[#n][:claim]").
func (d *imapDedup) lookups(uid imap.UID) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, k := range d.keys {
		k = strings.TrimSuffix(k, ":claim")
		k, _, _ = strings.Cut(k[strings.LastIndexByte(k, ':')+1:], "#")
		if k == fmt.Sprint(uid) {
			n++
		}
	}
	return n
}

// imapRig is an in-memory IMAP server on loopback in front of which the
// poller runs, a real bot on SQLite behind it, and a human's mail client
// to look at and change the mailbox.
type imapRig struct {
	t      *testing.T
	addr   string
	mode   string
	roots  *x509.CertPool
	user   *imapmemserver.User
	store  *sqlite.Store
	ingest *imapIngest
	dedup  *imapDedup
	intake *Intake
	wire   *imapWire // the server's side of every session (in clear text with none) and its log
}

type imapRigOptions struct {
	mode         string // tls (default), starttls, none
	caps         imap.CapSet
	integrations []Integration
}

func startIMAP(t *testing.T, o imapRigOptions) *imapRig {
	t.Helper()
	ctx := context.Background()
	mode := cmp.Or(o.mode, IMAPTLS)
	caps := o.caps
	if caps == nil {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}
	}
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(imapUser, imapPassword)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	cert, roots := selfSignedCert(t)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	wire := &imapWire{}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: mode == IMAPNoTLS,
		Logger:       imapServerLog{wire},
	}
	var ln net.Listener
	var err error
	switch mode {
	case IMAPTLS:
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	case IMAPSTARTTLS:
		opts.TLSConfig = tlsConf
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		opts.DebugWriter = wire
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(opts)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if t.Failed() {
			t.Logf("IMAP server side:\n%s", wire)
		}
	})

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := bot.New(bot.Config{Store: st, Services: []bot.Service{{ID: "web", Name: "Web shop"}}, Logger: imapLogger(t)})
	t.Cleanup(func() { b.Close(); st.Close() })
	ingest := &imapIngest{bot: b}
	igs := o.integrations
	if igs == nil {
		igs = []Integration{{ID: "mail", Service: "web", Address: imapAlerts}}
	}
	intake, err := NewIntake(IntakeConfig{Ingest: ingest, Integrations: igs, Logger: imapLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return &imapRig{
		t: t, addr: ln.Addr().String(), mode: mode, roots: roots, user: user,
		store: st, ingest: ingest, dedup: &imapDedup{store: st}, intake: intake, wire: wire,
	}
}

func (r *imapRig) config() IMAPConfig {
	return IMAPConfig{
		Addr: r.addr, TLS: r.mode, TLSConfig: &tls.Config{RootCAs: r.roots},
		Username: imapUser, Password: imapPassword,
		Intake: r.intake, Dedup: r.dedup, Logger: imapLogger(r.t),
	}
}

// quickRetry retries mail the database could not take within 100ms.
func quickRetry(p *Poller) { p.retryMax = 100 * time.Millisecond }

// imapRun is a Run in progress.
type imapRun struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
}

// run starts Run of a new poller; the test stops it at the end at the
// latest.
func (r *imapRig) run(cfg IMAPConfig, tweak func(*Poller)) *imapRun {
	r.t.Helper()
	p, err := NewPoller(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	if tweak != nil {
		tweak(p)
	}
	return r.runPoller(p)
}

func (r *imapRig) runPoller(p *Poller) *imapRun {
	ctx, cancel := context.WithCancel(context.Background())
	run := &imapRun{t: r.t, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- p.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-run.done })
	return run
}

// stop cancels Run and returns what it returned.
func (run *imapRun) stop() error {
	run.t.Helper()
	run.cancel()
	return run.wait()
}

// wait is what Run returns by itself.
func (run *imapRun) wait() error {
	run.t.Helper()
	select {
	case err := <-run.done:
		run.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		run.t.Fatal("Run did not return")
		return nil
	}
}

// human is a mail client on the same mailbox.
func (r *imapRig) human(mailbox string) *imapclient.Client {
	r.t.Helper()
	var c *imapclient.Client
	var err error
	opts := &imapclient.Options{TLSConfig: &tls.Config{RootCAs: r.roots, ServerName: "127.0.0.1"}}
	switch r.mode {
	case IMAPTLS:
		c, err = imapclient.DialTLS(r.addr, opts)
	case IMAPSTARTTLS:
		c, err = imapclient.DialStartTLS(r.addr, opts)
	default:
		c, err = imapclient.DialInsecure(r.addr, opts)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	if err := c.Login(imapUser, imapPassword).Wait(); err != nil {
		r.t.Fatal(err)
	}
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		r.t.Fatal(err)
	}
	return c
}

// deliver appends an alert mail to INBOX as the MTA would and returns its
// UID.
func (r *imapRig) deliver(to, subject string) imap.UID {
	r.t.Helper()
	c := r.human("INBOX")
	defer c.Close()
	raw := imapAlertMail(to, subject)
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		r.t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		r.t.Fatal(err)
	}
	return data.UID
}

// flags are the flags of a message; ok is false when it is not in mailbox.
func (r *imapRig) flags(mailbox string, uid imap.UID) (flags []imap.Flag, ok bool) {
	r.t.Helper()
	c := r.human(mailbox)
	defer c.Close()
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.UID == uid {
			return m.Flags, true
		}
	}
	return nil, false
}

func (r *imapRig) seen(uid imap.UID) bool {
	r.t.Helper()
	flags, _ := r.flags("INBOX", uid)
	return slices.Contains(flags, imap.FlagSeen)
}

// count is the number of messages in mailbox.
func (r *imapRig) count(mailbox string) int {
	r.t.Helper()
	c := r.human(mailbox)
	defer c.Close()
	data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		r.t.Fatal(err)
	}
	return len(data.AllUIDs())
}

// markRead and markUnread are a human reading a message or marking it
// unread.
func (r *imapRig) markRead(uid imap.UID)   { r.storeSeen(uid, imap.StoreFlagsAdd) }
func (r *imapRig) markUnread(uid imap.UID) { r.storeSeen(uid, imap.StoreFlagsDel) }

func (r *imapRig) storeSeen(uid imap.UID, op imap.StoreFlagsOp) {
	r.t.Helper()
	c := r.human("INBOX")
	defer c.Close()
	err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *imapRig) incidents() []bot.Incident {
	r.t.Helper()
	incs, err := r.store.Incidents(context.Background(), bot.IncidentFilter{})
	if err != nil {
		r.t.Fatal(err)
	}
	return incs
}

func (r *imapRig) timeline(inc bot.Incident) []bot.Event {
	r.t.Helper()
	evs, err := r.store.Timeline(context.Background(), inc.ID, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	return evs
}

// imapEventually polls cond until it holds or within has passed.
func imapEventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func imapAlertMail(to, subject string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Zabbix <zabbix@monitor.example.com>\r\n")
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("UTF-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d@monitor.example.com>\r\n", time.Now().UnixNano())
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "%s\r\nホスト: web01\r\n", subject)
	return b.Bytes()
}

func TestIMAPOpensAndResolvesIncidents(t *testing.T) {
	for _, mode := range []string{IMAPTLS, IMAPSTARTTLS, IMAPNoTLS} {
		t.Run(mode, func(t *testing.T) {
			r := startIMAP(t, imapRigOptions{mode: mode})
			down := r.deliver(imapAlerts, "【障害】web01 応答なし")
			run := r.run(r.config(), nil)

			imapEventually(t, 10*time.Second, "the mail opens an incident", func() bool { return len(r.incidents()) == 1 })
			imapEventually(t, 10*time.Second, "the mail is marked seen", func() bool { return r.seen(down) })
			inc := r.incidents()[0]
			if inc.Status != bot.StatusTriggered || !strings.Contains(inc.Title, "web01") {
				t.Fatalf("incident = %+v", inc)
			}

			up := r.deliver(imapAlerts, "【復旧】web01 応答なし")
			imapEventually(t, 10*time.Second, "the recovery mail resolves the incident", func() bool {
				incs := r.incidents()
				return len(incs) == 1 && incs[0].Status == bot.StatusResolved
			})
			imapEventually(t, 10*time.Second, "the recovery mail is marked seen", func() bool { return r.seen(up) })
			if err := run.stop(); err != nil {
				t.Fatalf("Run on ctx end = %v, want nil", err)
			}
			if n := r.ingest.committed.Load(); n != 2 {
				t.Fatalf("alerts committed = %d, want 2", n)
			}
			if mode == IMAPNoTLS && !strings.Contains(r.wire.String(), "LOGOUT") {
				t.Fatal("Run did not log out")
			}
		})
	}
}

func TestIMAPIdleTakesNewMailAtOnce(t *testing.T) {
	r := startIMAP(t, imapRigOptions{mode: IMAPNoTLS})
	cfg := r.config()
	cfg.PollEvery = time.Hour // only IDLE can bring the mail in time
	r.run(cfg, nil)
	imapEventually(t, 10*time.Second, "the poller idles", func() bool { return strings.Contains(r.wire.String(), " IDLE\r\n") })

	start := time.Now()
	uid := r.deliver(imapAlerts, "【障害】web01 応答なし")
	imapEventually(t, 3*time.Second, "mail that arrives while idling opens an incident", func() bool { return len(r.incidents()) == 1 })
	imapEventually(t, 3*time.Second, "and is marked seen", func() bool { return r.seen(uid) })
	t.Logf("mail to incident while idling: %v", time.Since(start))
}

func TestIMAPRestartDoesNotDeliverAgain(t *testing.T) {
	r := startIMAP(t, imapRigOptions{})
	uid := r.deliver(imapAlerts, "【障害】web01 応答なし")
	run := r.run(r.config(), nil)
	imapEventually(t, 10*time.Second, "the mail is handled", func() bool { return r.seen(uid) })
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	inc := r.incidents()[0]
	events := len(r.timeline(inc))

	// A human marks the mail unread; another replica (a new poller with no
	// memory) takes over.
	r.markUnread(uid)
	if r.seen(uid) {
		t.Fatal("mail still seen")
	}
	r.run(r.config(), nil)
	imapEventually(t, 10*time.Second, "the mail is marked seen again", func() bool { return r.seen(uid) })

	if n := r.ingest.attempts.Load(); n != 1 {
		t.Fatalf("alerts ingested = %d, want 1", n)
	}
	after := r.incidents()
	if len(after) != 1 || after[0].AlertCount != inc.AlertCount || len(r.timeline(after[0])) != events {
		t.Fatalf("incidents after restart = %+v (timeline %d events, was %d)", after, len(r.timeline(after[0])), events)
	}
}

func TestIMAPCrashBetweenCommitAndMark(t *testing.T) {
	r := startIMAP(t, imapRigOptions{mode: IMAPNoTLS})
	proxy := startIMAPCutProxy(t, r.addr)
	cfg := r.config()
	cfg.Addr = proxy.addr()
	// The connection dies right after the alert is committed and
	// remembered, before the mail is marked.
	var cut atomic.Bool
	r.dedup.mu.Lock()
	r.dedup.afterDone = func() {
		if !cut.Swap(true) {
			proxy.cut()
		}
	}
	r.dedup.mu.Unlock()

	uid := r.deliver(imapAlerts, "【障害】web01 応答なし")
	run := r.run(cfg, nil)
	if err := run.wait(); err == nil {
		t.Fatal("Run returned nil after losing its connection")
	} else {
		t.Logf("Run: %v", err)
	}
	if r.seen(uid) {
		t.Fatal("mail marked although the connection was cut first")
	}
	if n := r.ingest.committed.Load(); n != 1 {
		t.Fatalf("alerts committed = %d, want 1", n)
	}

	// The leader loop runs it again.
	r.run(cfg, nil)
	imapEventually(t, 10*time.Second, "the mail is marked on the next run", func() bool { return r.seen(uid) })
	if n := r.ingest.attempts.Load(); n != 1 {
		t.Fatalf("alerts ingested = %d, want 1", n)
	}
	if incs := r.incidents(); len(incs) != 1 || incs[0].AlertCount != 1 {
		t.Fatalf("incidents = %+v", incs)
	}
}

func TestIMAPDatabaseDownLeavesMailForLater(t *testing.T) {
	for _, tc := range []struct {
		name string
		down func(r *imapRig, down bool)
		// incidents while down: a commit that lands before remembering it
		// fails counts.
		incidentsWhileDown int
	}{
		{"ingest fails", func(r *imapRig, down bool) { r.ingest.down.Store(down) }, 0},
		{"the whole store is down", func(r *imapRig, down bool) { r.ingest.down.Store(down); r.dedup.down.Store(down) }, 0},
		{"remembering fails after the commit", func(r *imapRig, down bool) { r.dedup.downAfterCommit.Store(down) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startIMAP(t, imapRigOptions{})
			tc.down(r, true)
			uid := r.deliver(imapAlerts, "【障害】web01 応答なし")
			r.run(r.config(), quickRetry)

			imapEventually(t, 10*time.Second, "the poller tries the mail twice", func() bool {
				return r.ingest.attempts.Load()+r.dedup.failed.Load() >= 2
			})
			if r.seen(uid) {
				t.Fatal("mail marked seen although its alert was not stored")
			}
			if n := len(r.incidents()); n != tc.incidentsWhileDown {
				t.Fatalf("%d incidents while the database is down, want %d", n, tc.incidentsWhileDown)
			}

			tc.down(r, false)
			imapEventually(t, 10*time.Second, "the mail is handled on a later round", func() bool { return r.seen(uid) })
			if n := r.ingest.committed.Load(); n != 1 {
				t.Fatalf("alerts committed = %d, want 1", n)
			}
			if incs := r.incidents(); len(incs) != 1 || incs[0].AlertCount != 1 {
				t.Fatalf("incidents = %+v", incs)
			}
		})
	}
}

func TestIMAPRefusedMailIsFlaggedNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name         string
		integrations []Integration
		to           string
	}{
		{
			name: "no integration has the address",
			integrations: []Integration{
				{ID: "web", Service: "web", Address: imapAlerts},
				{ID: "db", Service: "web", Address: "db-alerts@alerts.example.com"},
			},
			to: "someone@example.com",
		},
		{
			name:         "the integration's service is unknown",
			integrations: []Integration{{ID: "ghost", Service: "ghost", Address: imapAlerts}},
			to:           imapAlerts,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startIMAP(t, imapRigOptions{integrations: tc.integrations})
			uid := r.deliver(tc.to, "【障害】web01 応答なし")
			r.run(r.config(), nil)

			imapEventually(t, 10*time.Second, "the mail is flagged and seen", func() bool {
				flags, _ := r.flags("INBOX", uid)
				return slices.Contains(flags, imap.FlagSeen) && slices.Contains(flags, imap.FlagFlagged)
			})
			lookups := r.dedup.lookups(uid)

			// More mail wakes the poller: the refused one is not tried again.
			next := r.deliver(tc.to, "【障害】web02 応答なし")
			imapEventually(t, 10*time.Second, "the next mail is handled", func() bool { return r.seen(next) })
			if n := r.dedup.lookups(uid); n != lookups {
				t.Fatalf("the refused mail was looked up %d times more", n-lookups)
			}
			if n := len(r.incidents()); n != 0 {
				t.Fatalf("%d incidents from refused mail", n)
			}
		})
	}
}

func TestIMAPMovesHandledMail(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps imap.CapSet
	}{
		{"MOVE", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}},
		{"COPY without MOVE", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startIMAP(t, imapRigOptions{caps: tc.caps})
			r.deliver(imapAlerts, "【障害】web01 応答なし")
			cfg := r.config()
			cfg.After = "move:Processed" // it does not exist yet
			r.run(cfg, nil)

			imapEventually(t, 10*time.Second, "the mail leaves INBOX", func() bool { return r.count("INBOX") == 0 })
			if n := r.count("Processed"); n != 1 {
				t.Fatalf("Processed holds %d messages, want 1", n)
			}
			if n := r.ingest.committed.Load(); n != 1 {
				t.Fatalf("alerts committed = %d, want 1", n)
			}

			r.deliver(imapAlerts, "【復旧】web01 応答なし")
			imapEventually(t, 10*time.Second, "the next mail follows", func() bool { return r.count("Processed") == 2 })
			if r.count("INBOX") != 0 {
				t.Fatal("INBOX not empty")
			}
		})
	}
}

func TestIMAPBadLogin(t *testing.T) {
	r := startIMAP(t, imapRigOptions{})
	cfg := r.config()
	cfg.Password = "wrong"
	run := r.run(cfg, nil)
	err := run.wait()
	if err == nil || !strings.Contains(err.Error(), "login") {
		t.Fatalf("Run = %v, want a login failure", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

func TestIMAPPollsWithoutIdle(t *testing.T) {
	r := startIMAP(t, imapRigOptions{mode: IMAPNoTLS})
	cfg := r.config()
	cfg.PollEvery = 50 * time.Millisecond
	r.run(cfg, func(p *Poller) { p.noIdle = true })

	first := r.deliver(imapAlerts, "【障害】web01 応答なし")
	imapEventually(t, 10*time.Second, "polling finds the mail", func() bool { return r.seen(first) })
	second := r.deliver(imapAlerts, "【復旧】web01 応答なし")
	imapEventually(t, 10*time.Second, "and the next", func() bool { return r.seen(second) })
	if incs := r.incidents(); len(incs) != 1 || incs[0].Status != bot.StatusResolved {
		t.Fatalf("incidents = %+v", incs)
	}
	if strings.Contains(r.wire.String(), " IDLE\r\n") {
		t.Fatal("the poller sent IDLE")
	}
}

func TestIMAPMailReadByAHumanDuringAnOutageIsStillTaken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before bool // the mail is there when the poller starts
	}{
		{"mail there at start", true},
		{"mail arriving while running", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startIMAP(t, imapRigOptions{mode: IMAPNoTLS})
			r.ingest.down.Store(true)
			var uid imap.UID
			if tc.before {
				uid = r.deliver(imapAlerts, "【障害】web01 応答なし")
			}
			r.run(r.config(), quickRetry)
			if !tc.before {
				imapEventually(t, 10*time.Second, "the poller idles", func() bool { return strings.Contains(r.wire.String(), " IDLE\r\n") })
				uid = r.deliver(imapAlerts, "【障害】web01 応答なし")
			}
			imapEventually(t, 10*time.Second, "the poller tries the mail", func() bool { return r.ingest.attempts.Load() >= 1 })

			// While the database is down, a human reads the mail.
			r.markRead(uid)

			r.ingest.down.Store(false)
			imapEventually(t, 10*time.Second, "the alert is stored all the same", func() bool { return r.ingest.committed.Load() == 1 })
			if incs := r.incidents(); len(incs) != 1 {
				t.Fatalf("incidents = %+v", incs)
			}
		})
	}
}

func TestIMAPReadMailAndRestarts(t *testing.T) {
	r := startIMAP(t, imapRigOptions{mode: IMAPNoTLS})
	// Read mail already in the mailbox when Hotline first starts is
	// history, not alerts.
	old := r.deliver(imapAlerts, "【障害】web09 応答なし")
	r.markRead(old)
	p, err := NewPoller(r.config())
	if err != nil {
		t.Fatal(err)
	}
	run := r.runPoller(p)
	imapEventually(t, 10*time.Second, "the poller idles", func() bool { return strings.Contains(r.wire.String(), " IDLE\r\n") })
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}

	// While the poller reconnects, mail arrives and a human reads it: the
	// same poller still knows it is new.
	uid := r.deliver(imapAlerts, "【障害】web01 応答なし")
	r.markRead(uid)
	r.runPoller(p)
	imapEventually(t, 10*time.Second, "the mail read meanwhile is taken", func() bool { return r.ingest.committed.Load() == 1 })
	incs := r.incidents()
	if len(incs) != 1 || !strings.Contains(incs[0].Title, "web01") {
		t.Fatalf("incidents = %+v", incs)
	}
}

func TestIMAPNewUIDValidityIsANewKeySpace(t *testing.T) {
	r := startIMAP(t, imapRigOptions{})
	p, err := NewPoller(r.config())
	if err != nil {
		t.Fatal(err)
	}
	first := r.deliver(imapAlerts, "【障害】web01 応答なし")
	run := r.runPoller(p)
	imapEventually(t, 10*time.Second, "the first mail is handled", func() bool { return r.seen(first) })
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}

	// The mailbox is re-created: UIDs start again at 1 under a new
	// UIDVALIDITY.
	if err := r.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := r.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	second := r.deliver(imapAlerts, "【障害】db01 応答なし")
	if second != first {
		t.Fatalf("uid %d, want %d again", second, first)
	}
	r.runPoller(p)
	imapEventually(t, 10*time.Second, "the new mail with the old UID is delivered", func() bool { return len(r.incidents()) == 2 })
	imapEventually(t, 10*time.Second, "and marked", func() bool { return r.seen(second) })
}

func TestIMAPConfigNamesEveryProblem(t *testing.T) {
	_, err := NewPoller(IMAPConfig{Addr: "imap.example.com", TLS: "ssl", After: "delete", PollEvery: -time.Second})
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("NewPoller = %v, want an InvalidError", err)
	}
	for _, want := range []string{
		"mail.imap.addr", "mail.imap.tls", "mail.imap.username", "mail.imap.password",
		"mail.imap.after", "mail.imap.poll_every", "intake", "dedup",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not name %s", err, want)
		}
	}

	_, err = NewPoller(IMAPConfig{Addr: "imap.example.com:993", Username: "u", Password: "p", After: "move:INBOX",
		Intake: &Intake{}, Dedup: &imapDedup{}})
	if err == nil || !strings.Contains(err.Error(), "mail.imap.after") {
		t.Fatalf("moving into the mailbox read = %v, want refused", err)
	}
}

// imapCutProxy forwards TCP to a server and can cut every open connection, as a
// network failure or a dying server would.
type imapCutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startIMAPCutProxy(t *testing.T, target string) *imapCutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &imapCutProxy{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *imapCutProxy) addr() string { return p.ln.Addr().String() }

func (p *imapCutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

type imapWire struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *imapWire) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *imapWire) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// imapServerLog keeps the IMAP server's error log with the wire.
type imapServerLog struct{ w io.Writer }

func (l imapServerLog) Printf(format string, args ...any) {
	fmt.Fprintf(l.w, "imapserver: "+format+"\n", args...)
}

func imapLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

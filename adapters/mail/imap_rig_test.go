// The rig the IMAP poller's tests run in: an in-memory IMAP server on
// loopback, a real bot on SQLite behind the poller, a human's mail client,
// and a proxy that cuts connections.

package mail

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
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

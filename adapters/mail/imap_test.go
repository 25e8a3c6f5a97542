package mail

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/hotline-dev/hotline/bot"
)

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

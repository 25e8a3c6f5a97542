package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/hotline-dev/hotline/adapters/twilio/twiliotest"
)

// How long the three replicas are driven, how often one is killed, and the
// longest a dead leader's gateway session or mailbox poller may stay
// without a successor.
const (
	killRunFor       = 38 * time.Second
	killFirstAfter   = 5 * time.Second
	killEvery        = 6500 * time.Millisecond
	killTakeoverMax  = 10 * time.Second
	killSettleWithin = 40 * time.Second
	killLeaseTTL     = 2 * time.Second
	// The platforms answer as slowly as the real ones, so a kill lands
	// while a message or a call is in flight, not only between them.
	killChatLatency  = 150 * time.Millisecond
	killTwilioCreate = 400 * time.Millisecond
)

var incRef = regexp.MustCompile(`\bINC-(\d+)\b`)

// Three replicas on one PostgreSQL database, with Slack (HTTP mode), the
// Discord gateway, Twilio and an IMAP mailbox, take alerts, mail, chat
// commands and phone keypresses while one of them is killed -9 every few
// seconds and replaced. The platforms answer with realistic latency, so
// kills land while messages and calls are in flight. Nothing answered 2xx
// is lost, every incident has one root message per platform, no contact is
// called twice for one incident, and the gateway and the poller run on one
// replica at a time, taken over within 10 s of their holder's death.
func TestThreeReplicasUnderKills(t *testing.T) {
	r := startKillRig(t)
	for range 3 {
		r.startReplica()
	}
	r.waitLeaders()
	stats := &killStats{accepted: map[string]int{}, refused: map[string]int{}}
	start := time.Now()
	r.start = start // for the kills' log lines

	stop := make(chan struct{})
	var load sync.WaitGroup
	for w := range 3 {
		load.Go(func() { r.sendAlerts(stop, start, w, stats) })
	}
	load.Go(func() { r.sendMail(stop, stats) })
	load.Go(func() { r.slackCommands(stop, stats) })
	load.Go(func() { r.discordCommands(stop, stats) })
	watchDone := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() { r.watchLeaders(watchDone) })

	// Kill the gateway's holder, then the poller's, then anyone, and so on:
	// each kill is of a live replica, replaced at once on a new port.
	next := start.Add(killFirstAfter)
	for i := 0; !next.After(start.Add(killRunFor - 4*time.Second)); i++ {
		time.Sleep(time.Until(next))
		r.killOne(i)
		next = next.Add(killEvery + time.Duration(rand.IntN(1000)-500)*time.Millisecond)
	}
	time.Sleep(time.Until(start.Add(killRunFor)))
	close(stop)
	load.Wait()
	t.Logf("load stopped after %v; settling", time.Since(start).Round(100*time.Millisecond))

	r.settle(stats)
	close(watchDone)
	watch.Wait()
	r.check(stats)
	t.Logf("total wall time in the test body: %v", time.Since(start).Round(100*time.Millisecond))
}

// killRig is the real binary's replicas with every fake platform, on one
// database and one config file.
type killRig struct {
	t       *testing.T
	dir     string
	cfg     string
	env     []string
	dbURL   string
	db      *sql.DB
	slack   *slacktest.Server
	discord *discordtest.Server
	phone   *twiliotest.Server
	box     *watchedMailbox
	proxy   *httptest.Server
	respURL string // Slack's response_url for slash commands: discarded
	start   time.Time
	client  *http.Client

	mu      sync.Mutex
	live    []*proc
	killed  map[int]time.Time // pid → when it was killed
	kills   int
	pending map[string]*takeover // lease → the takeover being waited for
	done    []takeover           // finished takeovers
	// What the watcher saw.
	maxSessions, maxSelected int
	leaseProblems            []string
}

// takeover is one lease's holder killed and its successor awaited.
type takeover struct {
	lease      string
	victim     int
	killedAt   time.Time
	identifies int // the gateway's identifies before the kill
	selects    int // the mailbox's selects before the kill
	took       time.Duration
	by         int
}

type killStats struct {
	mu       sync.Mutex
	accepted map[string]int // fingerprint → alerts answered 2xx
	refused  map[string]int // fingerprint → alerts not answered 2xx (most during a kill)
	alerts   int            // answered 2xx
	mails    []string       // subjects appended to the mailbox
	slackOK  int
	slackBad int
	// Discord interactions: answered; not delivered because no replica held
	// the gateway; delivered but not answered within Discord's 3 s.
	discordOK, discordUndelivered, discordUnanswered int
	unansweredAt                                     []time.Time
}

func startKillRig(t *testing.T) *killRig {
	t.Helper()
	r := &killRig{t: t, dir: t.TempDir(), dbURL: pgtest.NewDatabase(t), killed: map[int]time.Time{}, pending: map[string]*takeover{},
		client: &http.Client{Timeout: 5 * time.Second}}
	r.db = openDB(t, r.dbURL)
	var err error
	if r.slack, err = slacktest.NewServer(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.slack.Close)
	if r.discord, err = discordtest.NewServer(discordtest.WithHeartbeatInterval(time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.discord.Close)
	r.discord.AddChannel(discordAlerts)
	r.phone = newFakeTwilio(t)
	r.phone.DelayNext(1<<30, killTwilioCreate)
	slackAPI := slowProxy(t, r.slack.APIURL(), killChatLatency)
	discordAPI := slowProxy(t, r.discord.APIURL(), killChatLatency)
	r.box = startWatchedMailbox(t)
	resp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { io.Copy(io.Discard, req.Body) }))
	t.Cleanup(resp.Close)
	r.respURL = resp.URL
	r.proxy = r.startProxy()

	// The callee picks up and takes it, does not answer, passes it on or is
	// busy: enough lines for every call the run can place.
	outcomes := []string{"answer, press 1", "no answer", "answer, press 2", "answer, press 1", "busy", "no answer"}
	var script strings.Builder
	for i := range 1200 {
		fmt.Fprintln(&script, outcomes[i%len(outcomes)])
	}
	expect(t, r.phone, script.String())

	cfg := fmt.Sprintf(`database:
  url: %q
http:
  public_url: %s
  api_token: api-token
locale: en
chat:
  slack: {bot_token: %q, signing_secret: "${TEST_SLACK_SECRET}", api_url: %q}
  discord: {bot_token: %q, application_id: %q, guild_id: %q, public_key: %q, api_url: %q}
phone:
  twilio: {account_sid: %s, auth_token: "${TEST_TWILIO_TOKEN}", from: "+815012345678", api_url: %q, calls_per_second: 50}
mail:
  imap: {addr: %q, username: alerts, password: pw, tls: none}
contacts:
  - {id: tanaka, name: 田中, phone: %q, slack: U01TANAKA, discord: %q, locale: en}
  - {id: suzuki, name: 鈴木, phone: %q, locale: en}
policies:
  - id: infra
    ack_timeout: 1s
    steps:
      - {call: [tanaka, suzuki], mode: sequential, ring_timeout: 5s}
    repeat: 0
services:
  - {id: web, name: Web shop, policy: infra, channels: {slack: C0ALERTS, discord: %q}}
integrations:
  - {id: generic, kind: generic, service: web, token: generic-token}
  - {id: ops-mail, kind: email, service: web, address: %s}
`, r.dbURL, r.proxy.URL, r.slack.Token(), slackAPI,
		r.discord.Token(), discordtest.ApplicationID, discordtest.GuildID, r.discord.PublicKey(), discordAPI,
		e2eAccount, r.phone.URL(), r.box.addr, tanakaPhone, discordTanaka, suzukiPhone, discordAlerts, alertMailbox)
	r.cfg = filepath.Join(r.dir, "hotline.yaml")
	if err := os.WriteFile(r.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.env = append([]string{"TEST_SLACK_SECRET=" + slackSecret, "HOTLINE_LEADER_LEASE=" + killLeaseTTL.String(),
		"HOTLINE_JOB_LEASE=" + killLeaseTTL.String()}, escalationEnv...)
	return r
}

// slowProxy forwards to a fake platform's API and holds each answer back
// for latency: the platform has done the work before the caller learns it.
// It returns apiURL's equivalent through the proxy.
func slowProxy(t *testing.T, apiURL string, latency time.Duration) string {
	t.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	rp.ModifyResponse = func(*http.Response) error { time.Sleep(latency); return nil }
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL + target.Path
}

// startProxy is the load balancer Twilio's callbacks reach: each request
// goes to a live replica picked at random, and to the next one if that
// replica is dead.
func (r *killRig) startProxy() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		backends := r.replicas()
		rand.Shuffle(len(backends), func(i, j int) { backends[i], backends[j] = backends[j], backends[i] })
		for _, p := range backends {
			out, _ := http.NewRequest(req.Method, p.url(req.URL.RequestURI()), bytes.NewReader(body))
			out.Header = req.Header.Clone()
			resp, err := r.client.Do(out)
			if err != nil {
				continue
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
			resp.Body.Close()
			return
		}
		http.Error(w, "no replica alive", http.StatusBadGateway)
	}))
	r.t.Cleanup(srv.Close)
	return srv
}

func (r *killRig) replicas() []*proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.live)
}

func (r *killRig) anyReplica() *proc {
	live := r.replicas()
	return live[rand.IntN(len(live))]
}

// startReplica starts one more serve with the shared config on a new port.
func (r *killRig) startReplica() *proc {
	p := startServe(r.t, r.dir, r.env, "--config", r.cfg)
	r.mu.Lock()
	r.live = append(r.live, p)
	r.mu.Unlock()
	return p
}

// waitLeaders waits for the gateway (with /incident registered) and the
// mailbox poller.
func (r *killRig) waitLeaders() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.discord.WaitSessions(ctx, 1); err != nil {
		r.t.Fatalf("no gateway session: %v", err)
	}
	waitFor(r.t, "/incident registered and the mailbox selected", func() bool {
		cmds, _ := r.discord.Commands(discordtest.GuildID)
		selected, _ := r.box.counts()
		return len(cmds) == 1 && selected == 1
	})
}

// holders reads the unexpired lease holders' pids.
func (r *killRig) holders() (map[string]int, error) {
	rows, err := r.db.Query(`SELECT name, holder FROM leases WHERE expires_at > now()`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name, holder string
		if err := rows.Scan(&name, &holder); err != nil {
			return nil, err
		}
		pid, err := strconv.Atoi(holder[strings.LastIndex(holder, "-")+1:])
		if err != nil {
			return nil, fmt.Errorf("lease %s holder %q names no pid", name, holder)
		}
		out[name] = pid
	}
	return out, rows.Err()
}

// killOne kills a replica -9: the gateway's holder, the poller's holder or
// any, in turn; and starts its replacement.
func (r *killRig) killOne(i int) {
	r.t.Helper()
	holders, err := r.holders()
	if err != nil {
		r.t.Fatalf("leases: %v", err)
	}
	live := r.replicas()
	victim := live[rand.IntN(len(live))]
	want := [...]string{discordGatewayLease, imapLease, ""}[i%3]
	for _, p := range live {
		if want != "" && holders[want] == p.cmd.Process.Pid {
			victim = p
		}
	}
	pid := victim.cmd.Process.Pid
	var held []string
	r.mu.Lock()
	r.live = slices.DeleteFunc(r.live, func(p *proc) bool { return p == victim })
	now := time.Now()
	for lease, holder := range holders {
		if holder == pid {
			held = append(held, lease)
			_, selects := r.box.counts()
			r.pending[lease] = &takeover{lease: lease, victim: pid, killedAt: now, identifies: r.discord.Identifies(), selects: selects}
		}
	}
	r.killed[pid] = now
	r.kills++
	r.mu.Unlock()
	victim.kill9()
	slices.Sort(held)
	r.t.Logf("%5.1fs (%s) kill -9 pid %d (holding %v)", now.Sub(r.start).Seconds(), now.Format("15:04:05.000"), pid, held)
	p := r.startReplica()
	r.t.Logf("        replacement pid %d on %s", p.cmd.Process.Pid, p.addr)
}

// watchLeaders samples the gateway sessions, the selected mailbox sessions
// and the leases until done, and completes the takeovers it sees.
func (r *killRig) watchLeaders(done <-chan struct{}) {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		sessions := len(r.discord.Sessions())
		selected, selects := r.box.counts()
		holders, err := r.holders()
		if err != nil {
			continue // the database is busy; the next sample tells
		}
		now := time.Now()
		r.mu.Lock()
		if sessions > r.maxSessions {
			r.maxSessions = sessions
		}
		if selected > r.maxSelected {
			r.maxSelected = selected
		}
		if sessions > 1 {
			r.leaseProblems = append(r.leaseProblems, fmt.Sprintf("%s: %d gateway sessions at once", now.Format("15:04:05.000"), sessions))
		}
		if selected > 1 {
			r.leaseProblems = append(r.leaseProblems, fmt.Sprintf("%s: the mailbox selected by %d sessions at once", now.Format("15:04:05.000"), selected))
		}
		alive := map[int]bool{}
		for _, p := range r.live {
			alive[p.cmd.Process.Pid] = true
		}
		for lease, pid := range holders {
			// A dead holder's lease runs out within its TTL.
			if at, dead := r.killed[pid]; dead && now.Sub(at) > killLeaseTTL+time.Second {
				r.leaseProblems = append(r.leaseProblems, fmt.Sprintf("%s: %s still held by pid %d, killed %v ago", now.Format("15:04:05.000"), lease, pid, now.Sub(at).Round(time.Millisecond)))
			}
		}
		for lease, tk := range r.pending {
			pid, ok := holders[lease]
			if !ok || !alive[pid] {
				continue
			}
			switch lease {
			case discordGatewayLease:
				if sessions != 1 || r.discord.Identifies() <= tk.identifies {
					continue
				}
			case imapLease:
				if selected != 1 || selects <= tk.selects {
					continue
				}
			}
			tk.took, tk.by = now.Sub(tk.killedAt), pid
			r.done = append(r.done, *tk)
			delete(r.pending, lease)
		}
		r.mu.Unlock()
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/adapters/twilio/twiliotest"
	"github.com/hotline-dev/hotline/bot"
)

// demoContacts are the on-call people of the demo, called in this order;
// the fake phone plays what each of them does.
var demoContacts = []struct {
	contact ContactConfig
	script  string
}{
	{ContactConfig{ID: "tanaka", Name: "田中 (Tanaka)", Phone: "+819000000001"}, "no answer"},
	{ContactConfig{ID: "suzuki", Name: "鈴木 (Suzuki)", Phone: "+819000000002"}, "answer, press 2"},
	{ContactConfig{ID: "sato", Name: "佐藤 (Sato)", Phone: "+819000000003"}, "answer, press 1"},
}

// demoCmd runs the whole story on this terminal with an embedded SQLite
// file, the console chat and a fake phone network: alert → thread → no ack
// → calls in order → someone presses 1 → acknowledged → resolved.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline demo", flag.ContinueOnError)
	locale := fs.String("locale", "en", "language of the calls, timeline and mail: en or ja")
	step := fs.Duration("step", 800*time.Millisecond, "pace of the simulated calls")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	started := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(stdout, "\n▶ [%4.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
	}
	dir, err := os.MkdirTemp("", "hotline-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	account := twiliotest.Options{AccountSID: "AC" + randomToken(), AuthToken: randomToken()}
	phone, err := twiliotest.New(twiliotest.Options{AccountSID: account.AccountSID, AuthToken: account.AuthToken, Step: *step,
		Logf: func(format string, args ...any) { fmt.Fprintf(stdout, "  "+format+"\n", args...) }})
	if err != nil {
		return err
	}
	defer phone.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	cfg, token := demoConfig(dir, *locale, "http://"+ln.Addr().String(), &TwilioConfig{AccountSID: account.AccountSID,
		AuthToken: account.AuthToken, From: "+815000000000", APIURL: phone.URL(), CallsPerSecond: 1})
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, d := range demoContacts {
		if err := phone.Expect("call " + d.contact.Phone + ": " + d.script); err != nil {
			return err
		}
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := newApp(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer a.store.Close()
	defer a.bot.Close()
	srv := &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	go a.bot.RunJobs(jobsCtx, bot.RunnerConfig{Worker: "demo"})

	fmt.Fprintf(stdout, "Hotline demo: service %q, on call in order: %s.\nChat is this terminal; phone calls go to a fake phone network on loopback.\n",
		"Web shop", demoNames())
	say("A monitoring alert arrives. Nobody is watching chat; the policy waits %s for an ack there.", cfg.Policies[0].AckTimeout)
	if err := postDemoAlert(ctx, "http://"+ln.Addr().String(), token); err != nil {
		return err
	}
	inc, err := waitDemo(ctx, a.store, func(inc bot.Incident) bool { return inc.Status == bot.StatusAcknowledged })
	if err != nil {
		return err
	}
	say("%s is acknowledged by phone by %s. The escalation stopped; the admins got mail.", inc.Ref(), inc.Owner)
	time.Sleep(2 * time.Second)
	say("%s fixes it and resolves %s from chat.", inc.Owner, inc.Ref())
	if _, err := a.bot.Resolve(ctx, inc.Number, "old logs removed from db01", bot.Actor{ID: inc.Owner, Source: "console"}); err != nil {
		return err
	}
	if _, err := waitDemo(ctx, a.store, func(inc bot.Incident) bool { return inc.Status == bot.StatusResolved }); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // let the chat show the resolve
	if err := phone.Err(); err != nil {
		return fmt.Errorf("the fake phone saw something unexpected: %w", err)
	}
	say("Done: %s from alert to resolve, every step on the timeline (GET /v1/incidents/%s).", time.Since(started).Round(100*time.Millisecond), inc.Ref())
	return nil
}

func demoNames() string {
	var names []string
	for _, d := range demoContacts {
		names = append(names, d.contact.Name)
	}
	return strings.Join(names, ", ")
}

func demoConfig(dir, locale, publicURL string, phone *TwilioConfig) (*Config, string) {
	token := randomToken()
	cfg := &Config{
		Database: DatabaseConfig{URL: "sqlite:" + filepath.Join(dir, "demo.db")},
		HTTP:     HTTPConfig{Listen: "127.0.0.1:0", PublicURL: publicURL},
		Locale:   locale,
		Phone:    PhoneConfig{Twilio: phone},
		Policies: []PolicyConfig{{ID: "demo", AckTimeout: Duration{4 * time.Second},
			Steps:  []StepConfig{{Call: []string{"tanaka", "suzuki", "sato"}, RingTimeout: Duration{20 * time.Second}}},
			Notify: []string{"oncall-admins@example.com"}}},
		Services:     []ServiceConfig{{ID: "web", Name: "Web shop", Policy: "demo"}},
		Integrations: []IntegrationConfig{{ID: "monitoring", Kind: "generic", Service: "web", Token: token}},
	}
	for _, d := range demoContacts {
		c := d.contact
		c.Locale = locale
		cfg.Contacts = append(cfg.Contacts, c)
	}
	cfg.ApplyDefaults()
	return cfg, token
}

func postDemoAlert(ctx context.Context, base, token string) error {
	body := `{"title": "db01 disk usage 95%", "severity": "sev2", "fingerprint": "db01-disk"}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/integrations/monitoring/alerts", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("alert refused: %s %s", resp.Status, b)
	}
	return nil
}

// waitDemo waits until the demo's incident satisfies done.
func waitDemo(ctx context.Context, st bot.Store, done func(bot.Incident) bool) (bot.Incident, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		incs, err := st.Incidents(ctx, bot.IncidentFilter{Limit: 1})
		if err == nil && len(incs) == 1 && done(incs[0]) {
			return incs[0], nil
		}
		select {
		case <-ctx.Done():
			return bot.Incident{}, errors.New("the demo did not finish within a minute")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"runtime/debug"
	"time"

	"github.com/hotline-dev/hotline/adapters/api"
	"github.com/hotline-dev/hotline/adapters/console"
	"github.com/hotline-dev/hotline/adapters/webhook"
	"github.com/hotline-dev/hotline/bot"
)

// shutdownGrace bounds how long in-flight requests and jobs get on SIGTERM.
const shutdownGrace = 20 * time.Second

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	started := time.Now()
	fs := flag.NewFlagSet("hotline serve", flag.ContinueOnError)
	path := fs.String("config", os.Getenv("HOTLINE_CONFIG"), "config file (YAML)")
	listen := fs.String("listen", "", "HTTP listen address (overrides http.listen)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, fromFile, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
	}
	log := newLogger(stderr)
	slog.SetDefault(log)
	if os.Getenv("GOGC") == "" {
		// The live heap is a few MB; collecting less often trades a little
		// memory under load for CPU that ingest needs on a small machine.
		debug.SetGCPercent(400)
	}

	st, err := openStore(ctx, cfg.Database.URL, storeOptions{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()

	var firstRun *quickStart
	if !fromFile {
		firstRun = addQuickStart(cfg)
	}
	warnNotWired(cfg, log)
	services, chats, terminal := chatWiring(cfg, stdout)
	reg, hooks := newMetrics()
	// Measured with hotline-bench on 2 cores: PostgreSQL gains from two
	// batches in flight; SQLite has one writer anyway.
	committers, batchLinger := 1, 2*time.Millisecond
	if isPostgres(cfg.Database.URL) {
		committers = 2
	}
	b := bot.New(bot.Config{Store: st, Logger: log, Services: services, Chats: chats, Hooks: hooks, Committers: committers,
		BatchLinger: batchLinger})

	hooksHandler, err := webhook.NewHandler(webhook.Config{
		Integrations: webhookIntegrations(cfg, log),
		Bot:          b,
		Logger:       log,
		MaxBodyBytes: cfg.Ingest.MaxBodyBytes,
		Metrics:      reg,
	})
	if err != nil {
		b.Close()
		return err
	}
	mux := http.NewServeMux()
	hooksHandler.Register(mux)
	api.New(api.Config{Store: st, Token: cfg.HTTP.APIToken, Logger: log, Gatherer: reg}).Register(mux)

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		b.Close()
		return fmt.Errorf("http.listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	if addr := os.Getenv("HOTLINE_DEBUG_ADDR"); addr != "" {
		// Profiling for benchmarks and incidents of our own; loopback only.
		go func() { log.Warn("debug server", "err", http.ListenAndServe(addr, debugMux())) }()
	}

	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		b.RunJobs(jobsCtx, bot.RunnerConfig{Worker: workerName()})
	}()

	log.Info("hotline ready", "listen", ln.Addr().String(), "database", redactURL(cfg.Database.URL),
		"services", len(services), "startup_ms", time.Since(started).Milliseconds(), "version", version)
	if firstRun != nil {
		firstRun.print(stdout, ln.Addr(), cfg.Database.URL)
	}
	if terminal != nil && isTerminal(os.Stdin) {
		// The terminal is the chat: a responder types /incident commands here.
		fmt.Fprintln(stdout, "Type chat commands here, e.g. /incident ack INC-1 (/incident help lists them).")
		go terminal.ReadCommands(ctx, os.Stdin, b, bot.Actor{ID: consoleUser(), Source: "console"}, cfg.Locale)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing requests and jobs under way")
	case err := <-serveErr:
		log.Error("http server stopped", "err", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// Order: stop taking requests (answering those under way), let the
	// ingest batches commit, then stop claiming jobs and wait for running ones.
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	b.Close()
	stopJobs()
	select {
	case <-jobsDone:
	case <-shutdownCtx.Done():
		log.Warn("jobs still running at shutdown; their leases will expire and another run takes them")
	}
	log.Info("stopped")
	return nil
}

// chatWiring turns configured services into bot services and picks the chat
// platforms. With no chat platform configured, incidents go to the console,
// which it also returns.
func chatWiring(cfg *Config, stdout io.Writer) ([]bot.Service, []bot.Chat, *console.Chat) {
	var chats []bot.Chat
	var terminal *console.Chat
	useConsole := cfg.Chat.Slack == nil && cfg.Chat.Discord == nil
	if useConsole {
		terminal = console.NewChat(stdout)
		chats = append(chats, terminal)
	}
	var services []bot.Service
	for _, s := range cfg.Services {
		channels := map[string]string{}
		if s.Channels.Slack != "" {
			channels["slack"] = s.Channels.Slack
		}
		if s.Channels.Discord != "" {
			channels["discord"] = s.Channels.Discord
		}
		if useConsole {
			channels["console"] = "terminal"
		}
		services = append(services, bot.Service{ID: s.ID, Name: s.Name, Severity: s.Severity, Channels: channels})
	}
	return services, chats, terminal
}

// warnNotWired says which configured sections this version validates but
// does not use yet, so nobody mistakes silence for a working phone.
func warnNotWired(cfg *Config, log *slog.Logger) {
	for name, set := range map[string]bool{
		"chat.slack":   cfg.Chat.Slack != nil,
		"chat.discord": cfg.Chat.Discord != nil,
		"phone.twilio": cfg.Phone.Twilio != nil,
		"mail.smtp":    cfg.Mail.SMTP != nil,
		"mail.imap":    cfg.Mail.IMAP != nil,
		"policies":     len(cfg.Policies) > 0,
	} {
		if set {
			log.Warn("configured but not wired in this version: it is validated and not used yet", "section", name)
		}
	}
}

// webhookIntegrations lists the integrations served over HTTP.
func webhookIntegrations(cfg *Config, log *slog.Logger) []webhook.Integration {
	var out []webhook.Integration
	for _, in := range cfg.Integrations {
		if in.Kind == "email" {
			continue
		}
		if _, ok := webhook.ParserFor(in.Kind); !ok {
			log.Warn("integration kind not supported by this version; its alerts are refused", "integration", in.ID, "kind", in.Kind)
			continue
		}
		out = append(out, webhook.Integration{ID: in.ID, Kind: in.Kind, Service: in.Service, Token: in.Token})
	}
	return out
}

// quickStart is what serve sets up when run without a config file.
type quickStart struct {
	token, apiToken string
}

func addQuickStart(cfg *Config) *quickStart {
	q := &quickStart{token: randomToken(), apiToken: randomToken()}
	cfg.Services = append(cfg.Services, ServiceConfig{ID: "default", Name: "Default service"})
	cfg.Integrations = append(cfg.Integrations, IntegrationConfig{ID: "default", Kind: "generic", Service: "default", Token: q.token})
	cfg.HTTP.APIToken = q.apiToken
	return q
}

func (q *quickStart) print(w io.Writer, addr net.Addr, dbURL string) {
	host := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		host = fmt.Sprintf("127.0.0.1:%d", tcp.Port)
	}
	fmt.Fprintf(w, `
Hotline is running with no config file: database %s, incidents on this
terminal (console chat), phone calls as a dry run. Send a test alert:

  curl -X POST http://%s/v1/integrations/default/alerts \
    -H 'Authorization: Bearer %s' \
    -d '{"title": "db01 disk 95%%", "severity": "sev2"}'

and read incidents with:

  curl -H 'Authorization: Bearer %s' http://%s/v1/incidents

Both tokens are new on every start; write a config file (see README) to keep them.

`, dbURL, host, q.token, q.apiToken, host)
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func workerName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// newLogger writes text to a terminal and JSON otherwise (log collectors).
func newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if isTerminal(w) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// consoleUser names the responder at the terminal: the login name.
func consoleUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "console"
}

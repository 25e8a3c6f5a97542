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
	"github.com/hotline-dev/hotline/adapters/discord"
	"github.com/hotline-dev/hotline/adapters/mail"
	"github.com/hotline-dev/hotline/adapters/slack"
	"github.com/hotline-dev/hotline/adapters/twilio"
	"github.com/hotline-dev/hotline/adapters/webhook"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
	"github.com/hotline-dev/hotline/escalation"
)

// runnerConcurrency is how many jobs one replica runs at once. Jobs mostly
// wait on the network and their changes are committed in batches, so many
// at once cost little and keep a thousand escalations due together moving.
const runnerConcurrency = 64

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

	var firstRun *quickStart
	if !fromFile {
		firstRun = addQuickStart(cfg)
	}
	a, err := newApp(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer a.store.Close()
	b, mux, terminal := a.bot, a.mux, a.terminal

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		b.Close()
		return fmt.Errorf("http.listen: %w", err)
	}
	stopSMTP, err := startSMTP(cfg, a.mailIntake, log)
	if err != nil {
		b.Close()
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	if addr := os.Getenv("HOTLINE_DEBUG_ADDR"); addr != "" {
		// Profiling for benchmarks and incidents of our own; loopback only.
		go func() { log.Warn("debug server", "err", http.ListenAndServe(addr, debugMux())) }()
	}

	// A job's lease is how long a dead replica's claimed work waits before
	// another takes it over.
	lease, err := envDuration("HOTLINE_JOB_LEASE")
	if err != nil {
		b.Close()
		return err
	}
	// The leader lease is how long a dead replica keeps the Discord gateway
	// before another takes it over.
	leaderTTL, err := envDuration("HOTLINE_LEADER_LEASE")
	if err != nil {
		b.Close()
		return err
	}
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		b.RunJobs(jobsCtx, bot.RunnerConfig{Worker: workerName(), Lease: lease, Concurrency: runnerConcurrency})
	}()

	log.Info("hotline ready", "listen", ln.Addr().String(), "database", redactURL(cfg.Database.URL),
		"services", len(cfg.Services), "startup_ms", time.Since(started).Milliseconds(), "version", version)
	if firstRun != nil {
		firstRun.print(stdout, ln.Addr(), cfg.Database.URL)
	}
	if terminal != nil && isTerminal(os.Stdin) {
		// The terminal is the chat: a responder types /incident commands here.
		fmt.Fprintln(stdout, "Type chat commands here, e.g. /incident ack INC-1 (/incident help lists them).")
		base := commands.Invocation{Actor: bot.Actor{ID: consoleUser(), Source: "console"}, Locale: cfg.Locale,
			Phone: newCommandPhone(cfg, a.engine)}
		if len(cfg.Services) == 1 {
			base.Service = cfg.Services[0].ID // the terminal is that service's channel
		}
		go terminal.ReadCommands(ctx, os.Stdin, b, base)
	}

	socketCtx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	socketFailed := a.runSocketMode(socketCtx, cfg, log)
	var gateway, poll func(context.Context) error
	if a.discordInbound != nil {
		gateway = a.discordInbound.RunGateway
	}
	if a.imapPoller != nil {
		poll = a.imapPoller.Run
	}
	gatewayDone := a.runLeased(socketCtx, discordGatewayLease, leaderTTL, log, gateway)
	imapDone := a.runLeased(socketCtx, imapLease, leaderTTL, log, poll)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing requests and jobs under way")
	case err := <-serveErr:
		log.Error("http server stopped", "err", err)
	case runErr = <-socketFailed:
		runErr = fmt.Errorf("chat.slack.app_token: %w", runErr)
	}
	stopSocket()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// The gateway and the mailbox poller stop and their leases are
	// released, so another replica takes them over at once.
	for _, done := range []<-chan struct{}{gatewayDone, imapDone} {
		select {
		case <-done:
		case <-shutdownCtx.Done():
		}
	}
	// Order: stop taking requests (answering those under way, whose alerts
	// commit before their answer), stop claiming jobs and wait for the running
	// ones, whose changes commit through the bot, then close the bot.
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	// Mail under way is answered once its alert is committed.
	stopSMTP(shutdownCtx)
	if a.slackInbound != nil {
		if err := a.slackInbound.Wait(shutdownCtx); err != nil {
			log.Warn("slack commands still running at shutdown", "err", err)
		}
	}
	if a.discordInbound != nil {
		if err := a.discordInbound.Wait(shutdownCtx); err != nil {
			log.Warn("discord commands still running at shutdown", "err", err)
		}
	}
	stopJobs()
	select {
	case <-jobsDone:
	case <-shutdownCtx.Done():
		log.Warn("jobs still running at shutdown; their leases will expire and another run takes them")
	}
	b.Close()
	log.Info("stopped")
	return runErr
}

// app is Hotline wired from a config: what serve and demo run.
type app struct {
	store    store
	bot      *bot.Bot
	engine   *escalation.Engine
	mux      *http.ServeMux
	terminal *console.Chat // the console chat, when no chat platform is configured
	// slackInbound runs Slack's commands after answering them; shutdown
	// waits for it.
	slackInbound *slack.Inbound
	slackChat    *slack.Chat
	// discordInbound answers Discord's interactions; its gateway runs on
	// the replica holding the discord.gateway lease.
	discordInbound *discord.Inbound // mailIntake turns alert mail into alerts, for the SMTP listener and
	// the IMAP poller; nil without email integrations.
	mailIntake *mail.Intake
	// imapPoller reads the alert mailbox on the holder of the mail.imap
	// lease; nil without mail.imap.
	imapPoller *mail.Poller
	// leader records which leases this replica holds, for /metrics.
	leader func(lease string, leader bool)
}

// runSocketMode keeps Slack's Socket Mode connection while ctx lives, when
// an app token is configured. It fails only when Slack refuses the token.
func (a *app) runSocketMode(ctx context.Context, cfg *Config, log *slog.Logger) <-chan error {
	failed := make(chan error, 1)
	if a.slackInbound == nil || cfg.Chat.Slack.AppToken == "" {
		return failed
	}
	go func() {
		if err := a.slackInbound.RunSocketMode(ctx, a.slackChat.Client()); err != nil {
			log.Error("slack socket mode stopped", "platform", "slack", "err", err)
			failed <- err
		}
	}()
	return failed
}

// discordGatewayLease names the lease whose holder keeps Discord's gateway.
const discordGatewayLease = "discord.gateway"

// runLeased runs fn on whichever replica holds the lease name, while ctx
// lives: the Discord gateway, the IMAP poller. The channel closes when it has
// stopped and the lease is released; at once when fn is nil (not
// configured).
func (a *app) runLeased(ctx context.Context, name string, ttl time.Duration, log *slog.Logger, fn func(context.Context) error) <-chan struct{} {
	done := make(chan struct{})
	if fn == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		bot.RunLeader(ctx, a.store, bot.LeaderConfig{Name: name, Holder: workerName(), TTL: ttl, Logger: log,
			OnChange: func(leader bool) {
				a.leader(name, leader)
				log.Info("lease", "lease", name, "held", leader)
			}}, fn)
	}()
	return done
}

// newApp opens the store and wires the bot, the escalation engine and the
// HTTP endpoints. The caller closes the store; on error nothing is left open.
func newApp(ctx context.Context, cfg *Config, log *slog.Logger, stdout io.Writer) (*app, error) {
	st, err := openStore(ctx, cfg.Database.URL, storeOptions{Logger: log})
	if err != nil {
		return nil, err
	}
	a, err := wireApp(cfg, st, log, stdout)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func wireApp(cfg *Config, st store, log *slog.Logger, stdout io.Writer) (*app, error) {
	platforms, err := chatWiring(cfg, stdout, log)
	if err != nil {
		return nil, err
	}
	reg, hooks := newMetrics(st)
	phone, account, err := phoneWiring(cfg, stdout, log)
	if err != nil {
		return nil, err
	}
	mailer, err := mailerWiring(cfg, stdout)
	if err != nil {
		return nil, err
	}
	ec, err := escalationConfig(cfg, phone, account, log, callMetrics(reg))
	if err != nil {
		return nil, err
	}
	eng, err := escalation.New(ec)
	if err != nil {
		return nil, err
	}
	// Measured with hotline-bench on 2 cores: PostgreSQL gains from two
	// batches in flight; SQLite has one writer anyway.
	committers, batchLinger := 1, 2*time.Millisecond
	if isPostgres(cfg.Database.URL) {
		committers = 2
	}
	b := bot.New(bot.Config{Store: st, Logger: log, Services: platforms.services, Chats: platforms.chats, Hooks: hooks, Committers: committers,
		BatchLinger: batchLinger, Escalator: eng, Mailer: mailer})
	eng.Register(b)

	hooksHandler, err := webhook.NewHandler(webhook.Config{
		Integrations: webhookIntegrations(cfg, log),
		Bot:          b,
		Logger:       log,
		MaxBodyBytes: cfg.Ingest.MaxBodyBytes,
		Metrics:      reg,
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	hooksHandler.Register(mux)
	api.New(api.Config{Store: st, Actions: apiActions{b, eng}, Token: cfg.HTTP.APIToken, Logger: log, Gatherer: reg}).Register(mux)
	if cfg.Phone.Twilio != nil {
		mux.Handle("/v1/twilio/", twilio.NewHandler(twilioConfig(cfg, log), eng))
	}
	a := &app{store: st, bot: b, engine: eng, mux: mux, terminal: platforms.terminal}
	var leases []string
	if cfg.Chat.Discord != nil {
		leases = append(leases, discordGatewayLease)
	}
	if cfg.Mail.IMAP != nil {
		leases = append(leases, imapLease)
	}
	a.leader = leaderGauge(reg, leases...)
	if a.mailIntake, err = mailIntake(cfg, b, log); err != nil {
		b.Close()
		return nil, err
	}
	if a.imapPoller, err = imapPoller(cfg, a.mailIntake, st, log); err != nil {
		b.Close()
		return nil, err
	}
	if platforms.discord != nil {
		in, err := discordInbound(cfg, platforms.discord, b, eng, st, log)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("chat.discord: %w", err)
		}
		if cfg.Chat.Discord.PublicKey != "" {
			in.Register(mux)
		}
		a.discordInbound = in
	}
	if sc := cfg.Chat.Slack; platforms.slack != nil && (sc.SigningSecret != "" || sc.AppToken != "") {
		in, err := slackInbound(context.Background(), cfg, platforms.slack, b, eng, st, log)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("chat.slack: %w", err)
		}
		if sc.SigningSecret != "" {
			in.Register(mux)
		}
		a.slackInbound, a.slackChat = in, platforms.slack
	}
	return a, nil
}

// apiActions is what the API's POST routes do: the bot's commands and the
// engine's call-now.
type apiActions struct {
	bot    *bot.Bot
	engine *escalation.Engine
}

func (a apiActions) Acknowledge(ctx context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	return a.bot.Acknowledge(ctx, n, by)
}

func (a apiActions) Resolve(ctx context.Context, n int64, summary string, by bot.Actor) (bot.Incident, error) {
	return a.bot.Resolve(ctx, n, summary, by)
}

func (a apiActions) CallNow(ctx context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	return a.engine.CallNow(ctx, n, by)
}

// chatWiring turns configured services into bot services and builds the
// chat platforms. With no chat platform configured, incidents go to the
// console, which it also returns.
func chatWiring(cfg *Config, stdout io.Writer, log *slog.Logger) (chatPlatforms, error) {
	var w chatPlatforms
	useConsole := cfg.Chat.Slack == nil && cfg.Chat.Discord == nil
	if useConsole {
		w.terminal = console.NewChat(stdout)
		w.chats = append(w.chats, w.terminal)
	}
	names := map[string]string{}
	for _, s := range cfg.Services {
		names[s.ID] = s.Name
	}
	if sc := cfg.Chat.Slack; sc != nil {
		c, err := slack.NewChat(slack.ChatConfig{BotToken: sc.BotToken, APIURL: sc.APIURL, Locale: cfg.Locale, ServiceNames: names, Logger: log})
		if err != nil {
			return w, fmt.Errorf("chat.slack: %w", err)
		}
		w.slack = c
		w.chats = append(w.chats, c)
	}
	if dc := cfg.Chat.Discord; dc != nil {
		c, err := discord.NewChat(discord.ChatConfig{BotToken: dc.BotToken, APIURL: dc.APIURL, Locale: cfg.Locale, ServiceNames: names, Logger: log})
		if err != nil {
			return w, fmt.Errorf("chat.discord: %w", err)
		}
		w.discord = c
		w.chats = append(w.chats, c)
	}
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
		kb := map[string]string{}
		if s.KnowledgeBase.Slack != "" {
			kb["slack"] = s.KnowledgeBase.Slack
		}
		if s.KnowledgeBase.Discord != "" {
			kb["discord"] = s.KnowledgeBase.Discord
		}
		w.services = append(w.services, bot.Service{ID: s.ID, Name: s.Name, Severity: s.Severity, Channels: channels, KnowledgeBase: kb})
	}
	return w, nil
}

// chatPlatforms are the chats incidents go to, and the services' channels
// on them.
type chatPlatforms struct {
	services []bot.Service
	chats    []bot.Chat
	terminal *console.Chat // when no chat platform is configured
	slack    *slack.Chat
	discord  *discord.Chat
}

// slackInbound serves Slack's slash commands, buttons and reactions over
// HTTP (the signing_secret mode).
func slackInbound(ctx context.Context, cfg *Config, c *slack.Chat, b *bot.Bot, eng *escalation.Engine, st store, log *slog.Logger) (*slack.Inbound, error) {
	users := map[string]string{}
	for _, ct := range cfg.Contacts {
		if ct.Slack != "" {
			users[ct.Slack] = ct.ID
		}
	}
	// The bot's own reactions are ignored; Slack says who the bot is.
	var botUser string
	authCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if who, err := c.Client().AuthTestContext(authCtx); err != nil {
		log.Warn("slack auth.test failed; the bot's own reactions cannot be told apart", "platform", "slack", "err", err)
	} else {
		botUser = who.UserID
	}
	channels := map[string]string{}
	for _, s := range cfg.Services {
		if s.Channels.Slack != "" {
			channels[s.Channels.Slack] = s.ID
		}
	}
	authz, err := commands.NewAuthorizer(cfg.AuthorizationRules())
	if err != nil {
		return nil, fmt.Errorf("authorization: %w", err)
	}
	return slack.NewInbound(slack.InboundConfig{SigningSecret: cfg.Chat.Slack.SigningSecret, AppToken: cfg.Chat.Slack.AppToken,
		Incidents: b, Escalator: eng, Threads: st, Dedup: st, Reply: c.Client(), Views: c.Client(), Groups: c.Client(),
		Users: users, BotUserID: botUser, Locale: cfg.Locale, Services: channels, Phone: newCommandPhone(cfg, eng),
		Authorizer: authz, Reactions: cfg.Chat.Reactions, Logger: log})
}

// discordInbound serves Discord's interactions and reactions.
func discordInbound(cfg *Config, c *discord.Chat, b *bot.Bot, eng *escalation.Engine, st store, log *slog.Logger) (*discord.Inbound, error) {
	users := map[string]string{}
	for _, ct := range cfg.Contacts {
		if ct.Discord != "" {
			users[ct.Discord] = ct.ID
		}
	}
	channels := map[string]string{}
	for _, s := range cfg.Services {
		if s.Channels.Discord != "" {
			channels[s.Channels.Discord] = s.ID
		}
	}
	authz, err := commands.NewAuthorizer(cfg.AuthorizationRules())
	if err != nil {
		return nil, fmt.Errorf("authorization: %w", err)
	}
	dc := cfg.Chat.Discord
	return discord.NewInbound(discord.InboundConfig{Session: c.Session(), PublicKey: dc.PublicKey, ApplicationID: dc.ApplicationID,
		GuildID: dc.GuildID, Incidents: b, Threads: st, Dedup: st, Users: users, Reactions: cfg.Chat.Reactions, Locale: cfg.Locale,
		Services: channels, Phone: newCommandPhone(cfg, eng), Authorizer: authz, Logger: log})
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

// envDuration reads a duration like "30s" from the environment; unset is 0.
func envDuration(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration like 30s", name, v)
	}
	return d, nil
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

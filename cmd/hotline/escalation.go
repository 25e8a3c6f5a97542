package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-dev/hotline/adapters/console"
	"github.com/hotline-dev/hotline/adapters/mail"
	"github.com/hotline-dev/hotline/adapters/twilio"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
	"github.com/hotline-dev/hotline/escalation"
)

// phoneWiring picks the phone: Twilio when configured, else a dry run on
// the terminal. It also names the account whose pace calls keep.
func phoneWiring(cfg *Config, stdout io.Writer, log *slog.Logger) (bot.Phone, string, error) {
	t := cfg.Phone.Twilio
	if t == nil {
		if len(cfg.Policies) > 0 {
			log.Warn("escalation policies are configured without phone.twilio: calls are a dry run on the terminal")
		}
		return console.NewPhone(stdout), "dry-run", nil
	}
	p, err := twilio.NewPhone(twilioConfig(cfg, log))
	if err != nil {
		return nil, "", fmt.Errorf("phone.twilio: %w", err)
	}
	return p, t.AccountSID, nil
}

func twilioConfig(cfg *Config, log *slog.Logger) twilio.Config {
	t := cfg.Phone.Twilio
	return twilio.Config{AccountSID: t.AccountSID, AuthToken: t.AuthToken, From: t.From, APIURL: t.APIURL,
		PublicURL: cfg.HTTP.PublicURL, Logger: log}
}

// mailerWiring picks the outgoing mail: SMTP when configured, else a dry run.
func mailerWiring(cfg *Config, stdout io.Writer) (bot.Mailer, error) {
	o := cfg.Mail.Outgoing
	if o == nil {
		return console.NewMailer(stdout), nil
	}
	s, err := mail.NewSender(mail.OutgoingConfig{Addr: o.Addr, Username: o.Username, Password: o.Password, From: o.From, TLS: o.TLS})
	if err != nil {
		return nil, fmt.Errorf("mail.outgoing: %w", err)
	}
	return s, nil
}

// escalationConfig turns the file's contacts, schedules, policies and
// services into the engine's.
func escalationConfig(cfg *Config, phone bot.Phone, account string, log *slog.Logger, hooks escalation.Hooks) (escalation.Config, error) {
	ec := escalation.Config{
		Contacts: contactsOf(cfg), ServicePolicies: map[string]string{}, ServiceNames: map[string]string{},
		Phone: phone, PhoneAccount: account, CallsPerSecond: math.Inf(1), Locale: cfg.Locale, Logger: log, Hooks: hooks,
	}
	if t := cfg.Phone.Twilio; t != nil {
		ec.CallsPerSecond = t.CallsPerSecond
	}
	if p, ok := phone.(interface{ RequestTimeout() time.Duration }); ok {
		ec.PhoneTimeout = p.RequestTimeout()
	}
	for _, s := range cfg.Schedules {
		sched, err := escalation.NewSchedule(s.ID, s.TimeZone, s.Rotation, s.ShiftLength.Duration, s.Handoff, s.Members)
		if err != nil {
			return ec, err
		}
		ec.Schedules = append(ec.Schedules, sched)
	}
	for _, p := range cfg.Policies {
		pol := escalation.Policy{ID: p.ID, AckTimeout: p.AckTimeout.Duration, Repeat: p.Repeat, RepeatPause: p.RepeatPause.Duration,
			Notify: p.Notify, Severities: map[bot.Severity]escalation.SeverityRule{}}
		for _, st := range p.Steps {
			pol.Steps = append(pol.Steps, escalation.Step{Call: st.Call, Parallel: st.Mode == "parallel", RingTimeout: st.RingTimeout.Duration})
		}
		for sev, r := range p.Severities {
			rule := escalation.SeverityRule{NoCalls: r.Calls != nil && !*r.Calls}
			if r.AckTimeout != nil {
				d := r.AckTimeout.Duration
				rule.AckTimeout = &d
			}
			pol.Severities[sev] = rule
		}
		ec.Policies = append(ec.Policies, pol)
	}
	for _, s := range cfg.Services {
		ec.ServicePolicies[s.ID] = s.Policy
		ec.ServiceNames[s.ID] = s.Name
	}
	return ec, nil
}

func contactsOf(cfg *Config) []bot.Contact {
	var out []bot.Contact
	for _, c := range cfg.Contacts {
		out = append(out, bot.Contact{ID: c.ID, Name: c.Name, Phone: c.Phone, Email: c.Email, Slack: c.Slack, Discord: c.Discord,
			Locale: strings.ToLower(cmp.Or(c.Locale, cfg.Locale))})
	}
	return out
}

// callMetrics registers the phone's metrics and returns the engine hooks
// that feed them.
func callMetrics(reg *prometheus.Registry) escalation.Hooks {
	requested := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_calls_requested_total", Help: "Call requests sent to the phone platform.",
	})
	failed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_calls_failed_total", Help: "Call requests the phone platform refused or that did not get through.",
	})
	late := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hotline_call_request_lateness_seconds",
		Help:    "Time from a call's due time (its decision, or its turn in the account's pace) to its request.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	})
	reg.MustRegister(requested, failed, late)
	return escalation.Hooks{
		CallRequested: func(d time.Duration) { requested.Inc(); late.Observe(max(d, 0).Seconds()) },
		CallFailed:    func(error) { failed.Inc() },
	}
}

// commandPhone is the escalation engine as the command language sees it:
// `/incident escalate` and `/incident oncall`.
type commandPhone struct {
	engine    *escalation.Engine
	schedules []string
	contacts  []ContactConfig
}

func newCommandPhone(cfg *Config, eng *escalation.Engine) *commandPhone {
	p := &commandPhone{engine: eng, contacts: cfg.Contacts}
	for _, s := range cfg.Schedules {
		p.schedules = append(p.schedules, s.ID)
	}
	return p
}

func (p *commandPhone) CallNow(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error) {
	return p.engine.CallNow(ctx, number, by)
}

func (p *commandPhone) Schedules() []string { return p.schedules }

func (p *commandPhone) OnCall(ctx context.Context, schedule string, at time.Time) (commands.OnCall, error) {
	sh, err := p.engine.OnCall(ctx, schedule, at)
	if err != nil {
		return commands.OnCall{}, err
	}
	return commands.OnCall{Schedule: schedule, Contact: sh.Contact, Until: sh.End, Override: sh.Override}, nil
}

// Contact maps a contact id, or the Slack or Discord user id of a mention,
// to the contact.
func (p *commandPhone) Contact(user string) (string, bool) {
	for _, c := range p.contacts {
		if user == c.ID || (user != "" && (user == c.Slack || user == c.Discord)) {
			return c.ID, true
		}
	}
	return "", false
}

package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// ErrNoRoute: the mail is for no configured integration address.
var ErrNoRoute = errors.New("no integration has this address")

// Integration is one alert mail address and what its mail becomes.
type Integration struct {
	ID      string
	Service string
	// Address is where alert mail for it is sent, web-alerts@alerts.example.com;
	// web-alerts+db01@alerts.example.com reaches it too, with db01 as the
	// dedup key.
	Address string
	Rules   *RuleSet // nil: DefaultRules
}

// Ingester commits alerts; *bot.Bot is one.
type Ingester interface {
	Ingest(ctx context.Context, a bot.Alert) (bot.IngestResult, error)
}

// IntakeConfig is what turning mail into alerts needs.
type IntakeConfig struct {
	Integrations []Integration
	Ingest       Ingester
	Logger       *slog.Logger
	Now          func() time.Time // nil: time.Now
}

// Intake turns alert mail into committed alerts: route by recipient,
// decode, apply the integration's rules, ingest. The SMTP listener and the
// IMAP poller both hand their mail to it.
type Intake struct {
	byAddr map[string]Integration // lower-case address without +key
	only   *Integration           // the one integration, when there is one
	ingest Ingester
	log    *slog.Logger
	now    func() time.Time
}

// NewIntake checks cfg and names every problem at once.
func NewIntake(cfg IntakeConfig) (*Intake, error) {
	var problems bot.Problems
	if cfg.Ingest == nil {
		problems.Add("ingest", "is required")
	}
	in := &Intake{byAddr: map[string]Integration{}, ingest: cfg.Ingest, log: cfg.Logger, now: cfg.Now}
	for i, ig := range cfg.Integrations {
		path := fmt.Sprintf("integrations[%d]", i)
		local, domain, ok := splitAddress(ig.Address)
		if !ok {
			problems.Add(path+".address", fmt.Sprintf("%q is not an e-mail address", ig.Address))
			continue
		}
		if strings.Contains(local, "+") {
			problems.Add(path+".address", fmt.Sprintf("%q: the +key part is added by senders, not configured", ig.Address))
			continue
		}
		if ig.Rules == nil {
			rs, err := CompileRules(nil)
			if err != nil {
				problems.Add(path+".rules", err.Error())
				continue
			}
			ig.Rules = rs
		}
		key := local + "@" + domain
		if _, dup := in.byAddr[key]; dup {
			problems.Add(path+".address", fmt.Sprintf("%q is used twice", ig.Address))
			continue
		}
		in.byAddr[key] = ig
	}
	if err := problems.Err(); err != nil {
		return nil, fmt.Errorf("mail intake: %w", err)
	}
	if len(in.byAddr) == 1 {
		for _, ig := range in.byAddr {
			in.only = &ig
		}
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	if in.now == nil {
		in.now = time.Now
	}
	return in, nil
}

// Route finds the integration an envelope recipient is for and the dedup
// key its +key part carries ("" when none).
func (in *Intake) Route(rcpt string) (Integration, string, bool) {
	local, domain, ok := splitAddress(rcpt)
	if !ok {
		return Integration{}, "", false
	}
	local, key, _ := strings.Cut(local, "+")
	ig, ok := in.byAddr[local+"@"+domain]
	return ig, key, ok
}

// Outcome is what one mail did.
type Outcome struct {
	Integration string
	Action      Action // open, resolve or drop
	Rule        int    // the rule that decided, -1 for none
	Result      bot.IngestResult
	Problems    []string // what could not be decoded
}

// Deliver decodes raw, applies the rules of the integration rcpt names and
// commits the alert; it returns after the commit. ErrNoRoute: rcpt is no
// integration's. A *bot.InvalidError: the mail is unusable. Anything else
// is worth trying again (the database is down, ctx ended).
func (in *Intake) Deliver(ctx context.Context, rcpt string, raw []byte) (Outcome, error) {
	ig, key, ok := in.Route(rcpt)
	if !ok {
		return Outcome{}, fmt.Errorf("%s: %w", rcpt, ErrNoRoute)
	}
	msg, err := Decode(raw)
	if err != nil {
		return Outcome{}, bot.Invalid("mail for %s cannot be read: %v", rcpt, err)
	}
	return in.deliver(ctx, ig, key, msg, raw)
}

// DeliverMessage is Deliver for mail without an envelope (an IMAP mailbox):
// the To and Cc addresses name the integration; with one integration
// configured, everything in the mailbox is its mail.
func (in *Intake) DeliverMessage(ctx context.Context, raw []byte) (Outcome, error) {
	msg, err := Decode(raw)
	if err != nil {
		return Outcome{}, bot.Invalid("mail cannot be read: %v", err)
	}
	for _, addr := range msg.To {
		if ig, key, ok := in.Route(addr); ok {
			return in.deliver(ctx, ig, key, msg, raw)
		}
	}
	if in.only != nil {
		return in.deliver(ctx, *in.only, "", msg, raw)
	}
	return Outcome{}, fmt.Errorf("mail to %s: %w", strings.Join(msg.To, ", "), ErrNoRoute)
}

func (in *Intake) deliver(ctx context.Context, ig Integration, key string, msg Message, raw []byte) (Outcome, error) {
	d := ig.Rules.Apply(msg)
	if key != "" {
		// The sender chose the key with the address: it wins.
		d.Key = key
	}
	out := Outcome{Integration: ig.ID, Action: d.Action, Rule: d.Rule, Problems: msg.Problems}
	if d.Action == ActionDrop {
		in.log.InfoContext(ctx, "alert mail dropped by its rules", "integration", ig.ID, "rule", d.Rule, "subject", msg.Subject)
		return out, nil
	}
	alert := ig.Rules.Alert(ig.ID, ig.Service, msg, d, raw, in.now())
	res, err := in.ingest.Ingest(ctx, alert)
	if err != nil {
		return out, err
	}
	out.Result = res
	in.log.InfoContext(ctx, "alert mail", "integration", ig.ID, "rule", d.Rule, "action", res.Action,
		"incident", res.Incident.Number, "problems", len(msg.Problems))
	return out, nil
}

// splitAddress splits a bare address into its lower-case local part and
// domain.
func splitAddress(addr string) (local, domain string, ok bool) {
	addr = strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " \t\r\n<>,;") {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

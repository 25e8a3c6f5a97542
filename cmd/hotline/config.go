package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	// Schedules name IANA zones; embedding the database means a scratch or
	// distroless image validates and rotates them like a full OS would.
	_ "time/tzdata"

	"gopkg.in/yaml.v3"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
)

// Config is Hotline's configuration file. The YAML shape is a contract shared
// with the docs and the Helm chart: keys may be added, never renamed. Every
// section is optional; a nil platform block means the platform is not used.
type Config struct {
	Database     DatabaseConfig      `yaml:"database"`
	HTTP         HTTPConfig          `yaml:"http"`
	Locale       string              `yaml:"locale"` // ja | en; default en
	Chat         ChatConfig          `yaml:"chat"`
	Phone        PhoneConfig         `yaml:"phone"`
	Mail         MailConfig          `yaml:"mail"`
	Ingest       IngestConfig        `yaml:"ingest"`
	Contacts     []ContactConfig     `yaml:"contacts"`
	Schedules    []ScheduleConfig    `yaml:"schedules"`
	Policies     []PolicyConfig      `yaml:"policies"`
	Services     []ServiceConfig     `yaml:"services"`
	Integrations []IntegrationConfig `yaml:"integrations"`
	// Authorization restricts commands to some contacts and platform
	// groups; empty: anyone who can see the channel may run every command.
	Authorization []AuthorizationRule `yaml:"authorization"`

	// unsetEnv maps a key's path to the ${VARS} in its value that were not
	// set, so validation can blame the environment rather than the file.
	unsetEnv map[string][]string
}

type DatabaseConfig struct {
	URL string `yaml:"url"` // postgres://, postgresql:// or sqlite:
}

type HTTPConfig struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"` // base of Twilio and Slack callbacks
	APIToken  string `yaml:"api_token"`  // bearer token for /v1/incidents
}

type ChatConfig struct {
	Slack   *SlackConfig   `yaml:"slack"`
	Discord *DiscordConfig `yaml:"discord"`
	// Reactions maps an emoji name to the command a reaction on an
	// incident's root message runs, on every platform; empty: eyes → ack,
	// raising_hand → own, white_check_mark → resolve.
	Reactions map[string]string `yaml:"reactions"`
}

type SlackConfig struct {
	BotToken      string `yaml:"bot_token"`
	AppToken      string `yaml:"app_token"`      // set: Socket Mode
	SigningSecret string `yaml:"signing_secret"` // set: serve /v1/slack/*
	APIURL        string `yaml:"api_url"`        // empty: https://slack.com/api/
}

type DiscordConfig struct {
	BotToken      string `yaml:"bot_token"`
	ApplicationID string `yaml:"application_id"`
	PublicKey     string `yaml:"public_key"` // set: serve /v1/discord/interactions
	GuildID       string `yaml:"guild_id"`
	APIURL        string `yaml:"api_url"` // empty: https://discord.com/api/v9/
}

type PhoneConfig struct {
	Twilio *TwilioConfig `yaml:"twilio"`
}

type TwilioConfig struct {
	AccountSID     string  `yaml:"account_sid"`
	AuthToken      string  `yaml:"auth_token"`
	From           string  `yaml:"from"`             // E.164
	APIURL         string  `yaml:"api_url"`          // empty: https://api.twilio.com
	CallsPerSecond float64 `yaml:"calls_per_second"` // across all replicas; default 1
}

type MailConfig struct {
	SMTP     *SMTPConfig         `yaml:"smtp"`
	IMAP     *IMAPConfig         `yaml:"imap"`
	Outgoing *OutgoingMailConfig `yaml:"outgoing"`
}

type SMTPConfig struct {
	Listen   string `yaml:"listen"`
	Domain   string `yaml:"domain"`
	MaxBytes int64  `yaml:"max_bytes"` // bigger mail gets 552; default 10 MiB
	// TLSCert and TLSKey (PEM files) offer STARTTLS.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Username and Password require AUTH PLAIN (over TLS or from loopback).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

type IMAPConfig struct {
	Addr     string `yaml:"addr"` // host:port
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Mailbox  string `yaml:"mailbox"` // default INBOX
	TLS      string `yaml:"tls"`     // starttls | tls | none; default tls
	// After is what happens to a mail once its alert is committed: "seen"
	// (default) or "move:<mailbox>".
	After string `yaml:"after"`
}

type OutgoingMailConfig struct {
	Addr     string `yaml:"addr"` // host:port
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
	TLS      string `yaml:"tls"` // starttls | tls | none; default starttls
}

type IngestConfig struct {
	MaxBodyBytes int64 `yaml:"max_body_bytes"` // webhook body limit; default 1 MiB
}

type ContactConfig struct {
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Phone   string `yaml:"phone"` // E.164
	Email   string `yaml:"email"`
	Slack   string `yaml:"slack"`   // user id
	Discord string `yaml:"discord"` // user id
	Locale  string `yaml:"locale"`  // empty: the config's locale
}

type ScheduleConfig struct {
	ID          string   `yaml:"id"`
	TimeZone    string   `yaml:"time_zone"`
	Rotation    string   `yaml:"rotation"`     // daily | weekly | custom
	ShiftLength Duration `yaml:"shift_length"` // custom only
	// Handoff is "09:00" (daily), "mon 09:00" (weekly); a custom rotation
	// takes either of those or a first shift start "2025-04-01 09:00".
	Handoff string   `yaml:"handoff"`
	Members []string `yaml:"members"` // contact ids, in rotation order
}

type PolicyConfig struct {
	ID          string       `yaml:"id"`
	AckTimeout  Duration     `yaml:"ack_timeout"` // chat first; 0 calls at once
	Steps       []StepConfig `yaml:"steps"`
	Repeat      int          `yaml:"repeat"`       // rounds after the first
	RepeatPause Duration     `yaml:"repeat_pause"` // default 30s
	Notify      []string     `yaml:"notify"`       // admins mailed when calling starts, someone accepts, a round runs out
	// Severities changes the policy for some severities, e.g.
	// {sev1: {ack_timeout: 0s}, sev4: {calls: false}}.
	Severities map[bot.Severity]SeverityRuleConfig `yaml:"severities"`
}

// SeverityRuleConfig overrides a policy for one severity; unset keys keep
// the policy's.
type SeverityRuleConfig struct {
	AckTimeout *Duration `yaml:"ack_timeout"`
	Calls      *bool     `yaml:"calls"` // false: chat only
}

type StepConfig struct {
	Call        []string `yaml:"call"` // contact ids and "schedule:<id>"
	Mode        string   `yaml:"mode"` // sequential | parallel; default sequential
	RingTimeout Duration `yaml:"ring_timeout"`
}

// ScheduleTargetPrefix marks a step's call target as a schedule's on-call
// contact rather than a contact id.
const ScheduleTargetPrefix = "schedule:"

type ServiceConfig struct {
	ID            string         `yaml:"id"`
	Name          string         `yaml:"name"`
	Policy        string         `yaml:"policy"`   // empty: chat only, never calls
	Severity      bot.Severity   `yaml:"severity"` // for alerts that name none; empty: bot.DefaultSeverity
	Channels      ChannelsConfig `yaml:"channels"`
	KnowledgeBase ChannelsConfig `yaml:"knowledge_base"`
}

type ChannelsConfig struct {
	Slack   string `yaml:"slack"`
	Discord string `yaml:"discord"`
}

type IntegrationConfig struct {
	ID      string       `yaml:"id"`
	Kind    string       `yaml:"kind"` // generic | alertmanager | grafana | zabbix | mackerel | datadog | email
	Service string       `yaml:"service"`
	Token   string       `yaml:"token"`   // webhook kinds
	Address string       `yaml:"address"` // email kind
	Rules   []RuleConfig `yaml:"rules"`
}

type RuleConfig struct {
	Match    MatchConfig  `yaml:"match"`
	Action   string       `yaml:"action"` // open | resolve | drop
	Severity bot.Severity `yaml:"severity"`
	// Key is the dedup key template: "{host}" is the regex's named capture
	// (?P<host>…); empty: derived from the subject.
	Key string `yaml:"key"`
}

// MatchConfig lists keywords and regexes; a rule matches when every part it
// names matches: any keyword of a list occurs in that part, or the regex
// matches it.
type MatchConfig struct {
	Subject      []string `yaml:"subject"`
	Body         []string `yaml:"body"`
	From         []string `yaml:"from"`
	SubjectRegex string   `yaml:"subject_regex"`
	BodyRegex    string   `yaml:"body_regex"`
	FromRegex    string   `yaml:"from_regex"`
}

// AuthorizationRule says who may run some commands. A command no rule names
// is open to anyone; one that rules name is allowed to whoever any of them
// allows.
type AuthorizationRule struct {
	Commands []string `yaml:"commands"` // verbs of the command language (aliases too), or "*"
	// Allow lists contact ids and platform groups: "slack:<user group id>",
	// "discord:<role id>".
	Allow []string `yaml:"allow"`
}

// AuthorizationRules are the authorization rules as commands.NewAuthorizer
// takes them; nil when there are none.
func (c *Config) AuthorizationRules() []commands.Rule {
	var rules []commands.Rule
	for _, r := range c.Authorization {
		rule := commands.Rule{Verbs: slices.Clone(r.Commands)}
		for _, who := range r.Allow {
			if isAuthorizationGroup(who) {
				rule.Groups = append(rule.Groups, who)
			} else {
				rule.Contacts = append(rule.Contacts, who)
			}
		}
		rules = append(rules, rule)
	}
	return rules
}

// isAuthorizationGroup tells a platform group ("slack:S0ONCALL") from a
// contact id, which cannot hold a colon.
func isAuthorizationGroup(allow string) bool { return strings.Contains(allow, ":") }

// Duration is a time.Duration written as a Go duration string ("30s", "5m").
type Duration struct{ time.Duration }

// UnmarshalYAML reports a bad value as a *yaml.TypeError so the decoder keeps
// going and every bad value in the file is reported in one pass.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return durationError(n, fmt.Sprintf("want a duration like 30s or 5m, got %s", describeConfigNode(n)))
	}
	if n.Tag == "!!null" {
		d.Duration = 0
		return nil
	}
	s := strings.TrimSpace(n.Value)
	v, err := time.ParseDuration(s)
	if err != nil {
		hint := "like 30s, 5m or 1h30m"
		if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
			hint = "add a unit: s, m or h"
		}
		return durationError(n, fmt.Sprintf("%q is not a duration (%s)", n.Value, hint))
	}
	d.Duration = v
	return nil
}

func durationError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d column %d: %s", n.Line, n.Column, msg)}}
}

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

const (
	configDefaultDatabaseURL    = "sqlite:hotline.db"
	configDefaultListen         = ":8080"
	configDefaultLocale         = "en"
	configDefaultCallsPerSecond = 1 // Twilio's default account limit
	configDefaultMailbox        = "INBOX"
	configDefaultIMAPTLS        = "tls"
	configDefaultOutgoingTLS    = "starttls"
	configDefaultRepeatPause    = 30 * time.Second
	configDefaultStepMode       = "sequential"
	configDefaultMaxBodyBytes   = 1 << 20
)

// DefaultConfig is the configuration of `hotline serve` without a file:
// embedded SQLite, no chat, no phone, no mail.
func DefaultConfig() *Config {
	c := &Config{}
	c.ApplyDefaults()
	return c
}

// ApplyDefaults fills what the file left out. It is idempotent. A key whose
// value came from an unset ${VAR} is left empty so that Validate names the
// variable instead of Hotline quietly running on, say, a local SQLite file.
func (c *Config) ApplyDefaults() {
	c.defaultString("database.url", &c.Database.URL, configDefaultDatabaseURL)
	c.defaultString("http.listen", &c.HTTP.Listen, configDefaultListen)
	// English when unset: the neutral choice for a team that has not said;
	// Japanese teams set `locale: ja`, as the documented example does.
	c.defaultString("locale", &c.Locale, configDefaultLocale)
	if t := c.Phone.Twilio; t != nil && t.CallsPerSecond == 0 {
		t.CallsPerSecond = configDefaultCallsPerSecond
	}
	if m := c.Mail.IMAP; m != nil {
		c.defaultString("mail.imap.mailbox", &m.Mailbox, configDefaultMailbox)
		c.defaultString("mail.imap.tls", &m.TLS, configDefaultIMAPTLS)
	}
	if m := c.Mail.Outgoing; m != nil {
		c.defaultString("mail.outgoing.tls", &m.TLS, configDefaultOutgoingTLS)
	}
	if c.Ingest.MaxBodyBytes == 0 {
		c.Ingest.MaxBodyBytes = configDefaultMaxBodyBytes
	}
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.RepeatPause.Duration == 0 {
			p.RepeatPause.Duration = configDefaultRepeatPause
		}
		for j := range p.Steps {
			c.defaultString(fmt.Sprintf("policies[%d].steps[%d].mode", i, j), &p.Steps[j].Mode, configDefaultStepMode)
		}
	}
}

func (c *Config) defaultString(path string, field *string, value string) {
	if *field == "" && len(c.unsetEnv[path]) == 0 {
		*field = value
	}
}

// ConfigError lists every problem found in a configuration, each prefixed
// with where it is: "line 12: policies[0].ack_timeout: ..." for a file that
// does not parse, "services[0].policy: ..." for one that does not validate.
// It unwraps to a *bot.InvalidError.
type ConfigError struct {
	File     string // empty when the config did not come from a file
	Problems bot.Problems
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if len(e.Problems) == 1 {
		b.WriteString(e.Problems[0])
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p)
	}
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Problems.Err() }

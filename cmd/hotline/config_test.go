package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
)

var configExampleEnv = map[string]string{
	"PGPASSWORD":           "pg$secret",
	"HOTLINE_API_TOKEN":    "api-token",
	"SLACK_BOT_TOKEN":      "xoxb-1",
	"SLACK_APP_TOKEN":      "xapp-1",
	"SLACK_SIGNING_SECRET": "signing",
	"DISCORD_BOT_TOKEN":    "discord-token",
	"TWILIO_ACCOUNT_SID":   "AC123",
	"TWILIO_AUTH_TOKEN":    "twilio-token",
	"IMAP_PASSWORD":        "imap-pass",
	"SMTP_PASSWORD":        "smtp-pass",
	"PROM_TOKEN":           "prom",
	"GRAFANA_TOKEN":        "grafana",
	"GENERIC_TOKEN":        "generic",
}

func configEnv(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func readConfigExample(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestConfigExampleParsesAndValidates(t *testing.T) {
	c, err := ParseConfig(readConfigExample(t), configEnv(configExampleEnv))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate before defaults: %v", err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate after defaults: %v", err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"database.url", c.Database.URL, "postgres://hotline:pg$secret@db:5432/hotline?sslmode=disable"},
		{"http.listen", c.HTTP.Listen, ":8080"},
		{"http.public_url", c.HTTP.PublicURL, "https://hotline.example.com"},
		{"http.api_token", c.HTTP.APIToken, "api-token"},
		{"locale", c.Locale, "ja"},
		{"chat.slack.bot_token", c.Chat.Slack.BotToken, "xoxb-1"},
		{"chat.slack.signing_secret", c.Chat.Slack.SigningSecret, "signing"},
		{"chat.discord.application_id", c.Chat.Discord.ApplicationID, "123"},
		{"chat.discord.guild_id", c.Chat.Discord.GuildID, "456"},
		{"phone.twilio.from", c.Phone.Twilio.From, "+815012345678"},
		{"phone.twilio.calls_per_second", c.Phone.Twilio.CallsPerSecond, 1.0},
		{"mail.smtp.domain", c.Mail.SMTP.Domain, "alerts.example.com"},
		{"mail.imap.password", c.Mail.IMAP.Password, "imap-pass"},
		{"mail.imap.mailbox", c.Mail.IMAP.Mailbox, "INBOX"},
		{"mail.imap.tls", c.Mail.IMAP.TLS, "tls"},
		{"mail.outgoing.tls", c.Mail.Outgoing.TLS, "starttls"},
		{"mail.outgoing.from", c.Mail.Outgoing.From, "hotline@example.com"},
		{"ingest.max_body_bytes", c.Ingest.MaxBodyBytes, int64(1 << 20)},
		{"contacts", len(c.Contacts), 2},
		{"contacts[0].name", c.Contacts[0].Name, "田中"},
		{"contacts[0].discord", c.Contacts[0].Discord, "1001"},
		{"contacts[1].locale", c.Contacts[1].Locale, ""},
		{"schedules[0].handoff", c.Schedules[0].Handoff, "mon 09:00"},
		{"schedules[0].members", strings.Join(c.Schedules[0].Members, ","), "tanaka,suzuki"},
		{"policies[0].ack_timeout", c.Policies[0].AckTimeout.Duration, 5 * time.Minute},
		{"policies[0].repeat", c.Policies[0].Repeat, 2},
		{"policies[0].repeat_pause", c.Policies[0].RepeatPause.Duration, 30 * time.Second},
		{"policies[0].notify", strings.Join(c.Policies[0].Notify, ","), "admin@example.com"},
		{"policies[0].steps[0].call", strings.Join(c.Policies[0].Steps[0].Call, ","), "schedule:infra,suzuki"},
		{"policies[0].steps[0].mode", c.Policies[0].Steps[0].Mode, "sequential"},
		{"policies[0].steps[0].ring_timeout", c.Policies[0].Steps[0].RingTimeout.Duration, 30 * time.Second},
		{"services[0].channels.discord", c.Services[0].Channels.Discord, "2001"},
		{"services[0].knowledge_base.slack", c.Services[0].KnowledgeBase.Slack, "C0KB"},
		{"services[0].severity", c.Services[0].Severity, bot.Severity("")},
		{"integrations", len(c.Integrations), 4},
		{"integrations[0].token", c.Integrations[0].Token, "prom"},
		{"integrations[3].address", c.Integrations[3].Address, "web-alerts@alerts.example.com"},
		{"integrations[3].rules[0].match.subject", strings.Join(c.Integrations[3].Rules[0].Match.Subject, ","), "障害,CRITICAL,DOWN"},
		{"integrations[3].rules[0].severity", c.Integrations[3].Rules[0].Severity, bot.Sev2},
		{"integrations[3].rules[1].action", c.Integrations[3].Rules[1].Action, "resolve"},
		{"authorization", len(c.Authorization), 1},
		{"authorization[0].commands", strings.Join(c.Authorization[0].Commands, ","), "resolve,assign,escalate,oncall,new"},
		{"authorization[0].allow", strings.Join(c.Authorization[0].Allow, ","), "tanaka,suzuki,slack:S0ONCALL,discord:1234567890"},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

func TestLoadConfigReadsEnvironment(t *testing.T) {
	for name, value := range configExampleEnv {
		t.Setenv(name, value)
	}
	c, err := LoadConfig(filepath.Join("testdata", "config-example.yaml"))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if c.Chat.Discord.BotToken != "discord-token" || c.Ingest.MaxBodyBytes != 1<<20 {
		t.Errorf("LoadConfig did not expand or default: discord bot_token %q, max_body_bytes %d",
			c.Chat.Discord.BotToken, c.Ingest.MaxBodyBytes)
	}

	t.Setenv("SLACK_BOT_TOKEN", "")
	_, err = LoadConfig(filepath.Join("testdata", "config-example.yaml"))
	ce, ok := errors.AsType[*ConfigError](err)
	if !ok {
		t.Fatalf("LoadConfig with SLACK_BOT_TOKEN unset: %v, want a *ConfigError", err)
	}
	want := "chat.slack.bot_token: environment variable SLACK_BOT_TOKEN is not set"
	if !slices.Equal(ce.Problems, bot.Problems{want}) {
		t.Errorf("problems = %q, want [%q]", ce.Problems, want)
	}
	if !strings.HasPrefix(err.Error(), filepath.Join("testdata", "config-example.yaml")+": ") {
		t.Errorf("error %q does not name the file", err)
	}

	if _, err := LoadConfig(filepath.Join("testdata", "config-missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadConfig of a missing file = %v, want os.ErrNotExist", err)
	}
}

func TestConfigExampleWithoutEnvironment(t *testing.T) {
	c, err := ParseConfig(readConfigExample(t), configEnv(nil))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	c.ApplyDefaults()
	want := bot.Problems{
		"http.api_token: environment variable HOTLINE_API_TOKEN is not set",
		"chat.slack.bot_token: environment variable SLACK_BOT_TOKEN is not set",
		"chat.slack.app_token: environment variable SLACK_APP_TOKEN is not set",
		"chat.slack.signing_secret: environment variable SLACK_SIGNING_SECRET is not set",
		"chat.discord.bot_token: environment variable DISCORD_BOT_TOKEN is not set",
		"phone.twilio.account_sid: environment variable TWILIO_ACCOUNT_SID is not set",
		"phone.twilio.auth_token: environment variable TWILIO_AUTH_TOKEN is not set",
		"mail.imap.password: environment variable IMAP_PASSWORD is not set",
		"mail.outgoing.password: environment variable SMTP_PASSWORD is not set",
		"integrations[0].token: environment variable PROM_TOKEN is not set",
		"integrations[1].token: environment variable GRAFANA_TOKEN is not set",
		"integrations[2].token: environment variable GENERIC_TOKEN is not set",
	}
	if got := c.Problems(); !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

// validConfigYAML is a small valid config that the problem cases below break one
// key at a time.
const validConfigYAML = `
locale: ja
contacts:
  - {id: tanaka, phone: "+819011112222"}
  - {id: suzuki, phone: "+819033334444", email: suzuki@example.com}
schedules:
  - {id: infra, time_zone: Asia/Tokyo, rotation: weekly, handoff: "mon 09:00", members: [tanaka, suzuki]}
policies:
  - id: infra
    steps:
      - {call: ["schedule:infra", suzuki], ring_timeout: 30s}
services:
  - {id: web, policy: infra}
integrations:
  - {id: prom, kind: alertmanager, service: web, token: t}
`

func TestConfigValidConfigIsValid(t *testing.T) {
	c, err := ParseConfig([]byte(validConfigYAML), configEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestConfigEmptyIsValid(t *testing.T) {
	for _, src := range []string{"", "# nothing here\n", "{}", "database:\nchat:\n"} {
		c, err := ParseConfig([]byte(src), configEnv(nil))
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", src, err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%q) before defaults: %v", src, err)
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%q) after defaults: %v", src, err)
		}
		if c.Chat.Slack != nil || c.Chat.Discord != nil || c.Phone.Twilio != nil || c.Mail.IMAP != nil {
			t.Errorf("ParseConfig(%q) configured a platform", src)
		}
	}
	d := DefaultConfig()
	if d.Database.URL != "sqlite:hotline.db" || d.HTTP.Listen != ":8080" || d.Locale != "en" || d.Ingest.MaxBodyBytes != 1<<20 {
		t.Errorf("DefaultConfig() = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate(): %v", err)
	}
}

func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string // top-level sections that replace validConfigYAML's
		env  map[string]string
		want string
	}{
		{"locale", "locale: fr", nil, "locale: must be ja or en"},
		{"database url", "database: {url: mysql://db/hotline}", nil,
			"database.url: must start with postgres://, postgresql:// or sqlite:"},
		{"database url from unset env", "database: {url: '${DATABASE_URL}'}", nil,
			"database.url: environment variable DATABASE_URL is not set"},
		{"http listen", "http: {listen: 8080}", nil, `http.listen: "8080" is not host:port`},
		{"public url", "http: {public_url: hotline.example.com}", nil,
			`http.public_url: "hotline.example.com" is not an http:// or https:// URL`},
		{"slack bot token", "chat: {slack: {app_token: xapp}}", nil, "chat.slack.bot_token: is required"},
		{"slack bot token from env", "chat: {slack: {bot_token: '${SLACK_BOT_TOKEN}', app_token: x}}", nil,
			"chat.slack.bot_token: environment variable SLACK_BOT_TOKEN is not set"},
		{"slack receives nothing", "chat: {slack: {bot_token: x}}", nil,
			"chat.slack: needs app_token (Socket Mode) or signing_secret (HTTP events) to receive commands"},
		{"slack api url", "chat: {slack: {bot_token: x, app_token: y, api_url: 'ftp://x'}}", nil,
			`chat.slack.api_url: "ftp://x" is not an http:// or https:// URL`},
		{"discord api url", "chat: {discord: {bot_token: x, api_url: '/api'}}", nil,
			`chat.discord.api_url: "/api" is not an http:// or https:// URL`},
		{"discord guild", "chat: {discord: {bot_token: x, guild_id: '#ops'}}", nil,
			`chat.discord.guild_id: "#ops" is not a Discord id (digits only)`},
		{"smtp tls pair", "mail: {smtp: {listen: ':2525', tls_cert: c.pem}}\nintegrations: [{id: m, kind: email, service: web, address: a@b.example}]\nservices: [{id: web}]", nil,
			"mail.smtp.tls_key: tls_cert and tls_key go together (PEM files)"},
		{"smtp without email integration", "mail: {smtp: {listen: ':2525'}}", nil,
			"mail.smtp: no integration of kind email: the listener would refuse every mail"},
		{"imap after", "mail: {imap: {addr: 'imap.example.com:993', username: u, password: p, after: trash}}\nintegrations: [{id: m, kind: email, service: web, address: a@b.example}]\nservices: [{id: web}]", nil,
			"mail.imap.after: must be seen or move:<mailbox>"},
		{"discord public key", "chat: {discord: {bot_token: x, public_key: 'not-hex'}}", nil,
			"chat.discord.public_key: must be the application's public key (64 hex digits, from the Developer Portal)"},
		{"twilio from", "phone: {twilio: {account_sid: a, auth_token: b, from: '050-1234-5678'}}\nhttp: {public_url: 'https://h.example.com'}", nil,
			`phone.twilio.from: "050-1234-5678" is not E.164 (+815012345678)`},
		{"twilio needs public url", "phone: {twilio: {account_sid: a, auth_token: b, from: '+815012345678'}}", nil,
			"http.public_url: is required with phone.twilio: Twilio posts keypresses and call status there"},
		{"twilio api url", "phone: {twilio: {account_sid: a, auth_token: b, from: '+815012345678', api_url: 'x'}}\nhttp: {public_url: 'https://h.example.com'}", nil,
			`phone.twilio.api_url: "x" is not an http:// or https:// URL`},
		{"calls per second", "phone: {twilio: {account_sid: a, auth_token: b, from: '+815012345678', calls_per_second: -1}}\nhttp: {public_url: 'https://h.example.com'}", nil,
			"phone.twilio.calls_per_second: must be > 0"},
		{"imap tls", "mail: {imap: {addr: 'imap.example.com:993', username: u, password: p, tls: ssl}}", nil,
			"mail.imap.tls: must be starttls, tls or none"},
		{"outgoing tls", "mail: {outgoing: {addr: 'smtp.example.com:587', from: a@example.com, tls: yes}}", nil,
			"mail.outgoing.tls: must be starttls, tls or none"},
		{"outgoing addr", "mail: {outgoing: {addr: smtp.example.com, from: a@example.com}}", nil,
			`mail.outgoing.addr: "smtp.example.com" is not host:port`},
		{"outgoing from", "mail: {outgoing: {addr: 'smtp.example.com:587', from: hotline}}", nil,
			`mail.outgoing.from: "hotline" is not an e-mail address`},
		{"imap password", "mail: {imap: {addr: 'imap.example.com:993', username: u, password: '${IMAP_PASSWORD}'}}", nil,
			"mail.imap.password: environment variable IMAP_PASSWORD is not set"},
		{"smtp listen", "mail: {smtp: {domain: example.com}}", nil, "mail.smtp.listen: is required"},
		{"max body", "ingest: {max_body_bytes: -1}", nil, "ingest.max_body_bytes: must be > 0"},
		{"contact phone, Japanese", "contacts: [{id: a}, {id: b, phone: '09011112222'}]", nil,
			`contacts[1].phone: "09011112222" is not E.164 (+819011112222)`},
		{"contact phone, separators", "contacts: [{id: a, phone: '+1 (415) 555-0100', locale: en}]", nil,
			`contacts[0].phone: "+1 (415) 555-0100" is not E.164 (+14155550100)`},
		{"contact phone, English", "locale: en\ncontacts: [{id: a, phone: '07700900123'}]", nil,
			`contacts[0].phone: "07700900123" is not E.164 (+, country code, number: like +819011112222)`},
		{"contact locale", "contacts: [{id: a, locale: jp}]", nil, "contacts[0].locale: must be ja or en"},
		{"contact email", "contacts: [{id: a, email: 'tanaka at example'}]", nil,
			`contacts[0].email: "tanaka at example" is not an e-mail address`},
		{"duplicate contact", "contacts: [{id: a}, {id: b}, {id: a}]", nil,
			`contacts[2].id: duplicate id "a" (also contacts[0])`},
		{"missing id", "contacts: [{name: x}]", nil, "contacts[0].id: is required"},
		{"bad id", "contacts: [{id: 'schedule:x'}]", nil,
			`contacts[0].id: "schedule:x" must be letters, digits, '-', '_' or '.'`},
		{"time zone", "schedules: [{id: s, time_zone: Asia/Tokio, rotation: daily, handoff: '09:00', members: [tanaka]}]", nil,
			`schedules[0].time_zone: unknown time zone "Asia/Tokio" (like Asia/Tokyo or UTC)`},
		{"rotation", "schedules: [{id: s, time_zone: UTC, rotation: monthly, members: [tanaka]}]", nil,
			"schedules[0].rotation: must be daily, weekly or custom"},
		{"weekly handoff", "schedules: [{id: s, time_zone: UTC, rotation: weekly, handoff: '09:00', members: [tanaka]}]", nil,
			`schedules[0].handoff: "09:00" is not a weekday and time like "mon 09:00"`},
		{"daily handoff", "schedules: [{id: s, time_zone: UTC, rotation: daily, handoff: '25:00', members: [tanaka]}]", nil,
			`schedules[0].handoff: "25:00" is not a time of day like "09:00"`},
		{"missing handoff", "schedules: [{id: s, time_zone: UTC, rotation: daily, members: [tanaka]}]", nil,
			"schedules[0].handoff: is required"},
		{"custom shift length", "schedules: [{id: s, time_zone: UTC, rotation: custom, handoff: '2025-04-01 09:00', members: [tanaka]}]", nil,
			"schedules[0].shift_length: must be at least 1m0s for a custom rotation"},
		{"schedule member", "schedules: [{id: s, time_zone: UTC, rotation: daily, handoff: '9:00', members: [tanaka, sato]}]", nil,
			`schedules[0].members[1]: unknown contact "sato"`},
		{"schedule without members", "schedules: [{id: s, time_zone: UTC, rotation: daily, handoff: '09:00'}]", nil,
			"schedules[0].members: must name at least one contact"},
		{"ring timeout", "policies: [{id: p, steps: [{call: [tanaka], ring_timeout: 30s}, {call: [suzuki]}]}]", nil,
			"policies[0].steps[1].ring_timeout: must be > 0"},
		{"severity rule", "policies: [{id: p, steps: [{call: [tanaka], ring_timeout: 30s}], severities: {sev5: {calls: false}, sev1: {ack_timeout: -1s}}}]", nil,
			"policies[0].severities.sev5: must be sev1, sev2, sev3 or sev4"},
		{"severity rule ack", "policies: [{id: p, steps: [{call: [tanaka], ring_timeout: 30s}], severities: {sev1: {ack_timeout: -1s}}}]", nil,
			"policies[0].severities.sev1.ack_timeout: must be >= 0"},
		{"reaction command", "chat: {reactions: {fire: escalate, eyes: note}}", nil,
			`chat.reactions.eyes: "note" is not a command a reaction can run (ack, own or resolve)`},
		{"reaction emoji", "chat: {reactions: {':eyes:': ack}}", nil,
			"chat.reactions.:eyes:: an emoji name like eyes or white_check_mark, without colons"},
		{"step mode", "policies: [{id: p, steps: [{call: [tanaka], mode: random, ring_timeout: 30s}]}]", nil,
			"policies[0].steps[0].mode: must be sequential or parallel"},
		{"unknown call contact", "policies: [{id: p, steps: [{call: [tanaka, sato], ring_timeout: 30s}]}]", nil,
			`policies[0].steps[0].call[1]: unknown contact "sato"`},
		{"unknown call schedule", "policies: [{id: p, steps: [{call: ['schedule:ops'], ring_timeout: 30s}]}]", nil,
			`policies[0].steps[0].call[0]: unknown schedule "ops"`},
		{"callee without phone", "contacts: [{id: mori}]\npolicies: [{id: p, steps: [{call: [mori], ring_timeout: 30s}]}]", nil,
			`policies[0].steps[0].call[0]: contact "mori" has no phone to call`},
		{"empty step", "policies: [{id: p, steps: [{ring_timeout: 30s}]}]", nil,
			"policies[0].steps[0].call: must name at least one contact id or schedule:<id>"},
		{"no steps", "policies: [{id: p}]", nil, "policies[0].steps: must have at least one step"},
		{"negative ack timeout", "policies: [{id: p, ack_timeout: -1m, steps: [{call: [tanaka], ring_timeout: 30s}]}]", nil,
			"policies[0].ack_timeout: must be >= 0"},
		{"negative repeat", "policies: [{id: p, repeat: -1, steps: [{call: [tanaka], ring_timeout: 30s}]}]", nil,
			"policies[0].repeat: must be >= 0"},
		{"notify", "policies: [{id: p, notify: [admins], steps: [{call: [tanaka], ring_timeout: 30s}]}]", nil,
			`policies[0].notify[0]: "admins" is not an e-mail address`},
		{"duplicate policy", "policies: [{id: infra, steps: [{call: [tanaka], ring_timeout: 30s}]}, {id: infra, steps: [{call: [tanaka], ring_timeout: 30s}]}]", nil,
			`policies[1].id: duplicate id "infra" (also policies[0])`},
		{"service policy", "services: [{id: web, policy: infrax}]", nil, `services[0].policy: unknown policy "infrax"`},
		{"service severity", "services: [{id: web, severity: critical}]", nil,
			"services[0].severity: must be sev1, sev2, sev3 or sev4"},
		{"service channel", "services: [{id: web, channels: {discord: alerts}}]", nil,
			`services[0].channels.discord: "alerts" is not a Discord id (digits only)`},
		{"integration service", "integrations: [{id: a, kind: generic, service: web, token: t}, {id: b, kind: generic, service: web, token: t}, {id: c, kind: generic, service: api, token: t}]", nil,
			`integrations[2].service: unknown service "api"`},
		{"integration kind", "integrations: [{id: a, kind: nagios, service: web}]", nil,
			"integrations[0].kind: must be generic, alertmanager, grafana, zabbix, mackerel, datadog or email"},
		{"integration without kind", "integrations: [{id: a, service: web}]", nil,
			"integrations[0].kind: is required: generic, alertmanager, grafana, zabbix, mackerel, datadog or email"},
		{"webhook token", "integrations: [{id: a, kind: zabbix, service: web}]", nil, "integrations[0].token: is required"},
		{"webhook token from env", "integrations: [{id: a, kind: grafana, service: web, token: '${GRAFANA_TOKEN}'}]", nil,
			"integrations[0].token: environment variable GRAFANA_TOKEN is not set"},
		{"email address", "integrations: [{id: a, kind: email, service: web}]", nil, "integrations[0].address: is required"},
		{"email address duplicate", "integrations: [{id: a, kind: email, service: web, address: a@x.example}, {id: b, kind: email, service: web, address: A@x.example}]", nil,
			`integrations[1].address: "A@x.example" is also the address of integrations[0]`},
		{"rule action", "integrations: [{id: a, kind: email, service: web, address: a@x.example, rules: [{action: open}, {action: close}]}]", nil,
			"integrations[0].rules[1].action: must be open, resolve or drop"},
		{"rule without action", "integrations: [{id: a, kind: generic, service: web, token: t, rules: [{match: {subject: [x]}}]}]", nil,
			"integrations[0].rules[0].action: is required: open, resolve or drop"},
		{"rule severity", "integrations: [{id: a, kind: generic, service: web, token: t, rules: [{action: open, severity: high}]}]", nil,
			"integrations[0].rules[0].severity: must be sev1, sev2, sev3 or sev4"},
		{"rule key template", `integrations: [{id: m, kind: email, service: web, address: a@b.example, rules: [{match: {subject_regex: 'host (?P<host>\w+)'}, action: open, key: "{svc}"}]}]`, nil,
			"integrations[0].rules[0].key: {svc} is not a capture of the rule's regexes"},
		{"integration without service", "integrations: [{id: a, kind: generic, token: t}]", nil,
			"integrations[0].service: is required"},
		{"authorization unknown command", "authorization: [{commands: [ack, resolv], allow: [tanaka]}]", nil,
			`authorization[0].commands[1]: unknown command "resolv" (ack, own, assign, sev, classify, status, note, escalate, resolve, postmortem, new, list, show, timeline, oncall or "*")`},
		{"authorization help", "authorization: [{commands: [ack]}, {commands: [help], allow: [tanaka]}]", nil,
			"authorization[1].commands[0]: help is always allowed; leave it out"},
		{"authorization without commands", "authorization: [{allow: [tanaka]}]", nil,
			`authorization[0].commands: must name at least one command, or "*" for all`},
		{"authorization allows nobody", "authorization: [{commands: ['*']}]", nil,
			"authorization[0].allow: must name at least one contact id or group (slack:<user group id>, discord:<role id>)"},
		{"authorization unknown contact", "authorization: [{commands: [resolve], allow: [tanaka, sato]}]", nil,
			`authorization[0].allow[1]: unknown contact "sato"`},
		{"authorization empty contact", "authorization: [{commands: [resolve], allow: ['']}]", nil,
			"authorization[0].allow[0]: is empty: name a contact id or a group"},
		{"authorization slack group", "authorization: [{commands: [resolve], allow: ['slack:oncall']}]", nil,
			`authorization[0].allow[0]: "slack:oncall": a Slack user group id is S followed by capital letters and digits, like slack:S0ONCALL`},
		{"authorization discord role", "authorization: [{commands: [resolve], allow: ['discord:<@&123>']}]", nil,
			`authorization[0].allow[0]: "discord:<@&123>": a Discord role id is digits only, like discord:1234567890`},
		{"authorization platform", "authorization: [{commands: [resolve], allow: [tanaka, 'teams:oncall']}]", nil,
			`authorization[0].allow[1]: "teams:oncall" is not a group: write slack:<user group id> or discord:<role id>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Later top-level keys would be duplicates, so the case's own
			// sections replace the valid config's.
			src := replaceConfigSections(validConfigYAML, tc.src)
			c, err := ParseConfig([]byte(src), configEnv(tc.env))
			if err != nil {
				t.Fatalf("ParseConfig: %v\n%s", err, src)
			}
			c.ApplyDefaults()
			got := c.Problems()
			if !slices.Contains(got, tc.want) {
				t.Errorf("problems = %q\nwant one to be %q", got, tc.want)
			}
			err = c.Validate()
			if _, ok := errors.AsType[*bot.InvalidError](err); !ok {
				t.Errorf("Validate() = %v, want it to wrap a *bot.InvalidError", err)
			}
		})
	}
}

// replaceConfigSections returns base with each top-level section named in patch
// replaced by patch's.
func replaceConfigSections(base, patch string) string {
	sections := func(src string) (order []string, text map[string]string) {
		text = map[string]string{}
		var current string
		for line := range strings.Lines(strings.TrimSpace(src) + "\n") {
			if line != "" && line[0] != ' ' && line[0] != '-' {
				current, _, _ = strings.Cut(line, ":")
				order = append(order, current)
			}
			text[current] += line
		}
		return order, text
	}
	baseOrder, baseText := sections(base)
	patchOrder, patchText := sections(patch)
	var b strings.Builder
	for _, name := range baseOrder {
		if p, ok := patchText[name]; ok {
			b.WriteString(p)
			continue
		}
		b.WriteString(baseText[name])
	}
	for _, name := range patchOrder {
		if _, ok := baseText[name]; !ok {
			b.WriteString(patchText[name])
		}
	}
	return b.String()
}

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	src := `
locale: de
database: {url: "mysql://x"}
contacts:
  - {id: tanaka, phone: "09011112222"}
policies:
  - id: infra
    steps:
      - {call: [tanaka], ring_timeout: 30s}
      - {call: [sato]}
services:
  - {id: web, policy: infrax}
`
	c, err := ParseConfig([]byte(src), configEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Problems{
		"database.url: must start with postgres://, postgresql:// or sqlite:",
		"locale: must be ja or en",
		`contacts[0].phone: "09011112222" is not E.164 (+, country code, number: like +819011112222)`,
		`policies[0].steps[1].call[0]: unknown contact "sato"`,
		"policies[0].steps[1].ring_timeout: must be > 0",
		`services[0].policy: unknown policy "infrax"`,
	}
	if got := c.Problems(); !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
	err = c.Validate()
	for _, p := range want {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("Validate() = %q, missing %q", err, p)
		}
	}
	if !strings.HasPrefix(err.Error(), "6 problems:\n  ") {
		t.Errorf("Validate() = %q, want one problem a line", err)
	}
}

func TestConfigParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown top-level key", "locale: ja\ndatabse: {url: x}\n",
			[]string{"line 2: databse: unknown key (known: database, http, locale, chat, phone, mail, ingest, contacts, schedules, policies, services, integrations, authorization)"}},
		{"unknown nested key", "http:\n  listen: ':80'\n  listn: ':81'\n",
			[]string{"line 3: http.listn: unknown key (known: listen, public_url, api_token)"}},
		{"unknown key in a flow list", "contacts:\n  - {id: a, phone: '+815012345678', mail: a@example.com}\n",
			[]string{"line 2: contacts[0].mail: unknown key (known: id, name, phone, email, slack, discord, locale)"}},
		{"bad duration", "policies:\n  - id: p\n    ack_timeout: 5 minutes\n",
			[]string{`line 3: policies[0].ack_timeout: "5 minutes" is not a duration (like 30s, 5m or 1h30m)`}},
		{"duration without unit", "policies:\n  - {id: p, steps: [{call: [a], ring_timeout: 30}]}\n",
			[]string{`line 2: policies[0].steps[0].ring_timeout: "30" is not a duration (add a unit: s, m or h)`}},
		{"duration as a list", "schedules: [{id: s, shift_length: [1h]}]\n",
			[]string{"line 1: schedules[0].shift_length: want a duration like 30s or 5m, got a list"}},
		{"number", "phone:\n  twilio: {calls_per_second: fast}\n",
			[]string{`line 2: phone.twilio.calls_per_second: want a number, got "fast"`}},
		{"scalar for a list", "policies:\n  - id: p\n    notify: admin@example.com\n",
			[]string{`line 3: policies[0].notify: want a list, got "admin@example.com"`}},
		{"list for a mapping", "http:\n  - listen\n",
			[]string{"line 2: http: want a mapping, got a list"}},
		{"several at once", "locale: ja\nlocal: en\npolicies:\n  - {id: p, repeat_pause: soon, repeat: twice}\n",
			[]string{
				"line 2: local: unknown key (known: database, http, locale, chat, phone, mail, ingest, contacts, schedules, policies, services, integrations, authorization)",
				`line 4: policies[0].repeat: want a whole number, got "twice"`,
				`line 4: policies[0].repeat_pause: "soon" is not a duration (like 30s, 5m or 1h30m)`,
			}},
		{"unknown key in an authorization rule", "authorization:\n  - commands: [resolve]\n    alow: [tanaka]\n",
			[]string{"line 3: authorization[0].alow: unknown key (known: commands, allow)"}},
		{"authorization commands as a scalar", "authorization:\n  - {commands: resolve, allow: [tanaka]}\n",
			[]string{`line 2: authorization[0].commands: want a list, got "resolve"`}},
		{"duplicate key", "http:\n  listen: ':80'\n  listen: ':81'\n",
			[]string{"line 3: http.listen: key already set at line 2"}},
		{"syntax", "http: {listen: ':80'\n",
			[]string{"line 1: did not find expected ',' or '}'"}},
		{"two documents", "locale: ja\n---\nlocale: en\n",
			[]string{"the file holds more than one YAML document"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.src), configEnv(nil))
			if err == nil {
				t.Fatalf("ParseConfig = %+v, want an error", c)
			}
			ce, ok := errors.AsType[*ConfigError](err)
			if !ok {
				t.Fatalf("ParseConfig error %T %v, want *ConfigError", err, err)
			}
			got := slices.Clone(ce.Problems)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, bot.Problems(want)) {
				t.Errorf("problems:\n got %q\nwant %q", ce.Problems, tc.want)
			}
		})
	}
}

func TestConfigEnvExpansion(t *testing.T) {
	env := map[string]string{"TOKEN": "s3cret", "EMPTY": "", "MULTI": "a b"}
	tests := []struct {
		name string
		src  string // the value of http.api_token, as written in the file
		want string
	}{
		{"variable", `"${TOKEN}"`, "s3cret"},
		{"plain scalar", `${TOKEN}`, "s3cret"},
		{"inside a value", `"Bearer ${TOKEN}!"`, "Bearer s3cret!"},
		{"two variables", `"${TOKEN}-${MULTI}"`, "s3cret-a b"},
		{"default when unset", `"${MISSING:-fallback}"`, "fallback"},
		{"default when empty", `"${EMPTY:-fallback}"`, "fallback"},
		{"default ignored when set", `"${TOKEN:-fallback}"`, "s3cret"},
		{"empty default", `"${MISSING:-}"`, ""},
		{"lone dollar", `pa$$word`, "pa$$word"},
		{"dollar and name", `"pa$TOKEN"`, "pa$TOKEN"},
		{"dollar at end", `"price$"`, "price$"},
		{"unterminated", `"a${TOKEN"`, "a${TOKEN"},
		{"not a name", `"a${TOK-EN}b"`, "a${TOK-EN}b"},
		{"dollar before a variable", `"$${TOKEN}"`, "$s3cret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte("http:\n  api_token: "+tc.src+"\n"), configEnv(env))
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTP.APIToken != tc.want {
				t.Errorf("api_token = %q, want %q", c.HTTP.APIToken, tc.want)
			}
		})
	}
}

// An unset variable is blamed on the key it stands for, wherever it is on
// its line.
func TestConfigUnsetEnvPaths(t *testing.T) {
	src := `chat:
  slack: {bot_token: "${SLACK_BOT_TOKEN}", app_token: "${SLACK_APP_TOKEN}", signing_secret: ${SLACK_SIGNING_SECRET}}
  discord: {application_id: "123", bot_token: ${DISCORD_BOT_TOKEN}}
services: [{id: web, name: "ウェブ ${UNUSED}"}]
integrations:
  - {id: g, kind: generic, rules: [{match: {subject: [障害発生中]}, action: open}], token: "${GEN_TOKEN}", service: web}
phone:
  twilio:
    account_sid: ${TWILIO_ACCOUNT_SID}
    auth_token: "${TWILIO_AUTH_TOKEN:-}"
    from: "+815012345678"
http:
  public_url: https://h.example.com
`
	c, err := ParseConfig([]byte(src), configEnv(map[string]string{"SLACK_APP_TOKEN": "xapp"}))
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Problems{
		"chat.slack.bot_token: environment variable SLACK_BOT_TOKEN is not set",
		"chat.discord.bot_token: environment variable DISCORD_BOT_TOKEN is not set",
		"phone.twilio.account_sid: environment variable TWILIO_ACCOUNT_SID is not set",
		"phone.twilio.auth_token: is required",
		"integrations[0].token: environment variable GEN_TOKEN is not set",
	}
	got := c.Problems()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

func TestConfigDefaultsKeepUnsetEnv(t *testing.T) {
	c, err := ParseConfig([]byte("database:\n  url: ${DATABASE_URL}\nlocale: ${HOTLINE_LOCALE:-ja}\n"), configEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if c.Database.URL != "" {
		t.Errorf("database.url = %q; the default must not replace an unset ${DATABASE_URL}", c.Database.URL)
	}
	if c.Locale != "ja" {
		t.Errorf("locale = %q, want the ${...:-ja} default", c.Locale)
	}
	want := bot.Problems{"database.url: environment variable DATABASE_URL is not set"}
	if got := c.Problems(); !slices.Equal(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
}

func TestConfigApplyDefaults(t *testing.T) {
	src := `
phone: {twilio: {account_sid: a, auth_token: b, from: "+815012345678", calls_per_second: 5}}
mail:
  imap: {addr: "imap.example.com:993", username: u, password: p, mailbox: Alerts, tls: none}
  outgoing: {addr: "smtp.example.com:587", from: a@example.com}
ingest: {max_body_bytes: 4096}
policies:
  - {id: p, repeat_pause: 1m, steps: [{call: [a], mode: parallel, ring_timeout: 20s}, {call: [a], ring_timeout: 20s}]}
  - {id: q, steps: [{call: [a], ring_timeout: 20s}]}
`
	c, err := ParseConfig([]byte(src), configEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	c.ApplyDefaults() // idempotent
	checks := []struct {
		name      string
		got, want any
	}{
		{"database.url", c.Database.URL, "sqlite:hotline.db"},
		{"http.listen", c.HTTP.Listen, ":8080"},
		{"locale", c.Locale, "en"},
		{"calls_per_second kept", c.Phone.Twilio.CallsPerSecond, 5.0},
		{"mailbox kept", c.Mail.IMAP.Mailbox, "Alerts"},
		{"imap tls kept", c.Mail.IMAP.TLS, "none"},
		{"outgoing tls", c.Mail.Outgoing.TLS, "starttls"},
		{"max_body_bytes kept", c.Ingest.MaxBodyBytes, int64(4096)},
		{"repeat_pause kept", c.Policies[0].RepeatPause.Duration, time.Minute},
		{"repeat_pause default", c.Policies[1].RepeatPause.Duration, 30 * time.Second},
		{"mode kept", c.Policies[0].Steps[0].Mode, "parallel"},
		{"mode default", c.Policies[0].Steps[1].Mode, "sequential"},
		{"ack_timeout stays 0", c.Policies[1].AckTimeout.Duration, time.Duration(0)},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

func TestConfigDuration(t *testing.T) {
	tests := []struct {
		src     string
		want    time.Duration
		wantErr string
	}{
		{"5m", 5 * time.Minute, ""},
		{"30s", 30 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"250ms", 250 * time.Millisecond, ""},
		{"0", 0, ""},
		{`"2m"`, 2 * time.Minute, ""},
		{"", 0, ""},
		{"~", 0, ""},
		{"1d", 0, `policies[0].ack_timeout: "1d" is not a duration (like 30s, 5m or 1h30m)`},
		{"90", 0, `policies[0].ack_timeout: "90" is not a duration (add a unit: s, m or h)`},
		{"{m: 5}", 0, `policies[0].ack_timeout: want a duration like 30s or 5m, got a mapping`},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			c, err := ParseConfig([]byte("policies:\n  - ack_timeout: "+tc.src+"\n"), configEnv(nil))
			if tc.wantErr != "" {
				want := "line 2: " + tc.wantErr
				if ce, ok := errors.AsType[*ConfigError](err); !ok || !slices.Equal(ce.Problems, bot.Problems{want}) {
					t.Errorf("ParseConfig error = %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Policies[0].AckTimeout.Duration; got != tc.want {
				t.Errorf("ack_timeout = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestConfigAuthorizationRules: the rules of a valid config split allow into
// contacts and groups, and commands.NewAuthorizer takes them as they are.
func TestConfigAuthorizationRules(t *testing.T) {
	src := replaceConfigSections(validConfigYAML, `authorization:
  - {commands: [resolve, close, new], allow: [tanaka, "slack:S0ONCALL", suzuki, "discord:1234567890"]}
  - {commands: ["*"], allow: ["discord:42"]}
`)
	c, err := ParseConfig([]byte(src), configEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := []commands.Rule{
		{Verbs: []string{"resolve", "close", "new"}, Contacts: []string{"tanaka", "suzuki"}, Groups: []string{"slack:S0ONCALL", "discord:1234567890"}},
		{Verbs: []string{"*"}, Groups: []string{"discord:42"}},
	}
	if got := c.AuthorizationRules(); !reflect.DeepEqual(got, want) {
		t.Errorf("AuthorizationRules() =\n %+v\nwant\n %+v", got, want)
	}
	a, err := commands.NewAuthorizer(c.AuthorizationRules())
	if err != nil {
		t.Fatalf("NewAuthorizer: %v", err)
	}
	sato := bot.Actor{ID: "sato", Source: "discord"}
	if ok, why := a.Allowed(t.Context(), commands.VerbResolve, sato, "en", nil); ok || why != "Only tanaka, suzuki, members of slack:S0ONCALL, members of discord:1234567890 or members of discord:42 may resolve incidents here." {
		t.Errorf("sato resolves: %v %q", ok, why)
	}
	if ok, _ := a.Allowed(t.Context(), commands.VerbResolve, bot.Actor{ID: "suzuki", Source: "slack"}, "en", nil); !ok {
		t.Error("suzuki may not resolve")
	}

	none, err := ParseConfig([]byte(validConfigYAML), configEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if rules := none.AuthorizationRules(); rules != nil {
		t.Errorf("no authorization section: rules %+v, want none", rules)
	}
}

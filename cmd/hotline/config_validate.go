package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/adapters/mail"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
	"github.com/hotline-dev/hotline/escalation"
)

// Validate returns every problem in the configuration at once, each with its
// path in the file, as a *ConfigError. An empty config is valid, before and
// after ApplyDefaults.
func (c *Config) Validate() error {
	if p := c.Problems(); len(p) > 0 {
		return &ConfigError{Problems: p}
	}
	return nil
}

// Problems is what Validate reports, one entry per problem, for a CLI that
// prints them a line each.
func (c *Config) Problems() bot.Problems {
	v := &configValidator{c: c}
	v.general()
	v.chat()
	v.twilio()
	v.mail()
	v.contacts()
	v.schedules()
	v.policies()
	v.services()
	v.integrations()
	v.authorization()
	return v.problems
}

type configValidator struct {
	c        *Config
	problems bot.Problems
}

func (v *configValidator) add(path, format string, args ...any) {
	v.problems.Add(path, fmt.Sprintf(format, args...))
}

// unsetVar reports an empty value that came from an unset ${VAR}.
func (v *configValidator) unsetVar(path, value string) bool {
	names := v.c.unsetEnv[path]
	if value != "" || len(names) == 0 {
		return false
	}
	for _, name := range names {
		v.add(path, "environment variable %s is not set", name)
	}
	return true
}

// required reports an empty value; it is true when the value is there.
func (v *configValidator) required(path, value string) bool {
	if value != "" {
		return true
	}
	if !v.unsetVar(path, value) {
		v.add(path, "is required")
	}
	return false
}

func (v *configValidator) oneOf(path, value string, allowed ...string) {
	if value != "" && !slices.Contains(allowed, value) {
		v.add(path, "must be %s", configOrList(allowed))
	}
}

func configOrList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func (v *configValidator) httpURL(path, value string) {
	if value == "" {
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, "%q is not an http:// or https:// URL", value)
	}
}

// hostPort checks an address; a listen address may leave out the host.
func (v *configValidator) hostPort(path, value string, listen bool) {
	if value == "" {
		return
	}
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		v.add(path, "%q is not host:port", value)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(path, "%q has no valid port", value)
	} else if host == "" && !listen {
		v.add(path, "%q has no host", value)
	}
}

func (v *configValidator) email(path, value string) {
	if value == "" {
		return
	}
	if a, err := netmail.ParseAddress(value); err != nil || a.Address != value {
		v.add(path, "%q is not an e-mail address", value)
	}
}

var (
	configIDPattern        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	configE164Pattern      = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	configSnowflakePattern = regexp.MustCompile(`^[0-9]+$`)
)

// ids checks that each id is present, well formed and unique.
func (v *configValidator) ids(section string, n int, id func(int) string) {
	seen := make(map[string]int, n)
	for i := range n {
		path := fmt.Sprintf("%s[%d].id", section, i)
		s := id(i)
		switch {
		case s == "":
			v.add(path, "is required")
		case !configIDPattern.MatchString(s):
			v.add(path, "%q must be letters, digits, '-', '_' or '.'", s)
		default:
			if j, dup := seen[s]; dup {
				v.add(path, "duplicate id %q (also %s[%d])", s, section, j)
				continue
			}
			seen[s] = i
		}
	}
}

func (v *configValidator) snowflake(path, value string) {
	if value != "" && !configSnowflakePattern.MatchString(value) {
		v.add(path, "%q is not a Discord id (digits only)", value)
	}
}

func (v *configValidator) phoneNumber(path, value, locale string) {
	if value == "" || configE164Pattern.MatchString(value) {
		return
	}
	if hint := e164Hint(value, locale); hint != "" {
		v.add(path, "%q is not E.164 (%s)", value, hint)
		return
	}
	v.add(path, "%q is not E.164 (+, country code, number: like +819011112222)", value)
}

// e164Hint guesses the E.164 form of a number written with separators or,
// for a Japanese contact, in the domestic form 090-1111-2222.
func e164Hint(phone, locale string) string {
	digits := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -().\u2010\u2012\u2013\u2212\u30fc", r) {
			return -1
		}
		return r
	}, phone)
	if configE164Pattern.MatchString(digits) {
		return digits
	}
	if locale == "ja" && strings.HasPrefix(digits, "0") && !strings.HasPrefix(digits, "00") {
		if jp := "+81" + digits[1:]; configE164Pattern.MatchString(jp) {
			return jp
		}
	}
	return ""
}

var (
	configLocales          = []string{"ja", "en"}
	configTLSModes         = []string{"starttls", "tls", "none"}
	configRotations        = []string{"daily", "weekly", "custom"}
	configStepModes        = []string{"sequential", "parallel"}
	configWebhookKinds     = []string{"generic", "alertmanager", "grafana", "zabbix", "mackerel", "datadog"}
	configIntegrationKinds = append(slices.Clone(configWebhookKinds), "email")
)

func (v *configValidator) general() {
	c := v.c
	if !v.unsetVar("database.url", c.Database.URL) && c.Database.URL != "" &&
		!strings.HasPrefix(c.Database.URL, "postgres://") &&
		!strings.HasPrefix(c.Database.URL, "postgresql://") &&
		!strings.HasPrefix(c.Database.URL, "sqlite:") {
		v.add("database.url", "must start with postgres://, postgresql:// or sqlite:")
	}
	if !v.unsetVar("http.listen", c.HTTP.Listen) {
		v.hostPort("http.listen", c.HTTP.Listen, true)
	}
	v.httpURL("http.public_url", c.HTTP.PublicURL)
	// An api_token that was meant to come from the environment but did not
	// must not leave the API open.
	v.unsetVar("http.api_token", c.HTTP.APIToken)
	if !v.unsetVar("locale", c.Locale) && c.Locale != "" && !slices.Contains(configLocales, c.Locale) {
		v.add("locale", "must be ja or en")
	}
	if c.Ingest.MaxBodyBytes < 0 {
		v.add("ingest.max_body_bytes", "must be > 0")
	}
}

func (v *configValidator) chat() {
	if s := v.c.Chat.Slack; s != nil {
		v.required("chat.slack.bot_token", s.BotToken)
		if s.AppToken == "" && s.SigningSecret == "" {
			appUnset := v.unsetVar("chat.slack.app_token", s.AppToken)
			secretUnset := v.unsetVar("chat.slack.signing_secret", s.SigningSecret)
			if !appUnset && !secretUnset {
				v.add("chat.slack", "needs app_token (Socket Mode) or signing_secret (HTTP events) to receive commands")
			}
		}
		v.httpURL("chat.slack.api_url", s.APIURL)
	}
	for emoji, verb := range v.c.Chat.Reactions {
		path := "chat.reactions." + emoji
		if strings.TrimSpace(emoji) == "" || strings.ContainsAny(emoji, ": ") {
			v.add(path, "an emoji name like eyes or white_check_mark, without colons")
		}
		// A reaction names nothing but the incident it is on.
		if _, err := commands.Parse(verb + " INC-1"); err != nil {
			v.add(path, "%q is not a command a reaction can run (ack, own or resolve)", verb)
		}
	}
	if d := v.c.Chat.Discord; d != nil {
		v.required("chat.discord.bot_token", d.BotToken)
		v.snowflake("chat.discord.application_id", d.ApplicationID)
		v.snowflake("chat.discord.guild_id", d.GuildID)
		v.httpURL("chat.discord.api_url", d.APIURL)
		if k, err := hex.DecodeString(d.PublicKey); d.PublicKey != "" && (err != nil || len(k) != ed25519.PublicKeySize) {
			v.add("chat.discord.public_key", "must be the application's public key (64 hex digits, from the Developer Portal)")
		}
	}
}

func (v *configValidator) twilio() {
	t := v.c.Phone.Twilio
	if t == nil {
		return
	}
	v.required("phone.twilio.account_sid", t.AccountSID)
	v.required("phone.twilio.auth_token", t.AuthToken)
	if v.required("phone.twilio.from", t.From) {
		v.phoneNumber("phone.twilio.from", t.From, v.c.Locale)
	}
	v.httpURL("phone.twilio.api_url", t.APIURL)
	if t.CallsPerSecond < 0 || math.IsNaN(t.CallsPerSecond) || math.IsInf(t.CallsPerSecond, 0) {
		v.add("phone.twilio.calls_per_second", "must be > 0")
	}
	if v.c.HTTP.PublicURL == "" && !v.unsetVar("http.public_url", "") {
		v.add("http.public_url", "is required with phone.twilio: Twilio posts keypresses and call status there")
	}
}

func (v *configValidator) mail() {
	m := v.c.Mail
	if s := m.SMTP; s != nil {
		if v.required("mail.smtp.listen", s.Listen) {
			v.hostPort("mail.smtp.listen", s.Listen, true)
		}
		if (s.TLSCert == "") != (s.TLSKey == "") {
			v.add("mail.smtp.tls_key", "tls_cert and tls_key go together (PEM files)")
		}
		if (s.Username == "") != (s.Password == "") {
			v.add("mail.smtp.password", "username and password go together")
		}
		if s.MaxBytes < 0 {
			v.add("mail.smtp.max_bytes", "must be positive (bytes); empty: 10 MiB")
		}
		if !slices.ContainsFunc(v.c.Integrations, func(in IntegrationConfig) bool { return in.Kind == "email" }) {
			v.add("mail.smtp", "no integration of kind email: the listener would refuse every mail")
		}
	}
	if s := m.IMAP; s != nil {
		if v.required("mail.imap.addr", s.Addr) {
			v.hostPort("mail.imap.addr", s.Addr, false)
		}
		v.required("mail.imap.username", s.Username)
		v.required("mail.imap.password", s.Password)
		v.unsetVar("mail.imap.mailbox", s.Mailbox)
		if !v.unsetVar("mail.imap.tls", s.TLS) {
			v.oneOf("mail.imap.tls", s.TLS, configTLSModes...)
		}
		if target, move := strings.CutPrefix(s.After, "move:"); s.After != "" && s.After != "seen" && (!move || strings.TrimSpace(target) == "") {
			v.add("mail.imap.after", "must be seen or move:<mailbox>")
		}
		if !slices.ContainsFunc(v.c.Integrations, func(in IntegrationConfig) bool { return in.Kind == "email" }) {
			v.add("mail.imap", "no integration of kind email: the mailbox's mail would go nowhere")
		}
	}
	if s := m.Outgoing; s != nil {
		if v.required("mail.outgoing.addr", s.Addr) {
			v.hostPort("mail.outgoing.addr", s.Addr, false)
		}
		if v.required("mail.outgoing.from", s.From) {
			v.email("mail.outgoing.from", s.From)
		}
		if s.Username != "" {
			v.required("mail.outgoing.password", s.Password)
		}
		if !v.unsetVar("mail.outgoing.tls", s.TLS) {
			v.oneOf("mail.outgoing.tls", s.TLS, configTLSModes...)
		}
	}
}

func (v *configValidator) contacts() {
	v.ids("contacts", len(v.c.Contacts), func(i int) string { return v.c.Contacts[i].ID })
	for i, ct := range v.c.Contacts {
		path := fmt.Sprintf("contacts[%d]", i)
		if ct.Locale != "" && !slices.Contains(configLocales, ct.Locale) {
			v.add(path+".locale", "must be ja or en")
		}
		locale := ct.Locale
		if locale == "" {
			locale = v.c.Locale
		}
		v.phoneNumber(path+".phone", ct.Phone, locale)
		v.email(path+".email", ct.Email)
		v.snowflake(path+".discord", ct.Discord)
	}
}

func (v *configValidator) contactByID(id string) (ContactConfig, bool) {
	for _, ct := range v.c.Contacts {
		if ct.ID == id {
			return ct, true
		}
	}
	return ContactConfig{}, false
}

func (v *configValidator) schedules() {
	v.ids("schedules", len(v.c.Schedules), func(i int) string { return v.c.Schedules[i].ID })
	for i, s := range v.c.Schedules {
		path := fmt.Sprintf("schedules[%d]", i)
		if v.required(path+".time_zone", s.TimeZone) {
			if _, err := time.LoadLocation(s.TimeZone); err != nil {
				v.add(path+".time_zone", "unknown time zone %q (like Asia/Tokyo or UTC)", s.TimeZone)
			}
		}
		switch s.Rotation {
		case "daily", "weekly", "custom":
		case "":
			v.add(path+".rotation", "is required: daily, weekly or custom")
		default:
			v.add(path+".rotation", "must be daily, weekly or custom")
		}
		if s.Rotation == "custom" && s.ShiftLength.Duration < escalation.MinShiftLength {
			v.add(path+".shift_length", "must be at least %s for a custom rotation", escalation.MinShiftLength)
		} else if s.ShiftLength.Duration < 0 {
			v.add(path+".shift_length", "must be > 0")
		}
		if s.Rotation != "" && slices.Contains(configRotations, s.Rotation) && v.required(path+".handoff", s.Handoff) {
			if _, err := escalation.ParseHandoff(s.Rotation, s.Handoff); err != nil {
				v.add(path+".handoff", "%q %v", s.Handoff, err)
			}
		}
		if len(s.Members) == 0 {
			v.add(path+".members", "must name at least one contact")
		}
		for j, m := range s.Members {
			if _, ok := v.contactByID(m); !ok {
				v.add(fmt.Sprintf("%s.members[%d]", path, j), "unknown contact %q", m)
			}
		}
	}
}

func (v *configValidator) policies() {
	c := v.c
	v.ids("policies", len(c.Policies), func(i int) string { return c.Policies[i].ID })
	schedules := map[string]ScheduleConfig{}
	for _, s := range c.Schedules {
		schedules[s.ID] = s
	}
	noPhone := map[string]bool{} // reported once per contact
	checkPhone := func(path, id string) {
		if ct, ok := v.contactByID(id); ok && ct.Phone == "" && !noPhone[id] {
			noPhone[id] = true
			v.add(path, "contact %q has no phone to call", id)
		}
	}
	for i, p := range c.Policies {
		path := fmt.Sprintf("policies[%d]", i)
		if p.AckTimeout.Duration < 0 {
			v.add(path+".ack_timeout", "must be >= 0")
		}
		if p.Repeat < 0 {
			v.add(path+".repeat", "must be >= 0")
		}
		if p.RepeatPause.Duration < 0 {
			v.add(path+".repeat_pause", "must be >= 0")
		}
		if len(p.Steps) == 0 {
			v.add(path+".steps", "must have at least one step")
		}
		for j, st := range p.Steps {
			stepPath := fmt.Sprintf("%s.steps[%d]", path, j)
			if len(st.Call) == 0 {
				v.add(stepPath+".call", "must name at least one contact id or schedule:<id>")
			}
			for k, target := range st.Call {
				targetPath := fmt.Sprintf("%s.call[%d]", stepPath, k)
				if id, ok := strings.CutPrefix(target, ScheduleTargetPrefix); ok {
					s, found := schedules[id]
					if !found {
						v.add(targetPath, "unknown schedule %q", id)
						continue
					}
					for _, m := range s.Members {
						checkPhone(targetPath, m)
					}
					continue
				}
				if _, found := v.contactByID(target); !found {
					v.add(targetPath, "unknown contact %q", target)
					continue
				}
				checkPhone(targetPath, target)
			}
			v.oneOf(stepPath+".mode", st.Mode, configStepModes...)
			if st.RingTimeout.Duration <= 0 {
				v.add(stepPath+".ring_timeout", "must be > 0")
			}
		}
		for j, addr := range p.Notify {
			v.email(fmt.Sprintf("%s.notify[%d]", path, j), addr)
		}
		for sev, rule := range p.Severities {
			rulePath := fmt.Sprintf("%s.severities.%s", path, sev)
			if !sev.Valid() {
				v.add(rulePath, "must be sev1, sev2, sev3 or sev4")
			}
			if rule.AckTimeout != nil && rule.AckTimeout.Duration < 0 {
				v.add(rulePath+".ack_timeout", "must be >= 0")
			}
		}
	}
}

func (v *configValidator) services() {
	c := v.c
	v.ids("services", len(c.Services), func(i int) string { return c.Services[i].ID })
	for i, s := range c.Services {
		path := fmt.Sprintf("services[%d]", i)
		if s.Policy != "" && !slices.ContainsFunc(c.Policies, func(p PolicyConfig) bool { return p.ID == s.Policy }) {
			v.add(path+".policy", "unknown policy %q", s.Policy)
		}
		if s.Severity != "" && !s.Severity.Valid() {
			v.add(path+".severity", "must be sev1, sev2, sev3 or sev4")
		}
		v.snowflake(path+".channels.discord", s.Channels.Discord)
		v.snowflake(path+".knowledge_base.discord", s.KnowledgeBase.Discord)
	}
}

func (v *configValidator) integrations() {
	c := v.c
	v.ids("integrations", len(c.Integrations), func(i int) string { return c.Integrations[i].ID })
	addresses := map[string]int{}
	for i, in := range c.Integrations {
		path := fmt.Sprintf("integrations[%d]", i)
		switch {
		case in.Kind == "":
			v.add(path+".kind", "is required: %s", configOrList(configIntegrationKinds))
		case !slices.Contains(configIntegrationKinds, in.Kind):
			v.add(path+".kind", "must be %s", configOrList(configIntegrationKinds))
		case in.Kind == "email":
			if v.required(path+".address", in.Address) {
				v.email(path+".address", in.Address)
				key := strings.ToLower(in.Address)
				if j, dup := addresses[key]; dup {
					v.add(path+".address", "%q is also the address of integrations[%d]", in.Address, j)
				} else {
					addresses[key] = i
				}
			}
		default:
			v.required(path+".token", in.Token)
		}
		if v.required(path+".service", in.Service) &&
			!slices.ContainsFunc(c.Services, func(s ServiceConfig) bool { return s.ID == in.Service }) {
			v.add(path+".service", "unknown service %q", in.Service)
		}
		// The mail adapter compiles the rules and names every problem.
		var rerr *mail.RulesError
		if _, err := mailRules(in); len(in.Rules) > 0 && errors.As(err, &rerr) {
			for _, p := range rerr.Problems {
				where, what, _ := strings.Cut(p, ": ")
				v.add(path+"."+where, "%s", what)
			}
		}
	}
}

func (v *configValidator) authorization() {
	for i, r := range v.c.Authorization {
		path := fmt.Sprintf("authorization[%d]", i)
		if len(r.Commands) == 0 {
			v.add(path+".commands", `must name at least one command, or "*" for all`)
		}
		for j, word := range r.Commands {
			if _, err := commands.AuthorizableVerb(word); err != nil {
				v.add(fmt.Sprintf("%s.commands[%d]", path, j), "%v", err)
			}
		}
		if len(r.Allow) == 0 {
			v.add(path+".allow", "must name at least one contact id or group (slack:<user group id>, discord:<role id>)")
		}
		for j, who := range r.Allow {
			whoPath := fmt.Sprintf("%s.allow[%d]", path, j)
			switch {
			case isAuthorizationGroup(who):
				if err := commands.CheckGroup(who); err != nil {
					v.add(whoPath, "%v", err)
				}
			case who == "":
				v.add(whoPath, "is empty: name a contact id or a group")
			default:
				if _, ok := v.contactByID(who); !ok {
					v.add(whoPath, "unknown contact %q", who)
				}
			}
		}
	}
}

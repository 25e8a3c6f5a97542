package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	// Schedules name IANA zones; embedding the database means a scratch or
	// distroless image validates and rotates them like a full OS would.
	_ "time/tzdata"

	"gopkg.in/yaml.v3"

	"github.com/hotline-dev/hotline/bot"
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
	Listen string `yaml:"listen"`
	Domain string `yaml:"domain"`
}

type IMAPConfig struct {
	Addr     string `yaml:"addr"` // host:port
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Mailbox  string `yaml:"mailbox"` // default INBOX
	TLS      string `yaml:"tls"`     // starttls | tls | none; default tls
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
	Notify      []string     `yaml:"notify"`       // e-mail addresses told when the policy runs out
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
}

// MatchConfig lists keywords; a rule matches when any keyword of every
// non-empty list occurs in that part of the alert.
type MatchConfig struct {
	Subject []string `yaml:"subject"`
	Body    []string `yaml:"body"`
	From    []string `yaml:"from"`
}

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

// LoadConfig reads the file at path, expands ${VAR} from the environment,
// applies defaults and validates. Any problem comes back as a *ConfigError
// naming all of them.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := ParseConfig(data, os.Getenv)
	if err == nil {
		c.ApplyDefaults()
		err = c.Validate()
	}
	if err != nil {
		if ce, ok := errors.AsType[*ConfigError](err); ok {
			ce.File = path
		}
		return nil, err
	}
	return c, nil
}

// ParseConfig expands ${VAR} and ${VAR:-default} in data with getenv (nil:
// os.Getenv), then decodes it strictly: unknown keys and values of the wrong
// type are all reported, with their line and path. It neither applies
// defaults nor validates. Empty data is an empty config.
func ParseConfig(data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	expanded, unset := expandConfigEnv(data, getenv)

	var root yaml.Node
	if err := yaml.Unmarshal(expanded, &root); err != nil {
		return nil, &ConfigError{Problems: bot.Problems{strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	index := indexConfigNodes(&root)

	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if errors.Is(err, io.EOF) {
		err = nil // an empty file or only comments
	} else if err == nil {
		var extra yaml.Node
		if dec.Decode(&extra) != io.EOF {
			err = errors.New("the file holds more than one YAML document")
		}
	}
	if err != nil {
		var problems bot.Problems
		if te, ok := errors.AsType[*yaml.TypeError](err); ok {
			for _, msg := range te.Errors {
				problems = append(problems, index.explain(msg))
			}
		} else {
			problems = append(problems, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil, &ConfigError{Problems: problems}
	}

	for _, ref := range unset {
		if path, ok := index.scalarAt(ref.line, ref.col); ok {
			if c.unsetEnv == nil {
				c.unsetEnv = map[string][]string{}
			}
			c.unsetEnv[path] = append(c.unsetEnv[path], ref.name)
		}
	}
	return c, nil
}

// envRef is a ${VAR} that was unset, at its position in the expanded text
// (1-based; the column counts runes, as yaml.v3 does).
type envRef struct {
	name      string
	line, col int
}

var configEnvNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandConfigEnv replaces ${VAR} and ${VAR:-default} (default when unset or
// empty). Anything else, a lone $ included, is kept as written so that
// passwords with a $ in them survive.
func expandConfigEnv(src []byte, getenv func(string) string) ([]byte, []envRef) {
	var (
		out       bytes.Buffer
		unset     []envRef
		line, col = 1, 1
	)
	write := func(s string) {
		out.WriteString(s)
		for _, r := range s {
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
	}
	s := string(src)
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			write(s)
			break
		}
		write(s[:i])
		s = s[i:]
		end := strings.IndexAny(s, "}\n")
		if end < 0 || s[end] != '}' {
			write("$")
			s = s[1:]
			continue
		}
		name, def, hasDefault := strings.Cut(s[2:end], ":-")
		if !configEnvNamePattern.MatchString(name) {
			write("$")
			s = s[1:]
			continue
		}
		value := getenv(name)
		if value == "" && hasDefault {
			value = def
		}
		if value == "" && !hasDefault {
			unset = append(unset, envRef{name: name, line: line, col: col})
		}
		write(value)
		s = s[end+1:]
	}
	return out.Bytes(), unset
}

// configNode is one node of the parsed file with its path in the file.
type configNode struct {
	line, col int
	path      string
	key       bool
	node      *yaml.Node
}

// configIndex turns yaml.v3's "line N: ..." into "line N: path: ...".
type configIndex []configNode // in document order

func indexConfigNodes(root *yaml.Node) configIndex {
	var idx configIndex
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind != yaml.DocumentNode {
			idx = append(idx, configNode{line: n.Line, col: n.Column, path: path, node: n})
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				idx = append(idx, configNode{line: k.Line, col: k.Column, path: p, key: true, node: k})
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(root, "")
	sort.SliceStable(idx, func(i, j int) bool {
		if idx[i].line != idx[j].line {
			return idx[i].line < idx[j].line
		}
		return idx[i].col < idx[j].col
	})
	return idx
}

// scalarAt is the path of the value that holds the text at line:col: the
// last scalar starting at or before it.
func (idx configIndex) scalarAt(line, col int) (string, bool) {
	for i := len(idx) - 1; i >= 0; i-- {
		n := idx[i]
		if n.line > line || (n.line == line && n.col > col) || n.node.Kind != yaml.ScalarNode {
			continue
		}
		return n.path, !n.key
	}
	return "", false
}

var (
	yamlErrLine         = regexp.MustCompile(`^line (\d+)(?: column (\d+))?: (.*)$`)
	yamlErrUnknownField = regexp.MustCompile(`^field (.*) not found in type (\S+)$`)
	yamlErrWrongType    = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
	yamlErrDuplicateKey = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// explain rewrites one of yaml.v3's decode errors in the file's own terms.
func (idx configIndex) explain(msg string) string {
	m := yamlErrLine.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	where, rest := "line "+m[1]+": ", m[3]
	pick := func(match func(configNode) bool) *configNode {
		var found *configNode
		for i := range idx {
			if idx[i].line == line && match(idx[i]) {
				if found != nil {
					return nil // two candidates on one line: do not guess
				}
				found = &idx[i]
			}
		}
		return found
	}
	withPath := func(n *configNode, text string) string {
		if n == nil || n.path == "" {
			return where + text
		}
		return where + n.path + ": " + text
	}

	if m[2] != "" { // our own Duration errors carry the exact column
		col, _ := strconv.Atoi(m[2])
		return withPath(pick(func(n configNode) bool { return !n.key && n.col == col }), rest)
	}
	if f := yamlErrUnknownField.FindStringSubmatch(rest); f != nil {
		n := pick(func(n configNode) bool { return n.key && n.node.Value == f[1] })
		text := "unknown key"
		if n == nil {
			text = fmt.Sprintf("unknown key %q", f[1])
		}
		if known := configKeysOf(f[2]); len(known) > 0 {
			text += " (known: " + strings.Join(known, ", ") + ")"
		}
		return withPath(n, text)
	}
	if f := yamlErrDuplicateKey.FindStringSubmatch(rest); f != nil {
		n := pick(func(n configNode) bool { return n.key && n.node.Value == f[1] })
		return withPath(n, "key already set at line "+f[2])
	}
	if f := yamlErrWrongType.FindStringSubmatch(rest); f != nil {
		tag, shown, into := f[1], f[2], f[3]
		n := pick(func(n configNode) bool {
			if n.key || strings.TrimPrefix(n.node.ShortTag(), "!!") != tag {
				return false
			}
			if v, truncated := strings.CutSuffix(shown, "..."); truncated {
				return strings.HasPrefix(n.node.Value, v)
			}
			return shown == "" || n.node.Value == shown
		})
		got := "!!" + tag
		if n != nil {
			got = describeConfigNode(n.node)
		} else if shown != "" {
			got = "`" + shown + "`"
		}
		return withPath(n, fmt.Sprintf("want %s, got %s", describeConfigGoType(into), got))
	}
	return msg
}

func describeConfigNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	return strconv.Quote(n.Value)
}

func describeConfigGoType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "main."):
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	}
	return "a single value"
}

// configKeysOf lists the YAML keys of the config struct named like
// "main.HTTPConfig" in yaml.v3's errors.
func configKeysOf(typeName string) []string {
	seen := map[reflect.Type]bool{}
	var find func(t reflect.Type) reflect.Type
	find = func(t reflect.Type) reflect.Type {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return nil
		}
		seen[t] = true
		if t.String() == typeName {
			return t
		}
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				if found := find(t.Field(i).Type); found != nil {
					return found
				}
			}
		}
		return nil
	}
	t := find(reflect.TypeFor[Config]())
	if t == nil {
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

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
	if a, err := mail.ParseAddress(value); err != nil || a.Address != value {
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
	configRuleActions      = []string{"open", "resolve", "drop"}
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
	if d := v.c.Chat.Discord; d != nil {
		v.required("chat.discord.bot_token", d.BotToken)
		v.snowflake("chat.discord.application_id", d.ApplicationID)
		v.snowflake("chat.discord.guild_id", d.GuildID)
		v.httpURL("chat.discord.api_url", d.APIURL)
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
		if s.Rotation == "custom" && s.ShiftLength.Duration <= 0 {
			v.add(path+".shift_length", "must be > 0 for a custom rotation")
		} else if s.ShiftLength.Duration < 0 {
			v.add(path+".shift_length", "must be > 0")
		}
		if s.Rotation != "" && slices.Contains(configRotations, s.Rotation) && v.required(path+".handoff", s.Handoff) {
			if err := checkHandoff(s.Rotation, s.Handoff); err != nil {
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

var handoffWeekdays = map[string]bool{
	"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true,
	"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true,
}

// checkHandoff accepts "09:00" for daily, "mon 09:00" for weekly and, for a
// custom rotation, either of those or the start of a first shift
// "2025-04-01 09:00".
func checkHandoff(rotation, s string) error {
	fields := strings.Fields(s)
	clock := func(t string) bool {
		h, m, ok := strings.Cut(t, ":")
		hour, err1 := strconv.Atoi(h)
		minute, err2 := strconv.Atoi(m)
		return ok && len(m) == 2 && len(h) <= 2 && err1 == nil && err2 == nil &&
			hour >= 0 && hour < 24 && minute >= 0 && minute < 60
	}
	daily := len(fields) == 1 && clock(fields[0])
	weekly := len(fields) == 2 && handoffWeekdays[strings.ToLower(fields[0])] && clock(fields[1])
	switch rotation {
	case "daily":
		if !daily {
			return errors.New(`is not a time of day like "09:00"`)
		}
	case "weekly":
		if !weekly {
			return errors.New(`is not a weekday and time like "mon 09:00"`)
		}
	case "custom":
		_, dateErr := time.Parse("2006-01-02 15:04", strings.Join(fields, " "))
		if !daily && !weekly && dateErr != nil {
			return errors.New(`is not a time like "09:00", "mon 09:00" or "2025-04-01 09:00"`)
		}
	}
	return nil
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
		for j, r := range in.Rules {
			rulePath := fmt.Sprintf("%s.rules[%d]", path, j)
			if r.Action == "" {
				v.add(rulePath+".action", "is required: open, resolve or drop")
			} else {
				v.oneOf(rulePath+".action", r.Action, configRuleActions...)
			}
			if r.Severity != "" && !r.Severity.Valid() {
				v.add(rulePath+".severity", "must be sev1, sev2, sev3 or sev4")
			}
		}
	}
}

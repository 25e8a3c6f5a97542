package discordtest

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
)

// Application command limits
// (https://discord.com/developers/docs/interactions/application-commands).
const (
	commandLimit        = 100 // chat input commands per scope
	optionLimit         = 25
	choiceLimit         = 25
	commandSizeLimit    = 8000
	commandNameLimit    = 32
	commandDescLimit    = 100
	choiceNameLimit     = 100
	choiceStringLimit   = 100
	optionMaxLengthHigh = 6000
)

// chatName is what a CHAT_INPUT command's or an option's name must match;
// it must also be lowercase where a letter has a lowercase form.
var chatName = regexp.MustCompile(`^[-_\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// locales Discord knows for name_localizations and description_localizations.
var locales = []string{"id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu",
	"nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
	"zh-CN", "ja", "zh-TW", "ko"}

// AppCommand is an application command as registered.
type AppCommand struct {
	ID                       string
	ApplicationID            string
	GuildID                  string // "" for a global command
	Version                  string
	Type                     int // 1 CHAT_INPUT, 2 USER, 3 MESSAGE
	Name                     string
	Description              string
	NameLocalizations        map[string]string
	DescriptionLocalizations map[string]string
	Options                  []CommandOption
	DefaultMemberPermissions *string
	Contexts                 []int
	NSFW                     bool
	Body                     json.RawMessage // the command as sent
}

// CommandOption is an option, subcommand or subcommand group.
type CommandOption struct {
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	Description              string            `json:"description"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Required                 bool              `json:"required,omitempty"`
	Choices                  []Choice          `json:"choices,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
	Autocomplete             bool              `json:"autocomplete,omitempty"`
	ChannelTypes             []int             `json:"channel_types,omitempty"`
	MinValue                 *float64          `json:"min_value,omitempty"`
	MaxValue                 *float64          `json:"max_value,omitempty"`
	MinLength                *int              `json:"min_length,omitempty"`
	MaxLength                *int              `json:"max_length,omitempty"`
}

// Choice is one of an option's fixed values.
type Choice struct {
	Name              string            `json:"name"`
	NameLocalizations map[string]string `json:"name_localizations,omitempty"`
	Value             any               `json:"value"` // string or float64, as JSON decodes it
}

type commandScope struct {
	commands   []AppCommand
	overwrites int
}

// Commands returns the commands registered in the guild ("" for the global
// ones) and how many times the scope was overwritten in bulk.
func (s *Server) Commands(guildID string) ([]AppCommand, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.commands[guildID]
	if sc == nil {
		return nil, 0
	}
	out := make([]AppCommand, len(sc.commands))
	for i, c := range sc.commands {
		c.Options = cloneOptions(c.Options)
		c.Body = slices.Clone(c.Body)
		out[i] = c
	}
	return out, sc.overwrites
}

func cloneOptions(opts []CommandOption) []CommandOption {
	if opts == nil {
		return nil
	}
	out := slices.Clone(opts)
	for i := range out {
		out[i].Choices = slices.Clone(opts[i].Choices)
		out[i].Options = cloneOptions(opts[i].Options)
	}
	return out
}

// commandIn is a command as the bulk overwrite body carries it.
type commandIn struct {
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	Description              string            `json:"description"`
	NameLocalizations        map[string]string `json:"name_localizations"`
	DescriptionLocalizations map[string]string `json:"description_localizations"`
	Options                  []CommandOption   `json:"options"`
	DefaultMemberPermissions json.RawMessage   `json:"default_member_permissions"`
	Contexts                 []int             `json:"contexts"`
	NSFW                     bool              `json:"nsfw"`
}

// scopeOf checks the application and guild of a commands route.
func scopeOf(r *request) (string, bool) {
	if r.params["application_id"] != ApplicationID {
		return "", false
	}
	guild, inGuild := r.params["guild_id"]
	if inGuild && guild != GuildID {
		return "", false
	}
	return guild, true
}

func (s *Server) listCommands(r *request) reply {
	scope, allowed := scopeOf(r)
	if !allowed {
		return missingAccess()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	if sc := s.commands[scope]; sc != nil {
		for i := range sc.commands {
			out = append(out, commandJSON(&sc.commands[i]))
		}
	}
	return ok(out)
}

// overwriteCommands is PUT .../commands: the body's commands replace the
// scope's, keeping the ids of those whose type and name stay.
func (s *Server) overwriteCommands(r *request) reply {
	scope, allowed := scopeOf(r)
	if !allowed {
		return missingAccess()
	}
	var raws []json.RawMessage
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, &raws); err != nil {
			var errs formErrors
			errs.add("", "BASE_TYPE_ARRAY", "Must be an array.")
			return errs.reply()
		}
	}
	var errs formErrors
	cmds := make([]commandIn, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &cmds[i]); err != nil {
			errs.add(path(i), "MODEL_TYPE_CONVERT", fmt.Sprintf("Could not interpret the command: %v", err))
		}
	}
	if !errs.empty() {
		return errs.reply()
	}
	checkCommands(&errs, cmds)
	if !errs.empty() {
		return errs.reply()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.commands[scope]
	if sc == nil {
		sc = &commandScope{}
		s.commands[scope] = sc
	}
	next := make([]AppCommand, len(cmds))
	out := make([]any, len(cmds))
	for i, in := range cmds {
		c := AppCommand{
			ApplicationID: ApplicationID, GuildID: scope, Version: s.nextID(), Type: max(in.Type, 1),
			Name: in.Name, Description: in.Description, NameLocalizations: in.NameLocalizations,
			DescriptionLocalizations: in.DescriptionLocalizations, Options: in.Options,
			Contexts: in.Contexts, NSFW: in.NSFW, Body: slices.Clone(raws[i]),
		}
		var perms string
		if json.Unmarshal(in.DefaultMemberPermissions, &perms) == nil {
			c.DefaultMemberPermissions = &perms
		}
		c.ID = s.nextID()
		if k := slices.IndexFunc(sc.commands, func(o AppCommand) bool { return o.Type == c.Type && o.Name == c.Name }); k >= 0 {
			c.ID = sc.commands[k].ID
		}
		next[i] = c
		out[i] = commandJSON(&next[i])
	}
	sc.commands = next
	sc.overwrites++
	s.notify()
	return ok(out)
}

func commandJSON(c *AppCommand) map[string]any {
	out := map[string]any{
		"id": c.ID, "application_id": c.ApplicationID, "version": c.Version, "type": c.Type,
		"name": c.Name, "description": c.Description, "default_member_permissions": nil,
		"nsfw": c.NSFW, "integration_types": []int{0}, "contexts": c.Contexts,
	}
	if c.DefaultMemberPermissions != nil {
		out["default_member_permissions"] = *c.DefaultMemberPermissions
	}
	if c.GuildID != "" {
		out["guild_id"] = c.GuildID
	} else {
		out["dm_permission"] = true
	}
	if c.NameLocalizations != nil {
		out["name_localizations"] = c.NameLocalizations
	}
	if c.DescriptionLocalizations != nil {
		out["description_localizations"] = c.DescriptionLocalizations
	}
	if len(c.Options) > 0 {
		out["options"] = c.Options
	}
	return out
}

// checkCommands applies Discord's rules to a bulk overwrite.
func checkCommands(errs *formErrors, cmds []commandIn) {
	chat := 0
	seen := map[string]bool{}
	for i, c := range cmds {
		typ := max(c.Type, 1)
		at := func(field ...any) string { return path(append([]any{i}, field...)...) }
		switch typ {
		case 1:
			chat++
			checkChatName(errs, at("name"), c.Name)
			errs.length(at("description"), c.Description, 1, commandDescLimit)
			checkLocalizations(errs, at(), c.NameLocalizations, c.DescriptionLocalizations, true)
			checkOptions(errs, at("options"), c.Options, 0)
		case 2, 3:
			errs.length(at("name"), c.Name, 1, commandNameLimit)
			errs.length(at("description"), c.Description, 0, 0)
			if len(c.Options) > 0 {
				errs.maxLength(at("options"), 0)
			}
			checkLocalizations(errs, at(), c.NameLocalizations, nil, false)
		default:
			errs.add(at("type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
			continue
		}
		key := fmt.Sprint(typ, "/", c.Name)
		if seen[key] {
			errs.add(at("name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
		if n := commandSize(c); n > commandSizeLimit {
			errs.add(at(), "APPLICATION_COMMAND_TOO_LARGE", fmt.Sprintf("Command exceeds maximum size (%d)", commandSizeLimit))
		}
	}
	if chat > commandLimit {
		errs.maxLength("", commandLimit)
	}
}

func checkChatName(errs *formErrors, at, name string) {
	if !chatName.MatchString(name) || strings.ToLower(name) != name {
		errs.add(at, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
	}
}

func checkLocalizations(errs *formErrors, at string, names, descriptions map[string]string, chat bool) {
	for locale, name := range names {
		switch {
		case !slices.Contains(locales, locale):
			errs.add(path(at, "name_localizations", locale), "LOCALE_INVALID", fmt.Sprintf("Invalid locale %q", locale))
		case chat:
			checkChatName(errs, path(at, "name_localizations", locale), name)
		default:
			errs.length(path(at, "name_localizations", locale), name, 1, commandNameLimit)
		}
	}
	for locale, d := range descriptions {
		if !slices.Contains(locales, locale) {
			errs.add(path(at, "description_localizations", locale), "LOCALE_INVALID", fmt.Sprintf("Invalid locale %q", locale))
			continue
		}
		errs.length(path(at, "description_localizations", locale), d, 1, commandDescLimit)
	}
}

// checkOptions checks one level of options: depth 0 is the command's, 1 a
// subcommand group's, 2 a subcommand's.
func checkOptions(errs *formErrors, at string, opts []CommandOption, depth int) {
	if len(opts) > optionLimit {
		errs.maxLength(at, optionLimit)
	}
	subs := slices.ContainsFunc(opts, isSubcommand)
	if subs && slices.ContainsFunc(opts, func(o CommandOption) bool { return !isSubcommand(o) }) {
		errs.add(at, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command and sub-command group option types are mutually exclusive to all other types")
	}
	names := map[string]bool{}
	optional := false
	for j, o := range opts {
		oat := path(at, j)
		if o.Type < 1 || o.Type > 11 {
			errs.add(path(oat, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.")
			continue
		}
		checkChatName(errs, path(oat, "name"), o.Name)
		errs.length(path(oat, "description"), o.Description, 1, commandDescLimit)
		checkLocalizations(errs, oat, o.NameLocalizations, o.DescriptionLocalizations, true)
		if names[o.Name] {
			errs.add(path(oat, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", fmt.Sprintf("Option name %s is already used in these options", o.Name))
		}
		names[o.Name] = true
		switch {
		case o.Type == 2 && depth == 0:
			if len(o.Options) == 0 {
				errs.badLength(path(oat, "options"), 1, optionLimit)
			}
			if slices.ContainsFunc(o.Options, func(c CommandOption) bool { return c.Type != 1 }) {
				errs.add(path(oat, "options"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "A sub-command group holds sub-commands only")
			}
			checkOptions(errs, path(oat, "options"), o.Options, 1)
		case o.Type == 1 && depth < 2:
			checkOptions(errs, path(oat, "options"), o.Options, 2)
		case isSubcommand(o):
			errs.add(path(oat, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-commands cannot be nested this deep")
		default:
			checkValueOption(errs, oat, o, &optional)
		}
	}
}

func checkValueOption(errs *formErrors, at string, o CommandOption, optional *bool) {
	if o.Required && *optional {
		errs.add(path(at, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
	}
	if !o.Required {
		*optional = true
	}
	if len(o.Options) > 0 {
		errs.maxLength(path(at, "options"), 0)
	}
	if len(o.Choices) > 0 {
		if o.Type != 3 && o.Type != 4 && o.Type != 10 {
			errs.add(path(at, "choices"), "APPLICATION_COMMAND_OPTION_CHOICES_INVALID", "Only string, integer and number options can have choices")
		}
		if o.Autocomplete {
			errs.add(path(at, "autocomplete"), "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID", "Autocomplete cannot be set on an option with choices")
		}
	}
	if len(o.Choices) > choiceLimit {
		errs.maxLength(path(at, "choices"), choiceLimit)
	}
	for k, c := range o.Choices {
		cat := path(at, "choices", k)
		errs.length(path(cat, "name"), c.Name, 1, choiceNameLimit)
		switch v := c.Value.(type) {
		case string:
			if o.Type != 3 {
				errs.add(path(cat, "value"), "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not a number.", v))
			}
			errs.length(path(cat, "value"), v, 1, choiceStringLimit)
		case float64:
			if o.Type == 3 {
				errs.add(path(cat, "value"), "BASE_TYPE_STRING", "Must be a string.")
			}
			if o.Type == 4 && v != math.Trunc(v) {
				errs.add(path(cat, "value"), "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %v is not int.", v))
			}
		default:
			errs.required(path(cat, "value"))
		}
	}
	for name, n := range map[string]*int{"min_length": o.MinLength, "max_length": o.MaxLength} {
		if n != nil && (*n < 0 || *n > optionMaxLengthHigh) {
			errs.add(path(at, name), "NUMBER_TYPE_MAX", fmt.Sprintf("int value should be less than or equal to %d.", optionMaxLengthHigh))
		}
	}
}

// commandSize is what Discord counts against 8000 characters: names,
// descriptions and choices, all the way down.
func commandSize(c commandIn) int {
	n := runes(c.Name) + runes(c.Description)
	var walk func([]CommandOption)
	walk = func(opts []CommandOption) {
		for _, o := range opts {
			n += runes(o.Name) + runes(o.Description)
			for _, ch := range o.Choices {
				n += runes(ch.Name) + runes(fmt.Sprint(ch.Value))
			}
			walk(o.Options)
		}
	}
	walk(c.Options)
	return n
}

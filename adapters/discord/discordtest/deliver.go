package discordtest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

type interactionRecord struct {
	i         Interaction
	at        time.Time // when Discord delivered it
	acked     bool
	original  string // the message @original means
	responses []Response
}

func (r *interactionRecord) user() any {
	switch {
	case r.i.Member != nil:
		return r.i.Member.User
	case r.i.User != nil:
		return *r.i.User
	}
	return nil
}

// modalField is a text input of an opened modal.
type modalField struct {
	customID string
	required bool
}

// Interact delivers the interaction as INTERACTION_CREATE to the newest
// identified session, as Discord picks one of the bot's connections, and
// starts its response deadline.
func (s *Server) Interact(i Interaction) (*Pending, error) {
	s.mu.Lock()
	sess := s.newest()
	if sess == nil {
		s.mu.Unlock()
		return nil, ErrNoSession
	}
	rec, err := s.prepare(i, false)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	raw, err := json.Marshal(rec.i)
	if err != nil {
		s.forget(rec)
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: interaction: %w", err)
	}
	rec.at = time.Now()
	s.mu.Unlock()
	if err := s.dispatch(sess, "INTERACTION_CREATE", raw); err != nil {
		s.mu.Lock()
		s.forget(rec)
		s.mu.Unlock()
		return nil, err
	}
	return &Pending{Interaction: rec.i, srv: s}, nil
}

// forget: s.mu is held.
func (s *Server) forget(rec *interactionRecord) {
	delete(s.interactions, rec.i.ID)
	delete(s.tokens, rec.i.Token)
}

// prepare fills and checks an interaction and records it; s.mu is held.
func (s *Server) prepare(i Interaction, viaHTTP bool) (*interactionRecord, error) {
	i.Data = maps.Clone(i.Data)
	i.ApplicationID = ApplicationID
	i.Version = 1
	i.Locale = cmp.Or(i.Locale, "en-US")
	switch i.Type {
	case InteractionPing:
		if !viaHTTP {
			return nil, fmt.Errorf("discordtest: Discord sends PING only to an HTTP interactions endpoint")
		}
	case InteractionCommand, InteractionComponent, InteractionAutocomplete, InteractionModalSubmit:
		if i.Member == nil && i.User == nil {
			return nil, fmt.Errorf("discordtest: an interaction needs a Member (in a guild) or a User (in a DM)")
		}
		if i.Member != nil {
			i.GuildID = cmp.Or(i.GuildID, GuildID)
		}
		ch := s.channels[i.ChannelID]
		if ch == nil {
			return nil, fmt.Errorf("discordtest: no channel %q (AddChannel first): Discord delivers interactions from channels that exist", i.ChannelID)
		}
		i.channel = s.channelJSON(ch)
		i.channel["permissions"] = memberPermissions
	default:
		return nil, fmt.Errorf("discordtest: no interaction type %d", i.Type)
	}
	var err error
	switch i.Type {
	case InteractionCommand, InteractionAutocomplete:
		err = s.resolveCommand(&i)
	case InteractionComponent:
		err = s.resolveButton(&i)
	case InteractionModalSubmit:
		err = s.resolveModal(&i)
	}
	if err != nil {
		return nil, err
	}
	i.ID = s.nextID()
	i.Token = base64.RawURLEncoding.EncodeToString([]byte("interaction:" + i.ID + ":" + randomHex(48)))
	rec := &interactionRecord{i: i, at: time.Now()}
	s.interactions[i.ID] = rec
	s.tokens[i.Token] = rec
	return rec, nil
}

// commandData is data of an APPLICATION_COMMAND interaction.
type commandData struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Type     int             `json:"type"`
	GuildID  string          `json:"guild_id,omitempty"`
	Options  []optionValue   `json:"options,omitempty"`
	Resolved json.RawMessage `json:"resolved,omitempty"`
}

func remarshal(from, into any) error {
	raw, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

// resolveCommand finds the registered command and binds the options to its
// schema; s.mu is held.
func (s *Server) resolveCommand(i *Interaction) error {
	var data commandData
	if err := remarshal(i.Data, &data); err != nil {
		return fmt.Errorf("discordtest: command data: %w", err)
	}
	data.Type = cmp.Or(data.Type, 1)
	var cmd *AppCommand
	for _, scope := range []string{i.GuildID, ""} {
		if sc := s.commands[scope]; sc != nil && (scope == "" || i.Member != nil) {
			if k := slices.IndexFunc(sc.commands, func(c AppCommand) bool { return c.Name == data.Name && c.Type == data.Type }); k >= 0 {
				cmd = &sc.commands[k]
				break
			}
		}
	}
	if cmd == nil {
		return fmt.Errorf("discordtest: /%s is not registered (ApplicationCommandBulkOverwrite first): Discord cannot deliver it", data.Name)
	}
	data.ID, data.GuildID = cmd.ID, cmd.GuildID
	if i.Type == InteractionCommand {
		opts, err := bindOptions(cmd.Options, data.Options, "/"+data.Name)
		if err != nil {
			return err
		}
		data.Options = opts
	}
	i.Data = nil
	return remarshal(data, &i.Data)
}

// bindOptions checks the options a user gave against the registered ones
// and returns them in the registered order with the registered types.
func bindOptions(schema []CommandOption, given []optionValue, where string) ([]optionValue, error) {
	if slices.ContainsFunc(schema, isSubcommand) {
		if len(given) != 1 {
			return nil, fmt.Errorf("discordtest: %s takes one subcommand, got %d options", where, len(given))
		}
		g := given[0]
		k := slices.IndexFunc(schema, func(o CommandOption) bool { return o.Name == g.Name })
		if k < 0 || !isSubcommand(schema[k]) {
			return nil, fmt.Errorf("discordtest: %s has no subcommand %q", where, g.Name)
		}
		inner, err := bindOptions(schema[k].Options, g.Options, where+" "+g.Name)
		if err != nil {
			return nil, err
		}
		return []optionValue{{Name: g.Name, Type: schema[k].Type, Options: inner}}, nil
	}
	byName := map[string]optionValue{}
	for _, g := range given {
		if g.Type == 0 {
			return nil, fmt.Errorf("discordtest: %s %s: a %v cannot be an option value", where, g.Name, g.Value)
		}
		if !slices.ContainsFunc(schema, func(o CommandOption) bool { return o.Name == g.Name }) {
			return nil, fmt.Errorf("discordtest: %s has no option %q", where, g.Name)
		}
		byName[g.Name] = g
	}
	var out []optionValue
	for _, o := range schema {
		g, found := byName[o.Name]
		if !found {
			if o.Required {
				return nil, fmt.Errorf("discordtest: %s: the required option %q is missing", where, o.Name)
			}
			continue
		}
		if g.Type != o.Type && !(o.Type == 10 && g.Type == 4) {
			return nil, fmt.Errorf("discordtest: %s %s: registered as %s, given a %s value", where, o.Name, optionTypeName(o.Type), optionTypeName(g.Type))
		}
		if len(o.Choices) > 0 && !slices.ContainsFunc(o.Choices, func(c Choice) bool { return c.Value == g.Value }) {
			return nil, fmt.Errorf("discordtest: %s %s: %v is not one of the registered choices", where, o.Name, g.Value)
		}
		g.Type = o.Type
		out = append(out, g)
	}
	return out, nil
}

func isSubcommand(o CommandOption) bool { return o.Type == 1 || o.Type == 2 }

func optionTypeName(t int) string {
	names := map[int]string{1: "SUB_COMMAND", 2: "SUB_COMMAND_GROUP", 3: "STRING", 4: "INTEGER", 5: "BOOLEAN",
		6: "USER", 7: "CHANNEL", 8: "ROLE", 9: "MENTIONABLE", 10: "NUMBER", 11: "ATTACHMENT"}
	return cmp.Or(names[t], "type "+strconv.Itoa(t))
}

// resolveButton puts the clicked message in the interaction; s.mu is held.
func (s *Server) resolveButton(i *Interaction) error {
	messageID, _ := i.Message["id"].(string)
	customID, _ := i.Data["custom_id"].(string)
	m := s.findMessage(messageID)
	if m == nil || m.ChannelID != i.ChannelID {
		return fmt.Errorf("discordtest: no message %s from the bot in channel %s", messageID, i.ChannelID)
	}
	b, found := m.Button(customID)
	switch {
	case !found:
		return fmt.Errorf("discordtest: message %s has no button %q", messageID, customID)
	case b.Disabled:
		return fmt.Errorf("discordtest: the button %q is disabled: nobody can click it", customID)
	case b.Style == ButtonLink || b.Style == ButtonPremium:
		return fmt.Errorf("discordtest: the button %q opens a link: Discord sends no interaction", customID)
	}
	i.Message = s.messageJSON(m)
	i.Data["component_type"] = ComponentButton
	return nil
}

// resolveModal checks the submitted inputs against the opened modal;
// s.mu is held.
func (s *Server) resolveModal(i *Interaction) error {
	customID, _ := i.Data["custom_id"].(string)
	fields, opened := s.modals[customID]
	if !opened {
		return fmt.Errorf("discordtest: no modal %q was opened (a type 9 response opens one)", customID)
	}
	var rows []Component
	if err := remarshal(i.Data["components"], &rows); err != nil {
		return fmt.Errorf("discordtest: modal components: %w", err)
	}
	values := map[string]string{}
	for _, row := range rows {
		for _, c := range row.Components {
			if !slices.ContainsFunc(fields, func(f modalField) bool { return f.customID == c.CustomID }) {
				return fmt.Errorf("discordtest: the modal %q has no input %q", customID, c.CustomID)
			}
			values[c.CustomID] = c.Value
		}
	}
	var out []any
	for _, f := range fields {
		v := values[f.customID]
		if v == "" && f.required {
			return fmt.Errorf("discordtest: the modal %q requires %q: Discord does not let the user submit without it", customID, f.customID)
		}
		out = append(out, map[string]any{"type": ComponentActionRow, "components": []any{
			map[string]any{"type": ComponentTextInput, "custom_id": f.customID, "value": v},
		}})
	}
	i.Data["components"] = out
	return nil
}

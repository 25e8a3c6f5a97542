package discordtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Interaction types.
const (
	InteractionPing         = 1
	InteractionCommand      = 2
	InteractionComponent    = 3
	InteractionAutocomplete = 4
	InteractionModalSubmit  = 5
)

// CommandName is the application command Hotline registers.
const CommandName = "incident"

// memberPermissions is what a member holding no special role may do:
// view channels, send messages, use application commands and the like.
const memberPermissions = "2248473465835073"

// User is a Discord user in an interaction, an option value or a reaction.
type User struct {
	ID         string
	Username   string // default: "user" and the id's last four digits
	GlobalName string // the display name; none by default
}

// MarshalJSON writes the user object Discord sends.
func (u User) MarshalJSON() ([]byte, error) {
	var global any
	if u.GlobalName != "" {
		global = u.GlobalName
	}
	return json.Marshal(map[string]any{
		"id": u.ID, "username": cmp.Or(u.Username, "user"+lastDigits(u.ID)), "global_name": global,
		"discriminator": "0", "avatar": nil, "public_flags": 0, "avatar_decoration_data": nil,
	})
}

func lastDigits(id string) string { return id[max(0, len(id)-4):] }

// Member is a guild member: the user and their role ids.
type Member struct {
	User        User
	Roles       []string
	Nick        string
	Permissions string // default: an ordinary member's
}

// MarshalJSON writes the guild member object Discord sends with an
// interaction.
func (m Member) MarshalJSON() ([]byte, error) {
	out := m.partial()
	out["user"] = m.User
	return json.Marshal(out)
}

// partial is the member without its user, as data.resolved.members has it.
func (m Member) partial() map[string]any {
	var nick any
	if m.Nick != "" {
		nick = m.Nick
	}
	roles := m.Roles
	if roles == nil {
		roles = []string{}
	}
	return map[string]any{
		"roles": roles, "nick": nick, "avatar": nil, "joined_at": "2024-04-01T00:00:00.000000+00:00",
		"premium_since": nil, "deaf": false, "mute": false, "pending": false, "flags": 0,
		"communication_disabled_until": nil, "permissions": cmp.Or(m.Permissions, memberPermissions),
	}
}

// Interaction is an interaction as Discord delivers it. The builders
// (Command, Button, ModalSubmit, Ping) fill what a user's action decides;
// Interact and SignedRequest fill the rest (id, token, application_id,
// version, guild) and check it against what the bot registered and sent.
type Interaction struct {
	ID            string
	ApplicationID string
	Type          int
	Token         string
	Version       int
	GuildID       string // default GuildID when Member is set
	ChannelID     string
	Member        *Member // in a guild
	User          *User   // in a DM, instead of Member
	Data          map[string]any
	Message       map[string]any // the message a clicked component is on
	Locale        string         // default "en-US"

	channel map[string]any
}

// MarshalJSON writes the interaction object Discord sends.
func (i Interaction) MarshalJSON() ([]byte, error) {
	out := map[string]any{
		"id": i.ID, "application_id": i.ApplicationID, "type": i.Type, "token": i.Token, "version": i.Version,
		"entitlements": []any{}, "entitlement_sku_ids": []any{}, "app_permissions": memberPermissions,
	}
	if i.Type != InteractionPing {
		out["data"] = i.Data
		out["channel_id"] = i.ChannelID
		out["channel"] = i.channel
		out["locale"] = i.Locale
	}
	switch {
	case i.Member != nil:
		out["guild_id"] = i.GuildID
		out["guild_locale"] = "en-US"
		out["guild"] = map[string]any{"id": i.GuildID, "locale": "en-US", "features": []any{}}
		out["member"] = i.Member
		out["context"] = 0
		out["authorizing_integration_owners"] = map[string]any{"0": i.GuildID}
	case i.User != nil:
		out["user"] = i.User
		out["context"] = 1
		out["authorizing_integration_owners"] = map[string]any{"1": i.User.ID}
	}
	if i.Message != nil {
		out["message"] = i.Message
	}
	return json.Marshal(out)
}

// optionValue is an option of data.options as Discord sends it.
type optionValue struct {
	Name    string        `json:"name"`
	Type    int           `json:"type"`
	Value   any           `json:"value,omitempty"`
	Options []optionValue `json:"options,omitempty"`
}

// Command is /incident <sub> name:value... typed by userID in channelID.
// Option types follow the Go values: string is STRING (3), an integer
// INTEGER (4), float64 NUMBER (10), bool BOOLEAN (5), User USER (6, with
// data.resolved.users and members). Interact puts the options in the
// registered order and checks them against the registered schema.
func Command(channelID, userID string, roles []string, sub string, opts map[string]any) Interaction {
	return ChatCommand(CommandName, channelID, userID, roles, sub, opts)
}

// ChatCommand is Command for another command name; sub may be "" for a
// command without subcommands.
func ChatCommand(name, channelID, userID string, roles []string, sub string, opts map[string]any) Interaction {
	var options []optionValue
	users, members := map[string]any{}, map[string]any{}
	for _, n := range slices.Sorted(maps.Keys(opts)) {
		o := optionValue{Name: n}
		switch v := opts[n].(type) {
		case string:
			o.Type, o.Value = 3, v
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			o.Type, o.Value = 4, v
		case float32, float64:
			o.Type, o.Value = 10, v
		case bool:
			o.Type, o.Value = 5, v
		case User:
			o.Type, o.Value = 6, v.ID
			users[v.ID], members[v.ID] = v, Member{User: v}.partial()
		case *User:
			o.Type, o.Value = 6, v.ID
			users[v.ID], members[v.ID] = *v, Member{User: *v}.partial()
		default:
			o.Value = fmt.Sprintf("%T", v) // Interact refuses type 0, naming the Go type
		}
		options = append(options, o)
	}
	data := map[string]any{"name": name, "type": 1}
	if sub != "" {
		options = []optionValue{{Name: sub, Type: 1, Options: options}}
	}
	if len(options) > 0 {
		data["options"] = options
	}
	if len(users) > 0 {
		data["resolved"] = map[string]any{"users": users, "members": members}
	}
	return Interaction{Type: InteractionCommand, ChannelID: channelID, Member: &Member{User: User{ID: userID}, Roles: roles}, Data: data}
}

// Button is userID clicking the button customID on a message the bot sent.
// Interact fills in the message as Discord holds it and refuses a button
// the message does not have, a disabled one or a link.
func Button(channelID, messageID, userID string, roles []string, customID string) Interaction {
	return Interaction{
		Type: InteractionComponent, ChannelID: channelID, Member: &Member{User: User{ID: userID}, Roles: roles},
		Data:    map[string]any{"custom_id": customID, "component_type": ComponentButton},
		Message: map[string]any{"id": messageID, "channel_id": channelID},
	}
}

// ModalSubmit is userID submitting the modal customID (opened by a type 9
// response) with text input values by custom_id. Interact refuses a modal
// never opened, an input it does not have, a required one left out.
func ModalSubmit(channelID, userID, customID string, fields map[string]string) Interaction {
	var rows []any
	for _, id := range slices.Sorted(maps.Keys(fields)) {
		rows = append(rows, map[string]any{"type": ComponentActionRow, "components": []any{
			map[string]any{"type": ComponentTextInput, "custom_id": id, "value": fields[id]},
		}})
	}
	return Interaction{
		Type: InteractionModalSubmit, ChannelID: channelID, Member: &Member{User: User{ID: userID}},
		Data: map[string]any{"custom_id": customID, "components": rows},
	}
}

// Ping is the PING Discord sends to an HTTP interactions endpoint (never
// over the gateway); the answer must be {"type": 1}.
func Ping() Interaction { return Interaction{Type: InteractionPing} }

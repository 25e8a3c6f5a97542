package discordtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Message flags the fake looks at.
const (
	FlagSuppressEmbeds = 1 << 2
	FlagEphemeral      = 1 << 6
	FlagLoading        = 1 << 7
	FlagComponentsV2   = 1 << 15
)

// Embed is a rich embed as sent.
type Embed struct {
	Type        string       `json:"type,omitempty"`
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	URL         string       `json:"url,omitempty"`
	Timestamp   string       `json:"timestamp,omitempty"`
	Color       int          `json:"color,omitempty"`
	Footer      *EmbedFooter `json:"footer,omitempty"`
	Image       *EmbedMedia  `json:"image,omitempty"`
	Thumbnail   *EmbedMedia  `json:"thumbnail,omitempty"`
	Author      *EmbedAuthor `json:"author,omitempty"`
	Fields      []EmbedField `json:"fields,omitempty"`
}

// EmbedField is one name/value pair of an embed.
type EmbedField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

// EmbedFooter is an embed's footer.
type EmbedFooter struct {
	Text    string `json:"text"`
	IconURL string `json:"icon_url,omitempty"`
}

// EmbedAuthor is an embed's author line.
type EmbedAuthor struct {
	Name    string `json:"name"`
	URL     string `json:"url,omitempty"`
	IconURL string `json:"icon_url,omitempty"`
}

// EmbedMedia is an embed's image or thumbnail.
type EmbedMedia struct {
	URL string `json:"url"`
}

// Component is a message component as sent: an action row (Type 1) holds
// buttons (2), select menus (3, 5-8); a modal's rows hold text inputs (4).
type Component struct {
	Type        int            `json:"type"`
	CustomID    string         `json:"custom_id,omitempty"`
	Label       string         `json:"label,omitempty"`
	Style       int            `json:"style,omitempty"`
	URL         string         `json:"url,omitempty"`
	Disabled    bool           `json:"disabled,omitempty"`
	Emoji       *Emoji         `json:"emoji,omitempty"`
	Placeholder string         `json:"placeholder,omitempty"`
	Options     []SelectOption `json:"options,omitempty"`
	MinValues   *int           `json:"min_values,omitempty"`
	MaxValues   int            `json:"max_values,omitempty"`
	Value       string         `json:"value,omitempty"`      // text input
	Required    *bool          `json:"required,omitempty"`   // text input; Discord's default is true
	MinLength   int            `json:"min_length,omitempty"` // text input
	MaxLength   int            `json:"max_length,omitempty"` // text input
	Components  []Component    `json:"components,omitempty"`
}

// SelectOption is one choice of a string select menu.
type SelectOption struct {
	Label       string `json:"label"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
	Default     bool   `json:"default,omitempty"`
}

// Emoji is a component's or a reaction's emoji: a unicode one by Name, a
// custom one by ID.
type Emoji struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// AllowedMentions is the allowed_mentions object as sent.
type AllowedMentions struct {
	Parse       []string `json:"parse"`
	Users       []string `json:"users,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	RepliedUser bool     `json:"replied_user,omitempty"`
}

// Component types.
const (
	ComponentActionRow = 1
	ComponentButton    = 2
	ComponentSelect    = 3
	ComponentTextInput = 4
)

// Button styles.
const (
	ButtonPrimary   = 1
	ButtonSecondary = 2
	ButtonSuccess   = 3
	ButtonDanger    = 4
	ButtonLink      = 5
	ButtonPremium   = 6
)

// payload is the message part of a create, an edit, a follow-up or an
// interaction response, with which fields the body carried: an edit
// changes only those.
type payload struct {
	present    map[string]bool
	content    string
	embeds     []Embed
	components []Component
	rawComps   json.RawMessage
	allowed    *AllowedMentions
	replyTo    *messageReference
	flags      int
	files      []string
	stickers   bool
	poll       bool
	// modal (type 9) and autocomplete (type 8) responses
	customID string
	title    string
	choices  []json.RawMessage
}

type messageReference struct {
	MessageID       string `json:"message_id"`
	ChannelID       string `json:"channel_id,omitempty"`
	FailIfNotExists *bool  `json:"fail_if_not_exists,omitempty"`
}

// parsePayload decodes the message fields of a JSON body. A field sent as
// null counts as absent: discordgo sends "embeds": null and "components":
// null for "none" in creates and interaction responses.
func parsePayload(raw []byte, files []string, errs *formErrors) payload {
	p := payload{present: map[string]bool{}, files: files}
	var fields map[string]json.RawMessage
	if len(raw) == 0 {
		return p
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		errs.add("", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
		return p
	}
	decode := func(key string, into any) {
		v, ok := fields[key]
		if !ok || string(v) == "null" {
			return
		}
		p.present[key] = true
		if err := json.Unmarshal(v, into); err != nil {
			errs.add(key, "MODEL_TYPE_CONVERT", fmt.Sprintf("Could not interpret %s: %v", v, err))
		}
	}
	decode("content", &p.content)
	decode("embeds", &p.embeds)
	decode("components", &p.components)
	if p.present["components"] {
		p.rawComps = fields["components"]
	}
	decode("allowed_mentions", &p.allowed)
	decode("message_reference", &p.replyTo)
	decode("flags", &p.flags)
	decode("custom_id", &p.customID)
	decode("title", &p.title)
	decode("choices", &p.choices)
	var stickers []string
	decode("sticker_ids", &stickers)
	p.stickers = len(stickers) > 0
	if v, ok := fields["poll"]; ok && string(v) != "null" {
		p.present["poll"], p.poll = true, true
	}
	return p
}

// empty says the message would show nothing.
func (p *payload) empty() bool {
	return p.content == "" && len(p.embeds) == 0 && len(p.components) == 0 && len(p.files) == 0 && !p.stickers && !p.poll
}

// pingsEveryone says whether a created message notifies @everyone or
// @here: the content names them and allowed_mentions, when sent, parses
// "everyone".
func pingsEveryone(content string, allowed *AllowedMentions) bool {
	if !strings.Contains(content, "@everyone") && !strings.Contains(content, "@here") {
		return false
	}
	return allowed == nil || slices.Contains(allowed.Parse, "everyone")
}

package discordtest

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Discord's limits on a message
// (https://discord.com/developers/docs/resources/message#create-message,
// .../resources/message#embed-object-embed-limits,
// .../interactions/message-components).
const (
	contentLimit     = 2000
	embedLimit       = 10
	embedTotalLimit  = 6000
	titleLimit       = 256
	descriptionLimit = 4096
	fieldLimit       = 25
	fieldNameLimit   = 256
	fieldValueLimit  = 1024
	footerLimit      = 2048
	authorLimit      = 256
	rowLimit         = 5
	rowWidth         = 5
	labelLimit       = 80
	customIDLimit    = 100
	mentionIDLimit   = 100
)

// check applies Discord's limits to the fields the payload carries.
func (p *payload) check(errs *formErrors) {
	v2 := p.flags&FlagComponentsV2 != 0
	if v2 && (p.content != "" || len(p.embeds) > 0) {
		errs.add("content", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
			"The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2")
	}
	if n := len([]rune(p.content)); n > contentLimit {
		errs.maxLength("content", contentLimit)
	}
	checkEmbeds(errs, p.embeds)
	checkComponents(errs, p.components, v2)
	if p.allowed != nil {
		checkAllowedMentions(errs, p.allowed)
	}
}

func checkEmbeds(errs *formErrors, embeds []Embed) {
	if len(embeds) > embedLimit {
		errs.maxLength("embeds", embedLimit)
	}
	total := 0
	for i, e := range embeds {
		at := func(field ...any) string { return path(append([]any{"embeds", i}, field...)...) }
		errs.length(at("title"), e.Title, 0, titleLimit)
		errs.length(at("description"), e.Description, 0, descriptionLimit)
		total += runes(e.Title) + runes(e.Description)
		if e.URL != "" && !webURL(e.URL) {
			errs.add(at("url"), "URL_TYPE_INVALID_URL", "Not a well formed URL.")
		}
		if e.Timestamp != "" {
			if _, err := time.Parse(time.RFC3339, e.Timestamp); err != nil {
				errs.add(at("timestamp"), "DATE_TIME_TYPE_PARSE", fmt.Sprintf("Could not parse %s. Should be ISO8601.", e.Timestamp))
			}
		}
		if e.Color < 0 || e.Color > 0xFFFFFF {
			errs.add(at("color"), "NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215.")
		}
		if len(e.Fields) > fieldLimit {
			errs.maxLength(at("fields"), fieldLimit)
		}
		for j, f := range e.Fields {
			errs.length(at("fields", j, "name"), f.Name, 1, fieldNameLimit)
			errs.length(at("fields", j, "value"), f.Value, 1, fieldValueLimit)
			total += runes(f.Name) + runes(f.Value)
		}
		if e.Footer != nil {
			errs.length(at("footer", "text"), e.Footer.Text, 1, footerLimit)
			total += runes(e.Footer.Text)
		}
		if e.Author != nil {
			errs.length(at("author", "name"), e.Author.Name, 1, authorLimit)
			total += runes(e.Author.Name)
		}
		for name, m := range map[string]*EmbedMedia{"image": e.Image, "thumbnail": e.Thumbnail} {
			if m != nil && !webURL(m.URL) && !strings.HasPrefix(m.URL, "attachment://") {
				errs.add(at(name, "url"), "URL_TYPE_INVALID_URL", "Not a well formed URL.")
			}
		}
	}
	if total > embedTotalLimit {
		errs.add("embeds", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Embed size exceeds maximum size of %d", embedTotalLimit))
	}
}

func checkComponents(errs *formErrors, rows []Component, v2 bool) {
	seen := map[string]bool{}
	if v2 {
		// Components v2 layouts are not checked beyond their buttons.
		var walk func(prefix string, cs []Component)
		walk = func(prefix string, cs []Component) {
			for i, c := range cs {
				at := path(prefix, i)
				if c.Type == ComponentButton {
					checkButton(errs, at, c, seen)
				}
				walk(path(at, "components"), c.Components)
			}
		}
		walk("components", rows)
		return
	}
	if len(rows) > rowLimit {
		errs.maxLength("components", rowLimit)
	}
	for i, row := range rows {
		at := path("components", i)
		if row.Type != ComponentActionRow {
			errs.add(path(at, "type"), "UNION_TYPE_CHOICES", `Value of field "type" must be one of (1,).`)
			continue
		}
		if n := len(row.Components); n == 0 || n > rowWidth {
			errs.badLength(path(at, "components"), 1, rowWidth)
		}
		for j, c := range row.Components {
			cat := path(at, "components", j)
			switch {
			case c.Type == ComponentButton:
				checkButton(errs, cat, c, seen)
			case isSelect(c.Type):
				if len(row.Components) > 1 {
					errs.add(path(at, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
				}
				checkCustomID(errs, cat, c.CustomID, seen)
				if c.Type == ComponentSelect && (len(c.Options) == 0 || len(c.Options) > 25) {
					errs.badLength(path(cat, "options"), 1, 25)
				}
				errs.length(path(cat, "placeholder"), c.Placeholder, 0, 150)
			default:
				errs.add(path(cat, "type"), "UNION_TYPE_CHOICES", `Value of field "type" must be one of (2, 3, 5, 6, 7, 8).`)
			}
		}
	}
}

func isSelect(t int) bool { return t == ComponentSelect || (t >= 5 && t <= 8) }

func checkButton(errs *formErrors, at string, b Component, seen map[string]bool) {
	if b.Style < 1 || b.Style > ButtonPremium {
		errs.add(path(at, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
	}
	errs.length(path(at, "label"), b.Label, 0, labelLimit)
	if b.Label == "" && b.Emoji == nil && b.Style != ButtonPremium {
		errs.add(path(at, "label"), "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A label or an emoji is required")
	}
	switch b.Style {
	case ButtonLink:
		if b.CustomID != "" {
			errs.add(path(at, "custom_id"), "BUTTON_COMPONENT_LINK_HAS_CUSTOM_ID", "A link button cannot have a custom_id")
		}
		if !webURL(b.URL) {
			errs.add(path(at, "url"), "URL_TYPE_INVALID_URL", "Not a well formed URL.")
		}
	case ButtonPremium:
	default:
		if b.URL != "" {
			errs.add(path(at, "url"), "BUTTON_COMPONENT_URL_NOT_ALLOWED", "Only link buttons can have a url")
		}
		checkCustomID(errs, at, b.CustomID, seen)
	}
}

// checkCustomID wants custom_id 1-100 characters and unique within the
// message, disabled components included.
func checkCustomID(errs *formErrors, at, id string, seen map[string]bool) {
	errs.length(path(at, "custom_id"), id, 1, customIDLimit)
	if id == "" {
		return
	}
	if seen[id] {
		errs.add(path(at, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id was already specified")
	}
	seen[id] = true
}

func checkAllowedMentions(errs *formErrors, a *AllowedMentions) {
	for i, kind := range a.Parse {
		if kind != "roles" && kind != "users" && kind != "everyone" {
			errs.add(path("allowed_mentions", "parse", i), "BASE_TYPE_CHOICES", "Value must be one of ('roles', 'users', 'everyone').")
		}
	}
	if slices.Contains(a.Parse, "users") && len(a.Users) > 0 {
		errs.add("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", `parse:["users"] and users: [ids...] are mutually exclusive.`)
	}
	if slices.Contains(a.Parse, "roles") && len(a.Roles) > 0 {
		errs.add("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", `parse:["roles"] and roles: [ids...] are mutually exclusive.`)
	}
	if len(a.Users) > mentionIDLimit {
		errs.maxLength("allowed_mentions.users", mentionIDLimit)
	}
	if len(a.Roles) > mentionIDLimit {
		errs.maxLength("allowed_mentions.roles", mentionIDLimit)
	}
}

// Modal limits.
const (
	modalTitleLimit = 45
	inputLabelLimit = 45
	inputValueLimit = 4000
)

// checkModal applies Discord's rules to a type 9 response's data: a
// custom_id, a title, one to five rows of one text input each.
func checkModal(errs *formErrors, p *payload) []modalField {
	errs.length("custom_id", p.customID, 1, customIDLimit)
	errs.length("title", p.title, 1, modalTitleLimit)
	if n := len(p.components); n == 0 || n > rowLimit {
		errs.badLength("components", 1, rowLimit)
	}
	seen := map[string]bool{}
	var fields []modalField
	for i, row := range p.components {
		at := path("components", i)
		if row.Type != ComponentActionRow || len(row.Components) != 1 || row.Components[0].Type != ComponentTextInput {
			errs.add(at, "MODAL_ROW_INVALID", "A modal row must be an action row holding one text input")
			continue
		}
		in := row.Components[0]
		at = path(at, "components", 0)
		checkCustomID(errs, at, in.CustomID, seen)
		errs.length(path(at, "label"), in.Label, 1, inputLabelLimit)
		if in.Style != 1 && in.Style != 2 {
			errs.add(path(at, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
		}
		errs.length(path(at, "value"), in.Value, 0, inputValueLimit)
		errs.length(path(at, "placeholder"), in.Placeholder, 0, 100)
		if in.MinLength < 0 || in.MinLength > inputValueLimit {
			errs.add(path(at, "min_length"), "NUMBER_TYPE_MAX", "int value should be less than or equal to 4000.")
		}
		if in.MaxLength < 0 || in.MaxLength > inputValueLimit {
			errs.add(path(at, "max_length"), "NUMBER_TYPE_MAX", "int value should be less than or equal to 4000.")
		}
		fields = append(fields, modalField{customID: in.CustomID, required: in.Required == nil || *in.Required})
	}
	return fields
}

func runes(s string) int { return len([]rune(s)) }

func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

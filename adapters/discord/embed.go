package discord

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chattext"
)

// Discord's limits (https://discord.com/developers/docs/resources/message).
const (
	contentLimit     = 2000
	embedTitleLimit  = 256
	embedDescLimit   = 4096
	fieldValueLimit  = 1024
	threadNameLimit  = 100
	buttonLabelLimit = 80
)

// The buttons' custom ids are "<action>:<incident number>".
const (
	buttonAck      = "incident.ack"
	buttonOwn      = "incident.own"
	buttonResolve  = "incident.resolve"
	buttonEscalate = "incident.escalate"
)

// embedFooter signs every root message, so FindIncident tells Hotline's
// roots from other embeds that name an incident.
const embedFooter = "Hotline"

// Embed colours: the severity while open, green once resolved.
var (
	severityColors = map[bot.Severity]int{
		bot.Sev1: 0xD83C3E, // red
		bot.Sev2: 0xF0883E, // orange
		bot.Sev3: 0xE3B341, // yellow
		bot.Sev4: 0x5865F2, // blurple
	}
	resolvedColor = 0x3BA55D
)

// statusMarks lead each status in the embed.
var statusMarks = map[bot.Status]string{
	bot.StatusTriggered:    "🔴",
	bot.StatusAcknowledged: "🟡",
	bot.StatusResolved:     "✅",
}

// discordMarkup is how chattext's words are written in Discord markdown.
var discordMarkup = chattext.Markup{
	Escape: escapeMarkdown,
	Bold:   func(s string) string { return "**" + s + "**" },
	Italic: func(s string) string { return "*" + s + "*" },
	Time:   func(t time.Time) string { return fmt.Sprintf("<t:%d:t>", t.Unix()) },
	Here:   "@here",
}

// IncidentMessage renders an incident's root message: an embed with the
// reference and title, its state as fields and the severity's colour, and
// the buttons that still make sense for its status (none once resolved).
func IncidentMessage(inc bot.Incident, serviceName, locale string) ([]*discordgo.MessageEmbed, []discordgo.MessageComponent) {
	t := chattext.For(locale)
	title := inc.Ref()
	if s := chattext.SingleLine(inc.Title); s != "" {
		title += " " + s
	}
	embed := &discordgo.MessageEmbed{
		Type:   discordgo.EmbedTypeRich,
		Title:  chattext.CutRunes(title, embedTitleLimit),
		Color:  severityColors[inc.Severity],
		Footer: &discordgo.MessageEmbedFooter{Text: embedFooter},
	}
	if inc.Status == bot.StatusResolved {
		embed.Color = resolvedColor
	}
	if len([]rune(title)) > embedTitleLimit {
		// The title holds 256 characters; the whole of it still has to be
		// readable.
		embed.Description = chattext.CutRunes(escapeMarkdown(inc.Title), embedDescLimit)
	}
	owner := inc.Owner
	if owner == "" {
		owner = t.Nobody
	}
	status := t.Statuses[inc.Status]
	if status == "" {
		status = string(inc.Status)
	}
	if mark := statusMarks[inc.Status]; mark != "" {
		status = mark + " " + status
	}
	field := func(name, value string) *discordgo.MessageEmbedField {
		return &discordgo.MessageEmbedField{Name: name, Value: chattext.CutRunes(value, fieldValueLimit), Inline: true}
	}
	embed.Fields = []*discordgo.MessageEmbedField{
		field(t.Severity, string(inc.Severity)),
		field(t.Status, status),
		field(t.Owner, escapeMarkdown(owner)),
		field(t.Service, escapeMarkdown(cmp.Or(serviceName, inc.Service))),
	}
	if inc.Priority != "" {
		embed.Fields = append(embed.Fields, field(t.Priority, string(inc.Priority)))
	}
	if !inc.CreatedAt.IsZero() {
		// Discord shows <t:…> in each reader's own time zone.
		embed.Fields = append(embed.Fields, field(t.Created, fmt.Sprintf("<t:%d:f>", inc.CreatedAt.Unix())))
		embed.Timestamp = inc.CreatedAt.UTC().Format(time.RFC3339)
	}
	buttons := incidentButtons(inc, t)
	if len(buttons) == 0 {
		return []*discordgo.MessageEmbed{embed}, nil
	}
	return []*discordgo.MessageEmbed{embed}, []discordgo.MessageComponent{discordgo.ActionsRow{Components: buttons}}
}

// incidentButtons are the actions left for the incident's status: all four
// while triggered, ownership and resolve once acknowledged, none when
// resolved.
func incidentButtons(inc bot.Incident, t chattext.Texts) []discordgo.MessageComponent {
	if inc.Status == bot.StatusResolved {
		return nil
	}
	number := strconv.FormatInt(inc.Number, 10)
	button := func(action, label string, style discordgo.ButtonStyle) discordgo.MessageComponent {
		return discordgo.Button{CustomID: action + ":" + number, Label: chattext.CutRunes(label, buttonLabelLimit), Style: style}
	}
	triggered := inc.Status == bot.StatusTriggered
	var out []discordgo.MessageComponent
	if triggered {
		out = append(out, button(buttonAck, t.Ack, discordgo.PrimaryButton))
	}
	out = append(out, button(buttonOwn, t.Own, discordgo.SecondaryButton), button(buttonResolve, t.Resolve, discordgo.SuccessButton))
	if triggered {
		out = append(out, button(buttonEscalate, t.CallNow, discordgo.DangerButton))
	}
	return out
}

// parseButton reads a button's custom id into its action and incident.
func parseButton(customID string) (action string, number int64, ok bool) {
	action, n, found := strings.Cut(customID, ":")
	if !found {
		return "", 0, false
	}
	number, err := strconv.ParseInt(n, 10, 64)
	if err != nil || number <= 0 {
		return "", 0, false
	}
	return action, number, true
}

// markdownEscaper escapes what Discord markdown reads as formatting, links
// or mentions anywhere in a line (headings and lists only start one).
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`, ">", `\>`, "<", `\<`,
	"[", `\[`, "]", `\]`,
	// A zero-width space after "@" keeps @everyone, @here and the like
	// from being read as mentions even where they would be allowed.
	"@", "@\u200b",
)

// escapeMarkdown makes text from outside (alerts, notes) show as written:
// no formatting, links or mentions of its own.
func escapeMarkdown(s string) string { return markdownEscaper.Replace(s) }

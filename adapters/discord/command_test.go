package discord

import (
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/commands"
)

// invoke builds /incident <sub> as Discord sends it: option values are
// strings, float64 for integers, and user ids for users.
func invoke(sub string, opts ...any) discordgo.ApplicationCommandInteractionData {
	o := &discordgo.ApplicationCommandInteractionDataOption{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand}
	for i := 0; i+1 < len(opts); i += 2 {
		typ := discordgo.ApplicationCommandOptionString
		if _, ok := opts[i+1].(float64); ok {
			typ = discordgo.ApplicationCommandOptionInteger
		}
		o.Options = append(o.Options, &discordgo.ApplicationCommandInteractionDataOption{Name: opts[i].(string), Type: typ, Value: opts[i+1]})
	}
	return discordgo.ApplicationCommandInteractionData{Name: CommandName, Options: []*discordgo.ApplicationCommandInteractionDataOption{o}}
}

func TestCommandText(t *testing.T) {
	tests := []struct {
		data discordgo.ApplicationCommandInteractionData
		want string
	}{
		{invoke("ack"), "ack"},
		{invoke("ack", "incident", "INC-3"), "ack INC-3"},
		{invoke("ack", "incident", "3"), "ack INC-3"},
		{invoke("own", "incident", "#4"), "own INC-4"},
		{invoke("assign", "user", "1001", "incident", "INC-3"), "assign INC-3 <@1001>"},
		{invoke("sev", "level", 1.0), "sev 1"},
		{invoke("sev", "incident", "INC-3", "level", 4.0), "sev INC-3 4"},
		{invoke("classify", "impact", "high"), "classify impact=high"},
		{invoke("classify", "impact", "low", "urgency", "medium", "incident", "INC-9"), "classify INC-9 impact=low urgency=medium"},
		{invoke("status", "phase", "monitoring"), "status monitoring"},
		{invoke("note", "text", "rebooted db01 ＠ 10:00"), "note rebooted db01 ＠ 10:00"},
		{invoke("resolve", "incident", "INC-2", "summary", "disk cleaned"), "resolve INC-2 disk cleaned"},
		{invoke("resolve"), "resolve"},
		{invoke("escalate", "incident", "INC-2"), "escalate INC-2"},
		{invoke("new", "title", "API latency high", "severity", "sev2"), "new API latency high sev2"},
		{invoke("list"), "list"},
		{invoke("show", "incident", "INC-8"), "show INC-8"},
		{invoke("timeline"), "timeline"},
		{invoke("oncall"), "oncall"},
		{invoke("oncall", "schedule", "infra"), "oncall infra"},
		{invoke("oncall", "override", "1002", "duration", "2h", "schedule", "infra"), "oncall override <@1002> 2h infra"},
		{invoke("postmortem", "incident", "INC-2", "cause", "old logs", "followups", "rotate logs"), "postmortem INC-2 cause=old logs followups=rotate logs"},
		{invoke("help", "command", "assign"), "help assign"},
	}
	for _, tt := range tests {
		got, err := commandText(tt.data)
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.data.Options[0].Name, got, err, tt.want)
		}
		// Every text parses, so Discord's options speak the same language.
		if _, err := commands.Parse(got); err != nil {
			t.Errorf("%q does not parse: %v", got, err)
		}
	}
}

func TestCommandTextRefusals(t *testing.T) {
	tests := map[string]discordgo.ApplicationCommandInteractionData{
		"another command":   {Name: "other"},
		"no subcommand":     {Name: CommandName},
		"bad incident":      invoke("ack", "incident", "INC-x"),
		"level not integer": invoke("sev", "level", "two"),
		"level fraction":    invoke("sev", "level", 1.5),
		"text not string":   invoke("note", "text", 3.0),
	}
	for name, data := range tests {
		if got, err := commandText(data); err == nil {
			t.Errorf("%s: %q, want an error", name, got)
		}
	}
}

var commandNamePattern = regexp.MustCompile(`^[-_\p{Ll}\p{Lo}\p{N}]{1,32}$`)

// TestCommandsWithinDiscordLimits checks what Discord refuses at
// registration: names, description lengths, counts and option order.
func TestCommandsWithinDiscordLimits(t *testing.T) {
	cmds := Commands()
	if len(cmds) != 1 || cmds[0].Name != CommandName {
		t.Fatalf("want one command /%s, got %d", CommandName, len(cmds))
	}
	var check func(path string, opts []*discordgo.ApplicationCommandOption)
	description := func(path, d string, locs map[discordgo.Locale]string) {
		if n := utf8.RuneCountInString(d); n < 1 || n > 100 {
			t.Errorf("%s: description has %d characters, want 1–100", path, n)
		}
		for l, ld := range locs {
			if n := utf8.RuneCountInString(ld); n < 1 || n > 100 {
				t.Errorf("%s (%s): description has %d characters", path, l, n)
			}
		}
	}
	check = func(path string, opts []*discordgo.ApplicationCommandOption) {
		if len(opts) > 25 {
			t.Errorf("%s: %d options, max 25", path, len(opts))
		}
		optional := false
		seen := map[string]bool{}
		for _, o := range opts {
			p := path + " " + o.Name
			if !commandNamePattern.MatchString(o.Name) || seen[o.Name] {
				t.Errorf("%s: bad or repeated name", p)
			}
			seen[o.Name] = true
			description(p, o.Description, o.DescriptionLocalizations)
			if o.Required && optional {
				t.Errorf("%s: required option after an optional one", p)
			}
			optional = optional || !o.Required
			if len(o.Choices) > 25 {
				t.Errorf("%s: %d choices", p, len(o.Choices))
			}
			check(p, o.Options)
		}
	}
	description("/incident", cmds[0].Description, *cmds[0].DescriptionLocalizations)
	check("/incident", cmds[0].Options)

	// Every verb of the command language has its subcommand.
	subs := map[string]bool{}
	for _, o := range cmds[0].Options {
		subs[o.Name] = true
	}
	for _, verb := range []string{commands.VerbAck, commands.VerbOwn, commands.VerbAssign, commands.VerbSev, commands.VerbClassify,
		commands.VerbStatus, commands.VerbNote, commands.VerbEscalate, commands.VerbResolve, commands.VerbNew, commands.VerbList,
		commands.VerbShow, commands.VerbTimeline, commands.VerbOnCall, commands.VerbPostmortem, commands.VerbHelp} {
		if !subs[verb] {
			t.Errorf("no subcommand for %s", verb)
		}
	}
}

func TestEmojiFor(t *testing.T) {
	for in, want := range map[string]string{"eyes": "👀", ":white_check_mark:": "✅", "raising_hand": "🙋", "👍": "👍", "custom_ack": "custom_ack"} {
		if got := emojiFor(in); got != want {
			t.Errorf("emojiFor(%q) = %q, want %q", in, got, want)
		}
	}
}

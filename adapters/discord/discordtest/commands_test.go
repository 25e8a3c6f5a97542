package discordtest_test

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
)

// incidentCommand is a /incident like the one Hotline registers.
func incidentCommand() *discordgo.ApplicationCommand {
	incident := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "incident",
		Description: "The incident, e.g. INC-7", Required: true}
	return &discordgo.ApplicationCommand{
		Name: "incident", Description: "Incident response",
		DescriptionLocalizations: &map[discordgo.Locale]string{discordgo.Japanese: "インシデント対応"},
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "ack", Description: "Acknowledge",
				Options: []*discordgo.ApplicationCommandOption{incident}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "assign", Description: "Hand over",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: "The new owner", Required: true},
					incident,
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "priority", Description: "Set the priority",
				Options: []*discordgo.ApplicationCommandOption{
					incident,
					{Type: discordgo.ApplicationCommandOptionInteger, Name: "level", Description: "1 (worst) to 4", Required: true,
						Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "P1", Value: 1}, {Name: "P2", Value: 2}}},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", Description: "Open incidents"},
		},
	}
}

func TestBulkOverwriteCommands(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	created, err := dg.ApplicationCommandBulkOverwrite(discordtest.ApplicationID, discordtest.GuildID, []*discordgo.ApplicationCommand{incidentCommand()})
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1 || created[0].ID == "" || created[0].GuildID != discordtest.GuildID || created[0].ApplicationID != discordtest.ApplicationID ||
		len(created[0].Options) != 4 || created[0].Options[2].Options[1].Choices[0].Name != "P1" {
		t.Fatalf("created %+v", created)
	}
	again, err := dg.ApplicationCommandBulkOverwrite(discordtest.ApplicationID, discordtest.GuildID, []*discordgo.ApplicationCommand{incidentCommand()})
	if err != nil || again[0].ID != created[0].ID {
		t.Errorf("second overwrite: %v, id %v, want the id kept", err, again)
	}
	cmds, overwrites := s.Commands(discordtest.GuildID)
	if len(cmds) != 1 || overwrites != 2 || cmds[0].Name != "incident" || cmds[0].Options[1].Options[0].Type != 6 ||
		cmds[0].DescriptionLocalizations["ja"] != "インシデント対応" {
		t.Errorf("guild commands %+v, %d overwrites", cmds, overwrites)
	}
	if global, n := s.Commands(""); len(global) != 0 || n != 0 {
		t.Errorf("global commands %+v %d, want none", global, n)
	}
	if _, err := dg.ApplicationCommandBulkOverwrite(discordtest.ApplicationID, "", []*discordgo.ApplicationCommand{incidentCommand()}); err != nil {
		t.Fatal(err)
	}
	if global, n := s.Commands(""); len(global) != 1 || n != 1 || global[0].GuildID != "" {
		t.Errorf("global commands %+v %d", global, n)
	}
	listed, err := dg.ApplicationCommands(discordtest.ApplicationID, discordtest.GuildID)
	if err != nil || len(listed) != 1 || listed[0].ID != created[0].ID {
		t.Errorf("list: %+v %v", listed, err)
	}
	_, err = dg.ApplicationCommandBulkOverwrite("900000000000000099", "", []*discordgo.ApplicationCommand{incidentCommand()})
	if status, code, _ := apiError(err); status != 403 || code != 50001 {
		t.Errorf("another application's commands: %d %d, want 403 50001", status, code)
	}
	_, err = dg.ApplicationCommandBulkOverwrite(discordtest.ApplicationID, "900000000000000098", []*discordgo.ApplicationCommand{incidentCommand()})
	if status, code, _ := apiError(err); status != 403 || code != 50001 {
		t.Errorf("a guild the bot is not in: %d %d, want 403 50001", status, code)
	}
}

func TestCommandRefusals(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	options := func(n int) []*discordgo.ApplicationCommandOption {
		out := make([]*discordgo.ApplicationCommandOption, n)
		for i := range out {
			out[i] = &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "o" + strings.Repeat("x", i), Description: "d"}
		}
		return out
	}
	choices := make([]*discordgo.ApplicationCommandOptionChoice, 26)
	for i := range choices {
		choices[i] = &discordgo.ApplicationCommandOptionChoice{Name: "c", Value: "c"}
	}
	for _, tc := range []struct {
		name string
		mod  func(c *discordgo.ApplicationCommand)
		path string
	}{
		{"upper case name", func(c *discordgo.ApplicationCommand) { c.Name = "Incident" }, "0.name"},
		{"space in name", func(c *discordgo.ApplicationCommand) { c.Name = "in cident" }, "0.name"},
		{"33-character name", func(c *discordgo.ApplicationCommand) { c.Name = strings.Repeat("x", 33) }, "0.name"},
		{"no description", func(c *discordgo.ApplicationCommand) { c.Description = "" }, "0.description"},
		{"101-character description", func(c *discordgo.ApplicationCommand) { c.Description = strings.Repeat("x", 101) }, "0.description"},
		{"bad locale", func(c *discordgo.ApplicationCommand) {
			c.DescriptionLocalizations = &map[discordgo.Locale]string{"jp": "x"}
		}, "0.description_localizations.jp"},
		{"26 subcommands", func(c *discordgo.ApplicationCommand) {
			for i := range 22 {
				c.Options = append(c.Options, &discordgo.ApplicationCommandOption{Type: 1, Name: "s" + strings.Repeat("x", i), Description: "d"})
			}
		}, "0.options"},
		{"26 options", func(c *discordgo.ApplicationCommand) { c.Options[0].Options = options(26) }, "0.options.0.options"},
		{"subcommand name", func(c *discordgo.ApplicationCommand) { c.Options[0].Name = "Ack" }, "0.options.0.name"},
		{"option description", func(c *discordgo.ApplicationCommand) { c.Options[1].Options[0].Description = "" }, "0.options.1.options.0.description"},
		{"26 choices", func(c *discordgo.ApplicationCommand) {
			c.Options[0].Options = []*discordgo.ApplicationCommandOption{{Type: 3, Name: "c", Description: "d", Choices: choices}}
		}, "0.options.0.options.0.choices"},
		{"required after optional", func(c *discordgo.ApplicationCommand) {
			c.Options[0].Options = []*discordgo.ApplicationCommandOption{
				{Type: 3, Name: "a", Description: "d"}, {Type: 3, Name: "b", Description: "d", Required: true}}
		}, "0.options.0.options.1.required"},
		{"subcommands mixed with options", func(c *discordgo.ApplicationCommand) {
			c.Options = append(c.Options, &discordgo.ApplicationCommandOption{Type: 3, Name: "x", Description: "d"})
		}, "0.options"},
		{"duplicate option", func(c *discordgo.ApplicationCommand) { c.Options[1].Name = "ack" }, "0.options.1.name"},
	} {
		cmd := incidentCommand()
		tc.mod(cmd)
		_, err := dg.ApplicationCommandBulkOverwrite(discordtest.ApplicationID, discordtest.GuildID, []*discordgo.ApplicationCommand{cmd})
		status, code, body := apiError(err)
		if status != 400 || code != 50035 || !formErrorAt(body, tc.path) {
			t.Errorf("%s: %d %d %v, want 400 50035 naming %s", tc.name, status, code, body, tc.path)
		}
	}
	if cmds, n := s.Commands(discordtest.GuildID); len(cmds) != 0 || n != 0 {
		t.Errorf("refused commands were stored: %+v %d", cmds, n)
	}
	two := []*discordgo.ApplicationCommand{incidentCommand(), incidentCommand()}
	_, err := dg.ApplicationCommandBulkOverwrite(discordtest.ApplicationID, discordtest.GuildID, two)
	if _, code, body := apiError(err); code != 50035 || !formErrorAt(body, "1.name") {
		t.Errorf("two commands named alike: %d %v", code, body)
	}
}

package discordtest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
)

const (
	tanaka = "910000000000000042"
	suzuki = "910000000000000043"
	oncall = "910000000000000050" // a role
)

// openWithCommands opens a gateway session, registers /incident in the
// guild and forwards INTERACTION_CREATE to the returned channel.
func openWithCommands(t *testing.T, s *discordtest.Server) (*discordgo.Session, <-chan *discordgo.InteractionCreate) {
	t.Helper()
	dg := openSession(t, s, hotlineIntents)
	if _, err := dg.ApplicationCommandBulkOverwrite(discordtest.ApplicationID, discordtest.GuildID, []*discordgo.ApplicationCommand{incidentCommand()}); err != nil {
		t.Fatal(err)
	}
	return dg, events[*discordgo.InteractionCreate](dg)
}

func TestCommandInteraction(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	dg, interactions := openWithCommands(t, s)
	cmds, _ := s.Commands(discordtest.GuildID)

	p, err := s.Interact(discordtest.Command(channel, tanaka, []string{oncall}, "assign",
		map[string]any{"incident": "INC-7", "user": discordtest.User{ID: suzuki, GlobalName: "Suzuki"}}))
	if err != nil {
		t.Fatal(err)
	}
	i := receive(t, interactions).Interaction
	if i.Type != discordgo.InteractionApplicationCommand || i.ID != p.Interaction.ID || i.Token != p.Interaction.Token || i.Token == "" ||
		i.AppID != discordtest.ApplicationID || i.Version != 1 || i.GuildID != discordtest.GuildID || i.ChannelID != channel ||
		i.Member == nil || i.Member.User.ID != tanaka || len(i.Member.Roles) != 1 || i.Member.Roles[0] != oncall || i.Member.Permissions == 0 {
		t.Errorf("interaction %+v", i)
	}
	data := i.ApplicationCommandData()
	sub := data.Options[0]
	if data.Name != "incident" || data.ID != cmds[0].ID || sub.Name != "assign" || sub.Type != discordgo.ApplicationCommandOptionSubCommand ||
		len(sub.Options) != 2 || sub.Options[0].Name != "user" || sub.Options[1].StringValue() != "INC-7" {
		t.Errorf("data %+v, options %+v", data, sub.Options)
	}
	if u := sub.GetOption("user").UserValue(nil); u.ID != suzuki || data.Resolved == nil || data.Resolved.Users[suzuki].GlobalName != "Suzuki" {
		t.Errorf("user option %+v, resolved %+v", u, data.Resolved)
	}

	err = dg.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "INC-7 → <@" + suzuki + ">"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Wait(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Kind != discordtest.KindCallback || resp.Type != discordtest.ResponseMessage || resp.Content != "INC-7 → <@"+suzuki+">" || resp.Ephemeral() {
		t.Errorf("response %+v", resp)
	}
	msgs := s.Messages(channel)
	if len(msgs) != 1 || msgs[0].ID != resp.MessageID || msgs[0].InteractionID != i.ID {
		t.Errorf("channel messages %+v, want the response", msgs)
	}

	err = dg.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "again"}})
	if status, code, body := apiError(err); status != 400 || code != 40060 || body["message"] != "Interaction has already been acknowledged." {
		t.Errorf("second response: %d %d %v, want 400 40060", status, code, body)
	}
	if n := len(s.Responses(i.ID)); n != 1 {
		t.Errorf("%d responses recorded, want 1", n)
	}

	// Integers, choices; options in the registered order whatever the map.
	p, err = s.Interact(discordtest.Command(channel, tanaka, nil, "priority", map[string]any{"level": 1, "incident": "INC-7"}))
	if err != nil {
		t.Fatal(err)
	}
	opts := receive(t, interactions).ApplicationCommandData().Options[0].Options
	if opts[0].Name != "incident" || opts[1].IntValue() != 1 {
		t.Errorf("priority options %+v", opts)
	}

	for name, bad := range map[string]discordtest.Interaction{
		"unregistered command": discordtest.ChatCommand("page", channel, tanaka, nil, "", nil),
		"unknown subcommand":   discordtest.Command(channel, tanaka, nil, "frobnicate", nil),
		"missing option":       discordtest.Command(channel, tanaka, nil, "ack", nil),
		"unknown option":       discordtest.Command(channel, tanaka, nil, "ack", map[string]any{"incident": "INC-7", "why": "x"}),
		"integer for a string": discordtest.Command(channel, tanaka, nil, "ack", map[string]any{"incident": 7}),
		"string for a user":    discordtest.Command(channel, tanaka, nil, "assign", map[string]any{"incident": "INC-7", "user": suzuki}),
		"not a choice":         discordtest.Command(channel, tanaka, nil, "priority", map[string]any{"incident": "INC-7", "level": 3}),
		"unsupported value":    discordtest.Command(channel, tanaka, nil, "ack", map[string]any{"incident": []string{"INC-7"}}),
		"unknown channel":      discordtest.Command("910000000000000999", tanaka, nil, "ack", map[string]any{"incident": "INC-7"}),
		"gateway ping":         discordtest.Ping(),
	} {
		if _, err := s.Interact(bad); err == nil {
			t.Errorf("%s: delivered", name)
		}
	}
}

func TestDeferredResponseEditsAndFollowups(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	dg, interactions := openWithCommands(t, s)
	ack := discordtest.Command(channel, tanaka, nil, "ack", map[string]any{"incident": "INC-7"})

	// A follow-up before any response: the webhook does not exist yet.
	p, err := s.Interact(ack)
	if err != nil {
		t.Fatal(err)
	}
	early := receive(t, interactions).Interaction
	_, err = dg.FollowupMessageCreate(early, true, &discordgo.WebhookParams{Content: "too early"})
	if status, code, _ := apiError(err); status != 404 || code != 10015 {
		t.Errorf("follow-up before the response: %d %d, want 404 10015", status, code)
	}

	// Defer, edit the original, follow up twice.
	if err := dg.InteractionRespond(early, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatal(err)
	}
	first, err := p.Wait(ctx(t))
	if err != nil || first.Type != discordtest.ResponseDeferredMessage {
		t.Fatalf("deferred: %+v %v", first, err)
	}
	if m, _ := s.Message(first.MessageID); m.Flags&discordtest.FlagLoading == 0 {
		t.Errorf("the deferred message %+v is not loading", m)
	}
	done := "INC-7 acknowledged"
	edited, err := dg.InteractionResponseEdit(early, &discordgo.WebhookEdit{Content: &done})
	if err != nil || edited.ID != first.MessageID || edited.Content != done {
		t.Fatalf("edit @original: %+v %v", edited, err)
	}
	followed, err := dg.FollowupMessageCreate(early, true, &discordgo.WebhookParams{Content: "@here INC-7 needs eyes",
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeEveryone}}})
	if err != nil || followed == nil || followed.ID == first.MessageID || followed.WebhookID != discordtest.ApplicationID {
		t.Fatalf("follow-up (wait): %+v %v", followed, err)
	}
	if m, err := dg.FollowupMessageCreate(early, false, &discordgo.WebhookParams{Content: "quietly"}); err != nil || m != nil {
		t.Errorf("follow-up (no wait): %+v %v, want no message back", m, err)
	}
	var kinds []string
	for _, r := range s.Responses(early.ID) {
		kinds = append(kinds, string(r.Kind)+":"+r.Content)
	}
	want := []string{"callback:", "edit:" + done, "followup:@here INC-7 needs eyes", "followup:quietly"}
	if len(kinds) != len(want) || kinds[1] != want[1] || kinds[2] != want[2] || kinds[3] != want[3] {
		t.Errorf("responses %q, want %q", kinds, want)
	}
	msgs := s.Messages(channel)
	if len(msgs) != 3 || msgs[0].Content != done || msgs[0].Edits != 1 || msgs[0].Flags&discordtest.FlagLoading != 0 {
		t.Errorf("channel messages %+v", msgs)
	}
	if n := s.EveryoneMentions(); n != 1 {
		t.Errorf("EveryoneMentions %d, want the follow-up's 1", n)
	}

	// The first follow-up after a defer takes the place of "thinking...".
	p, err = s.Interact(ack)
	if err != nil {
		t.Fatal(err)
	}
	second := receive(t, interactions).Interaction
	if err := dg.InteractionRespond(second, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}); err != nil {
		t.Fatal(err)
	}
	deferred, _ := p.Wait(ctx(t))
	filled, err := dg.FollowupMessageCreate(second, true, &discordgo.WebhookParams{Content: "only you see this"})
	if err != nil || filled.ID != deferred.MessageID {
		t.Errorf("first follow-up after a defer: %+v %v, want it to fill %s", filled, err, deferred.MessageID)
	}
	if m, _ := s.Message(deferred.MessageID); !m.Ephemeral || m.Content != "only you see this" {
		t.Errorf("filled message %+v", m)
	}
	if n := len(s.Messages(channel)); n != 3 {
		t.Errorf("%d channel messages, want the ephemeral one left out", n)
	}
}

func TestButtonsAndModals(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	dg, interactions := openWithCommands(t, s)
	m, err := dg.ChannelMessageSendComplex(channel, incidentMessage())
	if err != nil {
		t.Fatal(err)
	}

	p, err := s.Interact(discordtest.Button(channel, m.ID, tanaka, []string{oncall}, "ack:INC-7"))
	if err != nil {
		t.Fatal(err)
	}
	click := receive(t, interactions).Interaction
	data := click.MessageComponentData()
	if click.Type != discordgo.InteractionMessageComponent || data.CustomID != "ack:INC-7" || data.ComponentType != discordgo.ButtonComponent ||
		click.Message == nil || click.Message.ID != m.ID || len(click.Message.Embeds) != 1 || click.Message.Embeds[0].Title != "INC-7 Database down" {
		t.Errorf("click %+v, data %+v", click, data)
	}
	err = dg.InteractionRespond(click, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "INC-7 acknowledged by tanaka", Components: []discordgo.MessageComponent{}}})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := p.Wait(ctx(t)); r.Type != discordtest.ResponseUpdate || r.MessageID != m.ID || r.Content != "INC-7 acknowledged by tanaka" {
		t.Errorf("update response %+v", r)
	}
	if got, _ := s.Message(m.ID); got.Edits != 1 || len(got.Buttons()) != 0 || got.Content != "INC-7 acknowledged by tanaka" || len(got.Embeds) != 1 {
		t.Errorf("message after the update %+v", got)
	}
	if _, err := s.Interact(discordtest.Button(channel, m.ID, tanaka, nil, "resolve:INC-7")); err == nil {
		t.Error("clicked a button the update removed")
	}

	// A button opens a modal; its submission carries the inputs.
	withNote, err := dg.ChannelMessageSendComplex(channel, &discordgo.MessageSend{Content: "INC-8", Components: []discordgo.MessageComponent{
		discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Note", CustomID: "note:INC-8"},
			discordgo.Button{Label: "Closed", CustomID: "closed:INC-8", Disabled: true},
			discordgo.Button{Label: "Runbook", URL: "https://runbooks.example", Style: discordgo.LinkButton},
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"closed:INC-8", "https://runbooks.example", "nope"} {
		if _, err := s.Interact(discordtest.Button(channel, withNote.ID, tanaka, nil, id)); err == nil {
			t.Errorf("clicked %q", id)
		}
	}
	if _, err := s.Interact(discordtest.Button(channel, withNote.ID, tanaka, nil, "note:INC-8")); err != nil {
		t.Fatal(err)
	}
	click = receive(t, interactions).Interaction
	modal := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: "note-modal:INC-8", Title: "Add a note", Components: []discordgo.MessageComponent{
			discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{CustomID: "note", Label: "Note", Style: discordgo.TextInputParagraph, Required: true}}},
			discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{CustomID: "link", Label: "Link", Style: discordgo.TextInputShort}}},
		}}}
	if err := dg.InteractionRespond(click, modal); err != nil {
		t.Fatal(err)
	}
	if r := s.Responses(click.ID); len(r) != 1 || r[0].Type != discordtest.ResponseModal || r[0].CustomID != "note-modal:INC-8" || r[0].Title != "Add a note" {
		t.Errorf("modal response %+v", r)
	}

	for name, bad := range map[string]discordtest.Interaction{
		"modal never opened": discordtest.ModalSubmit(channel, tanaka, "other-modal", map[string]string{"note": "x"}),
		"required left out":  discordtest.ModalSubmit(channel, tanaka, "note-modal:INC-8", map[string]string{"link": "x"}),
		"unknown input":      discordtest.ModalSubmit(channel, tanaka, "note-modal:INC-8", map[string]string{"note": "x", "why": "y"}),
	} {
		if _, err := s.Interact(bad); err == nil {
			t.Errorf("%s: delivered", name)
		}
	}
	p, err = s.Interact(discordtest.ModalSubmit(channel, tanaka, "note-modal:INC-8", map[string]string{"note": "restarted the primary"}))
	if err != nil {
		t.Fatal(err)
	}
	submit := receive(t, interactions).Interaction
	sd := submit.ModalSubmitData()
	if submit.Type != discordgo.InteractionModalSubmit || sd.CustomID != "note-modal:INC-8" || len(sd.Components) != 2 {
		t.Fatalf("submit %+v", sd)
	}
	if in := sd.Components[0].(*discordgo.ActionsRow).Components[0].(*discordgo.TextInput); in.CustomID != "note" || in.Value != "restarted the primary" {
		t.Errorf("note input %+v", in)
	}
	err = dg.InteractionRespond(submit, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "Noted.", Flags: discordgo.MessageFlagsEphemeral}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx(t))
	if err != nil || !r.Ephemeral() || r.Content != "Noted." {
		t.Errorf("ephemeral reply %+v %v", r, err)
	}
	for _, msg := range s.Messages(channel) {
		if msg.Content == "Noted." {
			t.Error("an ephemeral reply is among the channel's messages")
		}
	}
}

func TestLateWrongAndInvalidCallbacks(t *testing.T) {
	t.Parallel()
	s := newServer(t, discordtest.WithInteractionDeadline(150*time.Millisecond))
	dg, interactions := openWithCommands(t, s)
	ack := discordtest.Command(channel, tanaka, nil, "ack", map[string]any{"incident": "INC-7"})

	p, err := s.Interact(ack)
	if err != nil {
		t.Fatal(err)
	}
	late := receive(t, interactions).Interaction
	if _, err := p.Wait(ctx(t)); !errors.Is(err, discordtest.ErrNoResponse) {
		t.Fatalf("no response: %v, want ErrNoResponse", err)
	}
	err = dg.InteractionRespond(late, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	if status, code, body := apiError(err); status != 404 || code != 10062 || body["message"] != "Unknown interaction" {
		t.Errorf("late response: %d %d %v, want 404 10062", status, code, body)
	}

	forged := *late
	forged.Token = "not-the-token"
	err = dg.InteractionRespond(&forged, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	if _, code, _ := apiError(err); code != 10062 {
		t.Errorf("wrong token: %d, want 10062", code)
	}

	if _, err := s.Interact(ack); err != nil {
		t.Fatal(err)
	}
	i := receive(t, interactions).Interaction
	err = dg.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "x"}})
	if _, code, body := apiError(err); code != 50035 || !formErrorAt(body, "type") {
		t.Errorf("UPDATE_MESSAGE to a command: %d %v, want 50035 at type", code, body)
	}
	err = dg.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{}})
	if _, code, _ := apiError(err); code != 50006 {
		t.Errorf("empty response: %d, want 50006", code)
	}
	err = dg.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Embeds: []*discordgo.MessageEmbed{{Title: strings.Repeat("x", 300)}}}})
	if _, code, body := apiError(err); code != 50035 || !formErrorAt(body, "data.embeds.0.title") {
		t.Errorf("long title in a response: %d %v, want 50035 at data.embeds.0.title", code, body)
	}
	// Refusals did not use up the one response.
	if err := dg.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "ok"}}); err != nil {
		t.Errorf("a valid response after refused ones: %v", err)
	}
}

func TestInteractWithoutSession(t *testing.T) {
	s := newServer(t)
	if _, err := s.Interact(discordtest.Command(channel, tanaka, nil, "ack", map[string]any{"incident": "INC-7"})); !errors.Is(err, discordtest.ErrNoSession) {
		t.Errorf("interact with nobody connected: %v, want ErrNoSession", err)
	}
	if err := s.Dispatch("TYPING_START", map[string]any{}); !errors.Is(err, discordtest.ErrNoSession) {
		t.Errorf("dispatch with nobody connected: %v, want ErrNoSession", err)
	}
}

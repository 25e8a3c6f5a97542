package discord

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

// RunGateway holds the gateway session until ctx ends: it connects with
// Hotline's intents, registers /incident (a bulk overwrite, so what Discord
// shows is exactly this version's command) and then receives interactions
// and reactions. discordgo reconnects by itself when the connection drops.
// Only one replica runs it at a time (bot.RunLeader), so each event is
// received once; interactions are deduplicated anyway.
func (h *Inbound) RunGateway(ctx context.Context) error {
	if err := h.session.Open(); err != nil {
		return fmt.Errorf("discord gateway: %w", err)
	}
	h.log.InfoContext(ctx, "discord gateway connected")
	defer func() {
		if err := h.session.Close(); err != nil {
			h.log.WarnContext(ctx, "discord gateway close", "err", err)
		}
		h.log.InfoContext(ctx, "discord gateway closed")
	}()
	if err := h.RegisterCommands(ctx); err != nil {
		// The commands registered before still work; buttons and reactions
		// do not need them.
		h.log.ErrorContext(ctx, "discord /incident not registered", "err", err)
	}
	<-ctx.Done()
	return nil
}

// RegisterCommands overwrites the application's commands with /incident,
// in the configured guild or globally.
func (h *Inbound) RegisterCommands(ctx context.Context) error {
	h.mu.Lock()
	app := cmpOr(h.appID, h.readyApp)
	h.mu.Unlock()
	if app == "" {
		return fmt.Errorf("no application id: set chat.discord.application_id")
	}
	cmds, err := h.session.ApplicationCommandBulkOverwrite(app, h.guildID, Commands(), discordgo.WithContext(ctx))
	if err := classify(ctx, "register commands", err); err != nil {
		return err
	}
	scope := "global"
	if h.guildID != "" {
		scope = "guild " + h.guildID
	}
	h.log.InfoContext(ctx, "discord commands registered", "scope", scope, "commands", len(cmds))
	return nil
}

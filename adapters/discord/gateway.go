package discord

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bwmarrin/discordgo"
)

// errGatewayLost ends a gateway term whose connection dropped; the leader
// loop starts a new one.
var errGatewayLost = errors.New("discord gateway: connection lost")

// RunGateway holds a gateway session until ctx ends or the connection
// drops: it connects with Hotline's intents, registers /incident (a bulk
// overwrite, so what Discord shows is exactly this version's command) and
// receives interactions and reactions. Only one replica runs it at a time
// (bot.RunLeader), so each event is received once; interactions are
// deduplicated anyway.
//
// Each term has a session of its own that never reconnects by itself:
// discordgo's reconnect could otherwise revive a session after Close, on a
// replica that no longer holds the lease. A dropped connection returns
// errGatewayLost and the leader loop connects again.
func (h *Inbound) RunGateway(ctx context.Context) error {
	gw, err := discordgo.New(h.session.Token)
	if err != nil {
		return fmt.Errorf("discord gateway: %w", err)
	}
	gw.Client = h.session.Client
	gw.Identify.Intents = Intents
	gw.ShouldReconnectOnError = false
	gw.ShouldRetryOnRateLimit = false
	gw.StateEnabled = false
	lost := make(chan struct{}, 1)
	gw.AddHandler(h.onReady)
	gw.AddHandler(h.onInteraction)
	gw.AddHandler(h.onReaction)
	gw.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) {
		select {
		case lost <- struct{}{}:
		default:
		}
	})
	if err := gw.Open(); err != nil {
		return fmt.Errorf("discord gateway: %w", err)
	}
	// discordgo runs handlers in goroutines of their own, so onReady may not
	// have run yet; Open has put READY in the state before returning, and
	// RegisterCommands needs its application id now.
	gw.State.RLock()
	ready := gw.State.Ready
	gw.State.RUnlock()
	h.onReady(gw, &ready)
	h.log.InfoContext(ctx, "discord gateway connected")
	if err := h.RegisterCommands(ctx); err != nil {
		// The commands registered before still work; buttons and reactions
		// do not need them.
		h.log.ErrorContext(ctx, "discord /incident not registered", "err", err)
	}
	select {
	case <-ctx.Done():
		err = nil
	case <-lost:
		err = errGatewayLost
	}
	closed := time.Now()
	if cerr := gw.Close(); cerr != nil {
		h.log.WarnContext(ctx, "discord gateway close", "err", cerr)
	}
	h.log.InfoContext(ctx, "discord gateway closed", "close_ms", time.Since(closed).Milliseconds())
	return err
}

// RegisterCommands overwrites the application's commands with /incident,
// in the configured guild or globally.
func (h *Inbound) RegisterCommands(ctx context.Context) error {
	h.mu.Lock()
	app := cmp.Or(h.appID, h.readyApp)
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

package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// socketFatal are the apps.connections.open errors that no retry mends:
// the token or the app is wrong. slack-go gives up on some of them itself
// and retries the others for ever.
var socketFatal = map[string]string{
	"invalid_auth":           "the app-level token (app_token) is not valid",
	"not_authed":             "no app-level token (app_token) was sent",
	"not_allowed_token_type": "app_token must be an app-level token (xapp-...)",
	"token_revoked":          "the app-level token (app_token) was revoked",
	"account_inactive":       "the app-level token's app or workspace is inactive",
	"missing_scope":          "the app-level token lacks the connections:write scope",
}

// RunSocketMode receives Slack's deliveries over Socket Mode with the
// app-level token of the config: it opens a connection (apps.connections.open,
// then the WebSocket), acknowledges every envelope within Slack's 3 s and
// handles it exactly as the HTTP endpoints handle the same request, with
// the same deduplication. api is the Web API client (its api_url and HTTP
// client are used); it reconnects whenever Slack or the network drops the
// connection.
//
// It blocks until ctx is done, then returns nil, or until Slack refuses the
// token, then returns why. Work started by a delivery may outlive it: call
// Wait on shutdown.
func (h *Inbound) RunSocketMode(ctx context.Context, api *slack.Client) error {
	if h.appToken == "" {
		return errors.New("slack socket mode: no app_token is configured")
	}
	if api == nil {
		return errors.New("slack socket mode: no Web API client")
	}
	client := socketmode.New(api)
	slack.OptionAppLevelToken(h.appToken)(&client.Client)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- client.RunContext(runCtx) }()

	var envelopes sync.WaitGroup
	defer envelopes.Wait()
	var fatal error
	for {
		select {
		case err := <-ran:
			switch {
			case ctx.Err() != nil:
				return nil
			case fatal != nil:
				return fatal
			}
			return socketError(err)
		case evt := <-client.Events:
			if err := h.socketEvent(runCtx, client, evt, &envelopes); err != nil && fatal == nil {
				// Stop, then report once RunContext has returned.
				fatal = err
				cancel()
			}
		}
	}
}

// socketError says why slack-go gave up.
func socketError(err error) error {
	var refused slack.SlackErrorResponse
	if errors.As(err, &refused) {
		if why, ok := socketFatal[refused.Err]; ok {
			return fmt.Errorf("slack socket mode: apps.connections.open: %s: %w", why, err)
		}
	}
	var status slack.StatusCodeError
	if errors.As(err, &status) && status.Code == http.StatusNotFound {
		return fmt.Errorf("slack socket mode: apps.connections.open: not found (check api_url): %w", err)
	}
	return fmt.Errorf("slack socket mode: %w", err)
}

// socketEvent handles one event of the socketmode client; an error stops
// RunSocketMode.
func (h *Inbound) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event, envelopes *sync.WaitGroup) error {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		n := 0
		if c, ok := evt.Data.(*socketmode.ConnectedEvent); ok {
			n = c.ConnectionCount
		}
		h.log.InfoContext(ctx, "slack socket mode connected", "platform", "slack", "reconnects", n)
	case socketmode.EventTypeConnectionError:
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			var refused slack.SlackErrorResponse
			if errors.As(e.ErrorObj, &refused) && socketFatal[refused.Err] != "" {
				return socketError(e.ErrorObj)
			}
			h.log.WarnContext(ctx, "slack socket mode cannot connect; retrying", "platform", "slack", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.ErrorObj)
		}
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
		if evt.Request == nil || evt.Request.EnvelopeID == "" {
			h.log.WarnContext(ctx, "slack socket mode envelope without an id", "platform", "slack", "type", evt.Type)
			return nil
		}
		// Every envelope on its own: a slash command may take its whole
		// answer time, and the others must not wait for it.
		envelopes.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					h.log.Error("slack socket mode envelope panicked", "platform", "slack", "panic", p, "stack", string(debug.Stack()))
				}
			}()
			h.socketEnvelope(ctx, client, evt)
		})
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not parse it, so nothing handles it; acknowledge
		// it anyway so Slack does not deliver it again and again.
		if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			var req socketmode.Request
			_ = json.Unmarshal(bad.Message, &req)
			h.log.WarnContext(ctx, "slack socket mode message not understood", "platform", "slack", "type", req.Type, "err", bad.Cause)
			if req.EnvelopeID != "" {
				h.ack(ctx, client, req.EnvelopeID, nil)
			}
		}
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		h.log.WarnContext(ctx, "slack socket mode connection trouble", "platform", "slack", "type", evt.Type, "err", fmt.Sprint(evt.Data))
	}
	return nil
}

// socketEnvelope handles one delivery with the HTTP mode's code and
// acknowledges it with the answer the HTTP mode would send.
func (h *Inbound) socketEnvelope(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	deadline := time.Now().Add(h.answerWithin)
	req := evt.Request
	retry := ""
	if req.RetryAttempt > 0 {
		retry = strconv.Itoa(req.RetryAttempt) + " " + req.RetryReason
	}
	var answer inboundAnswer
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		answer = h.handleEvent(ctx, req.Payload, deadline, retry)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			answer = inboundRefused(http.StatusBadRequest, "malformed slash command")
			break
		}
		answer = h.handleCommand(ctx, cmd, deadline, retry)
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			answer = inboundRefused(http.StatusBadRequest, "malformed interaction payload")
			break
		}
		answer = h.handleInteraction(ctx, ic, deadline, retry)
	}
	switch {
	case answer.status >= http.StatusInternalServerError:
		// Unacknowledged, Slack delivers it again (events) or tells the
		// user it failed (commands, buttons), as a 503 does over HTTP.
		h.log.WarnContext(ctx, "slack socket mode envelope not acknowledged", "platform", "slack", "type", evt.Type, "reason", answer.reason)
		return
	case answer.status != http.StatusOK:
		// A delivery again would be refused again.
		h.log.WarnContext(ctx, "slack socket mode envelope refused", "platform", "slack", "type", evt.Type, "reason", answer.reason)
	}
	var payload any
	switch {
	case answer.reply != nil:
		payload = answer.reply
	case answer.body != nil:
		payload = answer.body
	}
	h.ack(ctx, client, req.EnvelopeID, payload)
}

func (h *Inbound) ack(ctx context.Context, client *socketmode.Client, envelopeID string, payload any) {
	if err := client.AckCtx(ctx, envelopeID, payload); err != nil {
		h.log.WarnContext(ctx, "slack socket mode ack failed", "platform", "slack", "envelope", envelopeID, "err", err)
	}
}

package slack

// The actions the inbound deliveries run once they are answered: buttons,
// reactions, and the replies that tell the responder what came of them.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
	"github.com/hotline-dev/hotline/commands/chattext"
)

// runAction runs one button and says what came of it. trigger is the
// click's trigger_id, which opens the postmortem modal after a resolve.
func (h *Inbound) runAction(ctx context.Context, a *slack.BlockAction, trigger, user string, by bot.Actor) string {
	ja := chattext.Japanese(h.locale)
	var verb string
	switch a.ActionID {
	case inboundActionAck:
		verb = commands.VerbAck
	case inboundActionOwn:
		verb = commands.VerbOwn
	case inboundActionResolve:
		verb = commands.VerbResolve
	case inboundActionEscalate:
	default:
		h.log.WarnContext(ctx, "slack button with an unknown action", "platform", "slack", "user", by.ID, "action", a.ActionID)
		return chattext.Pick(ja, fmt.Sprintf("unknown action %q; nothing was changed", a.ActionID),
			fmt.Sprintf("不明な操作です（%q）。何も変更していません", a.ActionID))
	}
	number, err := strconv.ParseInt(strings.TrimSpace(a.Value), 10, 64)
	if err != nil || number <= 0 {
		h.log.WarnContext(ctx, "slack button without an incident", "platform", "slack", "user", by.ID, "action", a.ActionID, "value", a.Value)
		return chattext.Pick(ja, "this button names no incident; nothing was changed", "このボタンはインシデントを指していません。何も変更していません")
	}
	if verb != "" {
		// The buttons speak the command language, so they are refused and
		// answered exactly as the typed command would be.
		in := h.invocation(fmt.Sprintf("%s INC-%d", verb, number), by, "", user)
		reply := commands.Run(ctx, h.incidents, in)
		if verb == commands.VerbResolve && reply.Incident != nil {
			// Before anything else: the trigger is valid for 3 s from the click.
			h.openPostmortem(ctx, trigger, number, by)
		}
		h.logReply(ctx, "slack button", by, reply)
		return reply.Text
	}
	return h.callNow(ctx, number, by, ja)
}

func (h *Inbound) callNow(ctx context.Context, number int64, by bot.Actor, ja bool) string {
	if h.escalator == nil {
		return chattext.Pick(ja, "No phone escalation is configured, so nobody can be called.",
			"電話での呼び出しが設定されていないため、誰にも電話できません。")
	}
	if _, err := h.escalator.CallNow(ctx, number, by); err != nil {
		return h.failed(ctx, "slack call now", err, number, by, ja)
	}
	h.log.InfoContext(ctx, "slack call now", "platform", "slack", "user", by.ID, "incident", number)
	return chattext.Pick(ja, fmt.Sprintf("Calling the on-call for INC-%d now (asked by %s)", number, by.ID),
		fmt.Sprintf("INC-%d の当番に今すぐ電話します（%s の依頼）", number, by.ID))
}

// failed says why an action on INC-number did not happen, in words for the
// responder: the domain's reason when it has one, else a logged "try again".
func (h *Inbound) failed(ctx context.Context, what string, err error, number int64, by bot.Actor, ja bool) string {
	var invalid *bot.InvalidError
	switch {
	case errors.As(err, &invalid):
		return invalid.Reason
	case errors.Is(err, bot.ErrNotFound):
		return chattext.Pick(ja, fmt.Sprintf("INC-%d does not exist", number), fmt.Sprintf("INC-%d は存在しません", number))
	case errors.Is(err, bot.ErrConflict):
		// "INC-7 is acknowledged: nobody needs calling: conflict"
		if reason, ok := strings.CutSuffix(err.Error(), ": "+bot.ErrConflict.Error()); ok {
			return reason
		}
	}
	h.log.ErrorContext(ctx, what+" failed", "platform", "slack", "user", by.ID, "incident", number, "err", err)
	return chattext.Pick(ja, "something went wrong; try again", "問題が発生しました。もう一度お試しください")
}

// handleMention runs "@Hotline ack" written in an incident's thread: the
// command language with the thread's incident implied, which a slash
// command cannot do (Slack does not say which thread it was typed in).
func (h *Inbound) handleMention(ctx context.Context, eventID string, m *slackevents.AppMentionEvent, deadline time.Time, retry string) inboundAnswer {
	if eventID == "" || m.User == "" || m.Channel == "" {
		return inboundRefused(http.StatusBadRequest, "malformed event: app_mention needs event_id, user and channel")
	}
	if m.User == h.botUserID || m.BotID != "" {
		return inboundTaken()
	}
	if first, answer := h.firstDelivery(ctx, deadline, "slack:event:"+eventID, retry); !first {
		return answer
	}
	by := h.actor(m.User)
	text := strings.TrimSpace(mentionPrefix.ReplaceAllString(m.Text, ""))
	h.background(ctx, func(ctx context.Context) {
		in := h.invocation(text, by, m.Channel, m.User)
		if m.ThreadTimeStamp != "" {
			th, err := h.threads.ThreadByMessage(ctx, "slack", m.Channel, m.ThreadTimeStamp)
			switch {
			case err == nil:
				inc, err := h.threads.Incident(ctx, th.IncidentID)
				if err != nil {
					h.log.ErrorContext(ctx, "slack mention not handled: incident lookup failed", "platform", "slack", "user", by.ID, "err", err)
					return
				}
				in.Thread = inc.Number
			case !errors.Is(err, bot.ErrNotFound):
				h.log.ErrorContext(ctx, "slack mention not handled: thread lookup failed", "platform", "slack", "user", by.ID, "err", err)
				return
			}
		}
		reply := commands.Run(ctx, h.incidents, in)
		h.logReply(ctx, "slack mention", by, reply)
		h.postEphemeral(ctx, m.Channel, m.User, by, reply.Text, slack.MsgOptionTS(cmp.Or(m.ThreadTimeStamp, m.TimeStamp)))
	})
	return inboundTaken()
}

// mentionPrefix is the "<@U0HOTLINE>" that starts a mention's text.
var mentionPrefix = regexp.MustCompile(`^\s*<@[A-Z0-9]+(\|[^>]*)?>[\s:,、]*`)

// react runs the command of a reaction on the incident of the message.
func (h *Inbound) react(ctx context.Context, verb, channel, ts, user string, by bot.Actor) {
	th, err := h.threads.ThreadByMessage(ctx, "slack", channel, ts)
	if errors.Is(err, bot.ErrNotFound) {
		return // a reaction on some other message
	}
	if err != nil {
		h.log.ErrorContext(ctx, "slack reaction not handled: thread lookup failed", "platform", "slack", "user", by.ID, "err", err)
		return
	}
	inc, err := h.threads.Incident(ctx, th.IncidentID)
	if err != nil {
		h.log.ErrorContext(ctx, "slack reaction not handled: incident lookup failed", "platform", "slack", "user", by.ID, "incident_id", th.IncidentID, "err", err)
		return
	}
	in := h.invocation(fmt.Sprintf("%s INC-%d", verb, inc.Number), by, "", user)
	reply := commands.Run(ctx, h.incidents, in)
	h.logReply(ctx, "slack reaction", by, reply)
	if reply.Ephemeral {
		// Refused ("already acknowledged"): say why to whoever reacted.
		h.postEphemeral(ctx, channel, user, by, reply.Text)
	}
}

func (h *Inbound) postEphemeral(ctx context.Context, channel, user string, by bot.Actor, text string, opts ...slack.MsgOption) {
	if h.reply == nil || channel == "" {
		h.log.InfoContext(ctx, "slack reply not posted: nowhere to post it", "platform", "slack", "user", by.ID, "text", text)
		return
	}
	if _, err := h.reply.PostEphemeralContext(ctx, channel, user, append([]slack.MsgOption{slack.MsgOptionText(text, true)}, opts...)...); err != nil {
		h.log.WarnContext(ctx, "slack ephemeral reply failed", "platform", "slack", "user", by.ID, "err", err)
	}
}

// inboundMsg is a message posted as a response (the command's answer or a
// post to response_url).
type inboundMsg struct {
	ResponseType    string `json:"response_type"`
	Text            string `json:"text"`
	ReplaceOriginal bool   `json:"replace_original"`
}

func inboundMessage(text string, ephemeral bool) inboundMsg {
	m := inboundMsg{ResponseType: "in_channel", Text: slackutilsx.EscapeMessage(text)}
	if ephemeral {
		m.ResponseType = "ephemeral"
	}
	return m
}

func inboundJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}

// respond posts msg to a response_url.
func (h *Inbound) respond(ctx context.Context, responseURL string, by bot.Actor, msg inboundMsg) {
	if err := h.postResponse(ctx, responseURL, msg); err != nil {
		h.log.WarnContext(ctx, "slack response_url post failed", "platform", "slack", "user", by.ID, "err", err)
	}
}

func (h *Inbound) postResponse(ctx context.Context, responseURL string, msg inboundMsg) error {
	if responseURL == "" {
		return errors.New("no response_url")
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("response_url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("response_url: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("response_url: %s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	return nil
}

func (h *Inbound) logReply(ctx context.Context, what string, by bot.Actor, reply commands.Reply) {
	if reply.Incident != nil {
		h.log.InfoContext(ctx, what, "platform", "slack", "user", by.ID, "incident", reply.Incident.Number)
		return
	}
	h.log.DebugContext(ctx, what+" refused", "platform", "slack", "user", by.ID, "reply", reply.Text)
}

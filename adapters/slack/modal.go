package slack

// The postmortem modal: opened by a successful Resolve click, its
// submission writes the incident's cause, fix and follow-ups.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
	"github.com/hotline-dev/hotline/commands/chattext"
)

// Views opens modals; *slack.Client satisfies it.
type Views interface {
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
}

// postmortemCallbackID names the modal's submissions; its private_metadata
// is the incident number ("12").
const postmortemCallbackID = "incident.postmortem"

// The modal's inputs: block ids, each with one plain_text_input whose
// action id is the same.
const (
	postmortemCause     = "postmortem.cause"
	postmortemFix       = "postmortem.fix"
	postmortemFollowUps = "postmortem.follow_ups"
)

const (
	// postmortemOpenWithin bounds views.open: the trigger dies 3 s after
	// the click anyway.
	postmortemOpenWithin = 3 * time.Second
	// postmortemInputMax is Slack's limit on a plain_text_input.
	postmortemInputMax = 3000
)

// postmortemModal asks for what was learnt from INC-number.
func postmortemModal(number int64, locale string) slack.ModalViewRequest {
	ja := chattext.Japanese(locale)
	plain := func(en, jp string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, chattext.Pick(ja, en, jp), false, false)
	}
	input := func(blockID string, label, placeholder *slack.TextBlockObject) *slack.InputBlock {
		el := slack.NewPlainTextInputBlockElement(placeholder, blockID)
		el.Multiline = true
		el.MaxLength = postmortemInputMax
		return slack.NewInputBlock(blockID, label, nil, el).WithOptional(true)
	}
	ref := fmt.Sprintf("INC-%d", number)
	return slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain("Postmortem "+ref, "振り返り "+ref),
		Submit: plain("Save", "保存"),
		Close:  plain("Later", "あとで"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			input(postmortemCause, plain("Cause", "原因"), plain("What caused it?", "何が原因でしたか？")),
			input(postmortemFix, plain("Fix", "対応"), plain("What fixed it?", "どう対応しましたか？")),
			input(postmortemFollowUps, plain("Follow-ups", "今後の対応"), plain("What should be done so it does not happen again?", "再発防止のために何をしますか？")),
		}},
		PrivateMetadata: strconv.FormatInt(number, 10),
		CallbackID:      postmortemCallbackID,
	}
}

// openPostmortem opens the postmortem modal of INC-number for whoever
// clicked (trigger). Without Views, a trigger or a way to save the
// postmortem there is nothing to open.
func (h *Inbound) openPostmortem(ctx context.Context, trigger string, number int64, by bot.Actor) {
	if h.views == nil || trigger == "" {
		return
	}
	if _, ok := h.incidents.(commands.Postmortems); !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, postmortemOpenWithin)
	defer cancel()
	if _, err := h.views.OpenViewContext(ctx, trigger, postmortemModal(number, h.locale)); err != nil {
		// The resolve stands; the postmortem command still writes it.
		h.log.WarnContext(ctx, "slack postmortem modal not opened", "platform", "slack", "user", by.ID, "incident", number, "err", err)
	}
}

// handleViewSubmission saves the postmortem modal's values. It answers an
// empty 200 (Slack closes the modal) or response_action errors (Slack shows
// why under the first input and keeps the modal open).
func (h *Inbound) handleViewSubmission(ctx context.Context, ic slack.InteractionCallback, deadline time.Time, retry string) inboundAnswer {
	if ic.View.CallbackID != postmortemCallbackID {
		h.log.DebugContext(ctx, "slack view submission ignored", "platform", "slack", "callback_id", ic.View.CallbackID)
		return inboundTaken()
	}
	if ic.User.ID == "" || ic.View.ID == "" {
		return inboundRefused(http.StatusBadRequest, "malformed view_submission: no user or view id")
	}
	number, err := strconv.ParseInt(strings.TrimSpace(ic.View.PrivateMetadata), 10, 64)
	if err != nil || number <= 0 {
		return inboundRefused(http.StatusBadRequest, "malformed view_submission: private_metadata names no incident")
	}
	in := bot.PostmortemInput{
		Cause:     postmortemValue(ic.View.State, postmortemCause),
		Fix:       postmortemValue(ic.View.State, postmortemFix),
		FollowUps: postmortemValue(ic.View.State, postmortemFollowUps),
	}
	ja := chattext.Japanese(h.locale)
	by := h.actor(ic.User.ID)
	pms, ok := h.incidents.(commands.Postmortems)
	if !ok {
		h.log.ErrorContext(ctx, "slack postmortem not saved: Incidents is no commands.Postmortems", "platform", "slack", "user", by.ID, "incident", number)
		return postmortemErrors(chattext.Pick(ja, "Postmortems cannot be saved here.", "ここでは振り返りを保存できません。"))
	}
	// A refused submission leaves the view's id and hash as they were, so
	// the values are part of the key: the same modal sent again with other
	// text is a new submission, the same request again is a replay.
	if first, answer := h.firstDelivery(ctx, deadline, "slack:view:"+ic.Team.ID+":"+ic.View.ID+":"+ic.View.Hash+":"+postmortemDigest(in), retry); !first {
		return answer
	}
	done := make(chan error, 1)
	h.background(ctx, func(ctx context.Context) {
		_, err := pms.WritePostmortem(ctx, number, in, by)
		done <- err
	})
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case err := <-done:
		if err == nil {
			h.log.InfoContext(ctx, "slack postmortem saved", "platform", "slack", "user", by.ID, "incident", number)
			return inboundTaken()
		}
		return postmortemErrors(h.failed(ctx, "slack postmortem", err, number, by, ja))
	case <-timer.C:
		// Slack waits no longer: the modal closes and the write goes on.
		h.background(ctx, func(ctx context.Context) {
			select {
			case err := <-done:
				if err != nil {
					h.log.ErrorContext(ctx, "slack postmortem not saved after its modal closed", "platform", "slack", "user", by.ID, "incident", number, "err", err)
				}
			case <-ctx.Done():
			}
		})
		return inboundTaken()
	}
}

// postmortemValue is the text typed into the input blockID ("" when left
// empty).
func postmortemValue(state *slack.ViewState, blockID string) string {
	if state == nil {
		return ""
	}
	return state.Values[blockID][blockID].Value
}

func postmortemDigest(in bot.PostmortemInput) string {
	sum := sha256.Sum256([]byte(in.Cause + "\x00" + in.Fix + "\x00" + in.FollowUps))
	return hex.EncodeToString(sum[:8])
}

// postmortemErrors keeps the modal open with reason under its first input.
func postmortemErrors(reason string) inboundAnswer {
	return inboundAnswer{status: http.StatusOK, body: slack.NewErrorsViewSubmissionResponse(map[string]string{postmortemCause: reason})}
}

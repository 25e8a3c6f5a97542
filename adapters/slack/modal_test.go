package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
)

// WritePostmortem makes the fake bot a commands.Postmortems; the call's
// Text is "cause | fix | follow-ups".
func (f *inbIncidents) WritePostmortem(ctx context.Context, n int64, in bot.PostmortemInput, by bot.Actor) (bot.Postmortem, error) {
	inc, err := f.record(ctx, inbCall{Op: "postmortem", Number: n, Text: in.Cause + " | " + in.Fix + " | " + in.FollowUps, By: by})
	return bot.Postmortem{IncidentID: inc.ID, Number: n, Cause: in.Cause, Fix: in.Fix, FollowUps: in.FollowUps, By: by.ID}, err
}

var _ commands.Postmortems = (*inbIncidents)(nil)

// newModalRig is the inbound rig whose Views is a client of the fake Slack.
func newModalRig(t *testing.T, opt inbOptions) (*inbRig, *slacktest.Server) {
	t.Helper()
	fake := newSockFake(t)
	config := opt.config
	opt.config = func(c *InboundConfig) {
		c.Views = slack.New(fake.Token(), slack.OptionAPIURL(fake.APIURL()))
		if config != nil {
			config(c)
		}
	}
	return newInbRig(t, opt), fake
}

// refuse makes the fake bot answer INC-n with err from now on.
func (f *inbIncidents) refuseNumber(n int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse[n] = err
}

// inbModal is the postmortem modal of INC-n as views.open would have sent
// it: what a submission carries back.
func inbModal(t *testing.T, n int64) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(postmortemModal(n, "en"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// inbSubmitted is a view_submission payload (the interactions form) of the
// modal view, its input blocks filled with values in order, as Slack posts
// it when user presses Save. viewID and hash are Slack's.
func inbSubmitted(t *testing.T, user string, view json.RawMessage, viewID, hash string, values ...string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(view, &v); err != nil {
		t.Fatalf("view %s: %v", view, err)
	}
	state := map[string]any{}
	blocks, _ := v["blocks"].([]any)
	i := 0
	for _, b := range blocks {
		block, _ := b.(map[string]any)
		if block["type"] != "input" {
			continue
		}
		el, _ := block["element"].(map[string]any)
		value := map[string]any{"type": el["type"], "value": nil}
		if i < len(values) {
			value["value"] = values[i]
		}
		i++
		state[block["block_id"].(string)] = map[string]any{el["action_id"].(string): value}
	}
	if i < len(values) {
		t.Fatalf("%d values for %d inputs", len(values), i)
	}
	v["id"], v["hash"], v["team_id"], v["app_id"] = viewID, hash, "T1", "A0HOTLINE"
	v["state"] = map[string]any{"values": state}
	payload, err := json.Marshal(map[string]any{
		"type":                  "view_submission",
		"team":                  map[string]any{"id": "T1", "domain": "example"},
		"user":                  map[string]any{"id": user, "username": "someone", "name": "someone", "team_id": "T1"},
		"api_app_id":            "A0HOTLINE",
		"token":                 "gIkuvaNzQIHg97ATvDxqgjtO",
		"trigger_id":            inbNextTrigger(),
		"view":                  v,
		"response_urls":         []any{},
		"is_enterprise_install": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(payload)}}.Encode()
}

// inbViewErrors reads a response_action errors answer.
func inbViewErrors(t *testing.T, body string) map[string]string {
	t.Helper()
	var got struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.ResponseAction != "errors" {
		t.Fatalf("answer %q (%v), want response_action errors", body, err)
	}
	return got.Errors
}

func TestInboundResolveOpensPostmortemModal(t *testing.T) {
	rig, fake := newModalRig(t, inbOptions{})
	const trigger = "13345224609.738474920.resolve1"
	resp := rig.post("/v1/slack/interactions", inbForm, rig.click("U01TANAKA", "incident.resolve", "12",
		func(p map[string]any) { p["trigger_id"] = trigger }))
	if resp.status != http.StatusOK || resp.body != "" {
		t.Fatalf("click: %d %q, want 200 and an empty body", resp.status, resp.body)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "resolve", Number: 12, By: inbTanaka()})
	if hooks, _ := rig.slack.posts(); len(hooks) != 1 || hooks[0].Text != "INC-12 resolved by tanaka" {
		t.Errorf("response_url got %+v, want the resolve's reply", hooks)
	}

	views := fake.Views()
	if len(views) != 1 {
		t.Fatalf("views.open called %d times, want once: %+v", len(views), fake.Calls())
	}
	if views[0].TriggerID != trigger {
		t.Errorf("views.open trigger_id %q, want the click's %q", views[0].TriggerID, trigger)
	}
	type text struct{ Type, Text string }
	var modal struct {
		Type            string `json:"type"`
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
		Title           text   `json:"title"`
		Submit          *text  `json:"submit"`
		Blocks          []struct {
			Type     string `json:"type"`
			BlockID  string `json:"block_id"`
			Optional bool   `json:"optional"`
			Label    text   `json:"label"`
			Element  struct {
				Type      string `json:"type"`
				ActionID  string `json:"action_id"`
				Multiline bool   `json:"multiline"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(views[0].View, &modal); err != nil {
		t.Fatalf("view %s: %v", views[0].View, err)
	}
	if modal.Type != "modal" || modal.CallbackID != "incident.postmortem" || modal.PrivateMetadata != "12" ||
		modal.Title != (text{"plain_text", "Postmortem INC-12"}) || modal.Submit == nil {
		t.Errorf("modal %s, want a modal incident.postmortem titled \"Postmortem INC-12\" with private_metadata 12 and a submit button", views[0].View)
	}
	var labels []string
	for i, b := range modal.Blocks {
		if b.Type != "input" || !b.Optional || b.Element.Type != "plain_text_input" || !b.Element.Multiline {
			t.Errorf("block %d %+v, want an optional input with a multiline plain_text_input", i, b)
		}
		labels = append(labels, b.Label.Text)
	}
	if want := []string{"Cause", "Fix", "Follow-ups"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("inputs %q, want %q", labels, want)
	}

	// The responder fills the modal in and saves it.
	form := inbSubmitted(t, "U01TANAKA", views[0].View, "V0PM12", "1700000004.abcd", "old logs filled /var", "rotated logs", "alert at 80%")
	resp = rig.post("/v1/slack/interactions", inbForm, form)
	if resp.status != http.StatusOK || resp.body != "" {
		t.Fatalf("submission: %d %q, want 200 and an empty body (the modal closes)", resp.status, resp.body)
	}
	written := inbCall{Op: "postmortem", Number: 12, Text: "old logs filled /var | rotated logs | alert at 80%", By: inbTanaka()}
	rig.wantCalls(inbCall{Op: "resolve", Number: 12, By: inbTanaka()}, written)

	// The same signed submission again.
	if resp := rig.post("/v1/slack/interactions", inbForm, form); resp.status != http.StatusOK || resp.body != "" {
		t.Errorf("replay: %d %q, want 200 and an empty body", resp.status, resp.body)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "resolve", Number: 12, By: inbTanaka()}, written)
}

func TestInboundPostmortemModalOnlyAfterAResolve(t *testing.T) {
	tests := []struct {
		name   string
		action string
		value  string
		config func(*InboundConfig)
	}{
		{name: "resolve refused", action: "incident.resolve", value: "9"},
		{name: "ack", action: "incident.ack", value: "12"},
		{name: "no Views", action: "incident.resolve", value: "12", config: func(c *InboundConfig) { c.Views = nil }},
		{name: "no Postmortems port", action: "incident.resolve", value: "12",
			config: func(c *InboundConfig) { c.Incidents = struct{ commands.Incidents }{c.Incidents} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig, fake := newModalRig(t, inbOptions{config: tt.config})
			if resp := rig.post("/v1/slack/interactions", inbForm, rig.click("U01TANAKA", tt.action, tt.value)); resp.status != http.StatusOK {
				t.Fatalf("click: %d %q", resp.status, resp.body)
			}
			rig.settle()
			if len(rig.bot.seen()) != 1 {
				t.Errorf("bot calls %+v, want the button's one", rig.bot.seen())
			}
			if hooks, _ := rig.slack.posts(); len(hooks) != 1 {
				t.Errorf("response_url got %+v, want the button's reply", hooks)
			}
			if v := fake.Views(); len(v) != 0 {
				t.Errorf("a modal was opened: %+v", v)
			}
		})
	}
}

func TestInboundPostmortemModalFailureKeepsTheResolve(t *testing.T) {
	rig, fake := newModalRig(t, inbOptions{})
	fake.FailNext("views.open", 1, http.StatusOK, "expired_trigger_id", "")
	if resp := rig.post("/v1/slack/interactions", inbForm, rig.click("U01TANAKA", "incident.resolve", "12")); resp.status != http.StatusOK {
		t.Fatalf("click: %d %q", resp.status, resp.body)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "resolve", Number: 12, By: inbTanaka()})
	if hooks, _ := rig.slack.posts(); len(hooks) != 1 || hooks[0].Text != "INC-12 resolved by tanaka" {
		t.Errorf("response_url got %+v, want the resolve's reply", hooks)
	}
	if !strings.Contains(rig.log.String(), "expired_trigger_id") {
		t.Errorf("the failed views.open was not logged:\n%s", rig.log.String())
	}
}

func TestInboundPostmortemSubmissionRefused(t *testing.T) {
	notResolved := fmt.Errorf("INC-7 is not resolved yet; write its postmortem once it is: %w", bot.ErrConflict)
	tests := []struct {
		name      string
		number    int64
		err       error
		config    func(*InboundConfig)
		wantError string
		wantCalls []inbCall
	}{
		{name: "not resolved", number: 7, err: notResolved, wantError: "INC-7 is not resolved yet; write its postmortem once it is",
			wantCalls: []inbCall{{Op: "postmortem", Number: 7, Text: "disk | logs | ", By: inbTanaka()}}},
		{name: "no such incident", number: 70, err: fmt.Errorf("incident 70: %w", bot.ErrNotFound), wantError: "INC-70 does not exist",
			wantCalls: []inbCall{{Op: "postmortem", Number: 70, Text: "disk | logs | ", By: inbTanaka()}}},
		{name: "store down", number: 7, err: fmt.Errorf("database is locked"), wantError: "something went wrong; try again",
			wantCalls: []inbCall{{Op: "postmortem", Number: 7, Text: "disk | logs | ", By: inbTanaka()}}},
		{name: "no Postmortems port", number: 7, wantError: "Postmortems cannot be saved here.",
			config: func(c *InboundConfig) { c.Incidents = struct{ commands.Incidents }{c.Incidents} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newInbRig(t, inbOptions{config: tt.config})
			if tt.err != nil {
				rig.bot.refuseNumber(tt.number, tt.err)
			}
			resp := rig.post("/v1/slack/interactions", inbForm, inbSubmitted(t, "U01TANAKA", inbModal(t, tt.number), "V0PM7", "1700000004.abcd", "disk", "logs"))
			if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/json") {
				t.Fatalf("submission: %d %q (%s), want 200 JSON", resp.status, resp.body, resp.header.Get("Content-Type"))
			}
			if got := inbViewErrors(t, resp.body); !reflect.DeepEqual(got, map[string]string{"postmortem.cause": tt.wantError}) {
				t.Errorf("errors %v, want %q under the cause", got, tt.wantError)
			}
			rig.settle()
			rig.wantCalls(tt.wantCalls...)
		})
	}
}

func TestInboundPostmortemResubmittedAfterARefusal(t *testing.T) {
	rig := newInbRig(t, inbOptions{})
	rig.bot.refuseNumber(7, fmt.Errorf("INC-7 is not resolved yet; write its postmortem once it is: %w", bot.ErrConflict))
	resp := rig.post("/v1/slack/interactions", inbForm, inbSubmitted(t, "U01TANAKA", inbModal(t, 7), "V0PM7", "1700000004.abcd", "disk"))
	if inbViewErrors(t, resp.body)["postmortem.cause"] == "" {
		t.Fatalf("first submission answered %q, want an error", resp.body)
	}
	// The modal stays open with the same view id and hash; the responder
	// edits it and saves again.
	rig.bot.refuseNumber(7, nil)
	resp = rig.post("/v1/slack/interactions", inbForm, inbSubmitted(t, "U01TANAKA", inbModal(t, 7), "V0PM7", "1700000004.abcd", "disk full"))
	if resp.status != http.StatusOK || resp.body != "" {
		t.Errorf("edited submission: %d %q, want 200 and an empty body", resp.status, resp.body)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "postmortem", Number: 7, Text: "disk |  | ", By: inbTanaka()},
		inbCall{Op: "postmortem", Number: 7, Text: "disk full |  | ", By: inbTanaka()})
}

func TestInboundPostmortemSlowWriteClosesTheModal(t *testing.T) {
	gate := make(chan struct{})
	rig := newInbRig(t, inbOptions{gate: gate, answerWithin: 50 * time.Millisecond})
	resp := rig.post("/v1/slack/interactions", inbForm, inbSubmitted(t, "U01TANAKA", inbModal(t, 12), "V0PM12", "h1", "disk"))
	if resp.status != http.StatusOK || resp.body != "" {
		t.Fatalf("answer while the bot is busy: %d %q, want 200 and an empty body", resp.status, resp.body)
	}
	if calls := rig.bot.seen(); len(calls) != 0 {
		t.Fatalf("the write finished before the answer: %+v", calls)
	}
	close(gate)
	rig.settle()
	rig.wantCalls(inbCall{Op: "postmortem", Number: 12, Text: "disk |  | ", By: inbTanaka()})
}

func TestInboundPostmortemSubmissionUnverified(t *testing.T) {
	rig := newInbRig(t, inbOptions{})
	resp := rig.post("/v1/slack/interactions", inbForm, inbSubmitted(t, "U01TANAKA", inbModal(t, 12), "V0PM12", "h1", "disk"),
		func(r *http.Request) {
			r.Header.Del("X-Slack-Signature")
			r.Header.Del("X-Slack-Request-Timestamp")
		})
	if resp.status != http.StatusUnauthorized {
		t.Errorf("unsigned submission: %d %q, want 401", resp.status, resp.body)
	}
	rig.wantNothingHappened()
}

func TestInboundPostmortemSubmissionMalformed(t *testing.T) {
	modal := func(edit func(v map[string]any)) json.RawMessage {
		var v map[string]any
		json.Unmarshal(inbModal(t, 12), &v)
		edit(v)
		raw, _ := json.Marshal(v)
		return raw
	}
	tests := []struct {
		name   string
		view   json.RawMessage
		viewID string
		want   int
	}{
		{"private_metadata names no incident", modal(func(v map[string]any) { v["private_metadata"] = "INC-twelve" }), "V0PM12", http.StatusBadRequest},
		{"no view id", inbModal(t, 12), "", http.StatusBadRequest},
		{"another modal", modal(func(v map[string]any) { v["callback_id"] = "something.else" }), "V0PM12", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newInbRig(t, inbOptions{})
			resp := rig.post("/v1/slack/interactions", inbForm, inbSubmitted(t, "U01TANAKA", tt.view, tt.viewID, "h1", "disk"))
			if resp.status != tt.want {
				t.Errorf("status %d (%q), want %d", resp.status, resp.body, tt.want)
			}
			rig.wantNothingHappened()
		})
	}
}

func TestPostmortemModalJapanese(t *testing.T) {
	m := postmortemModal(3, "ja-JP")
	if m.Title == nil || m.Title.Text != "振り返り INC-3" || m.PrivateMetadata != "3" || m.CallbackID != "incident.postmortem" {
		t.Errorf("modal %+v, want title 振り返り INC-3, private_metadata 3", m)
	}
}

func TestSocketPostmortemSubmission(t *testing.T) {
	rig := newSockRig(t, inbOptions{})
	form, err := url.ParseQuery(inbSubmitted(t, "U01TANAKA", inbModal(t, 12), "V0PM12", "h1", "disk", "logs", "alerts"))
	if err != nil {
		t.Fatal(err)
	}
	id := rig.push(slacktest.Envelope{Type: "interactive", Payload: json.RawMessage(form.Get("payload"))})
	if ack := rig.waitAck(id); ack.Payload != nil {
		t.Errorf("ack payload %s, want none (the modal closes)", ack.Payload)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "postmortem", Number: 12, Text: "disk | logs | alerts", By: inbTanaka()})
	rig.wantAcks(id)
}

func TestSocketPostmortemSubmissionRefused(t *testing.T) {
	rig := newSockRig(t, inbOptions{})
	rig.bot.refuseNumber(7, fmt.Errorf("INC-7 is not resolved yet; write its postmortem once it is: %w", bot.ErrConflict))
	form, err := url.ParseQuery(inbSubmitted(t, "U01TANAKA", inbModal(t, 7), "V0PM7", "h1", "disk"))
	if err != nil {
		t.Fatal(err)
	}
	id := rig.push(slacktest.Envelope{Type: "interactive", Payload: json.RawMessage(form.Get("payload"))})
	ack := rig.waitAck(id)
	if got := inbViewErrors(t, string(ack.Payload)); got["postmortem.cause"] != "INC-7 is not resolved yet; write its postmortem once it is" {
		t.Errorf("ack errors %v, want the refusal under the cause", got)
	}
	rig.settle()
	rig.wantAcks(id)
}

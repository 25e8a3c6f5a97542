package slacktest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func modal(title string, blocks ...slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Save", false, false),
		Blocks:          slack.Blocks{BlockSet: blocks},
		CallbackID:      "cb",
		PrivateMetadata: "12",
	}
}

func textInput(id string) *slack.InputBlock {
	return slack.NewInputBlock(id, slack.NewTextBlockObject(slack.PlainTextType, "Cause", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, id))
}

func TestViewsOpen(t *testing.T) {
	s, api := newServer(t)
	resp, err := api.OpenViewContext(ctx(t), "123.456.abc", modal("Postmortem INC-12", textInput("cause")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.View.ID == "" || resp.View.Hash == "" || resp.View.CallbackID != "cb" || resp.View.PrivateMetadata != "12" {
		t.Errorf("view %+v, want an id, a hash and the callback_id and private_metadata sent", resp.View)
	}
	views := s.Views()
	if len(views) != 1 || views[0].TriggerID != "123.456.abc" {
		t.Fatalf("Views() = %+v, want the one opened with its trigger", views)
	}
	var got struct {
		Title  struct{ Text string } `json:"title"`
		Blocks []struct {
			BlockID string `json:"block_id"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(views[0].View, &got); err != nil || got.Title.Text != "Postmortem INC-12" || len(got.Blocks) != 1 || got.Blocks[0].BlockID != "cause" {
		t.Errorf("recorded view %s (%v), want the view sent", views[0].View, err)
	}
}

func TestViewsOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		trigger string
		view    slack.ModalViewRequest
		want    string
	}{
		{"no trigger", "", modal("t", textInput("cause")), "invalid_trigger_id"},
		{"title too long", "1.2.3", modal(strings.Repeat("x", 25), textInput("cause")), "invalid_arguments"},
		{"not a modal", "1.2.3", func() slack.ModalViewRequest { v := modal("t"); v.Type = "home"; return v }(), "invalid_arguments"},
		{"inputs without submit", "1.2.3", func() slack.ModalViewRequest { v := modal("t", textInput("cause")); v.Submit = nil; return v }(), "invalid_arguments"},
		{"input without a label", "1.2.3", modal("t", slack.NewInputBlock("cause", nil, nil, slack.NewPlainTextInputBlockElement(nil, "cause"))), "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, api := newServer(t)
			// slack-go refuses an empty trigger itself; send it raw.
			var got string
			if tt.trigger == "" {
				out := rawPost(t, s, "views.open", s.Token(), map[string]any{"trigger_id": "", "view": tt.view})
				got, _ = out["error"].(string)
			} else {
				_, err := api.OpenViewContext(ctx(t), tt.trigger, tt.view)
				got = slackError(err)
			}
			if got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
			if v := s.Views(); len(v) != 0 {
				t.Errorf("a refused view was recorded: %+v", v)
			}
		})
	}
}

package slacktest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"unicode/utf8"
)

// View is a modal opened with views.open.
type View struct {
	TriggerID string
	View      json.RawMessage // the view as sent
}

// Views returns the modals opened so far, in order.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, len(s.views))
	for i, v := range s.views {
		out[i] = View{TriggerID: v.TriggerID, View: slices.Clone(v.View)}
	}
	return out
}

// Modal limits (https://docs.slack.dev/reference/views/modal-views).
const (
	modalBlockLimit    = 100
	modalTitleLimit    = 24
	modalButtonLimit   = 24
	modalMetadataLimit = 3000
	modalCallbackLimit = 255
	inputLabelLimit    = 2000
	plainInputMax      = 3000
)

// openView takes any non-empty trigger_id (the fake does not know which
// clicks Slack would have handed out) and a modal that Slack would show.
func (s *Server) openView(p url.Values) reply {
	trigger := p.Get("trigger_id")
	if trigger == "" {
		return refuse("invalid_trigger_id")
	}
	raw := p.Get("view")
	var view object
	if err := json.Unmarshal([]byte(raw), &view); err != nil {
		return refuse("invalid_arguments", "[ERROR] view must be a JSON object")
	}
	if why := checkModal(view); why != "" {
		return refuse("invalid_arguments", why)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.views = append(s.views, View{TriggerID: trigger, View: json.RawMessage(raw)})
	view["id"] = fmt.Sprintf("V%08d", s.seq)
	view["team_id"] = TeamID
	view["app_id"] = AppID
	view["bot_id"] = BotID
	view["hash"] = fmt.Sprintf("1700000000.%08d", s.seq)
	view["state"] = object{"values": object{}}
	return ok(map[string]any{"view": view})
}

// checkModal returns why Slack would refuse view, or "".
func checkModal(view object) string {
	c := &blockCheck{blockIDs: map[string]bool{}, actionIDs: map[string]bool{}}
	if typ, _ := view["type"].(string); typ != "modal" {
		c.fail("/view/type", "must be modal, got %q", typ)
	}
	c.text("/view/title", view["title"], modalTitleLimit, true)
	for _, b := range []string{"submit", "close"} {
		if view[b] != nil {
			c.text("/view/"+b, view[b], modalButtonLimit, true)
		}
	}
	if s, _ := view["private_metadata"].(string); utf8.RuneCountInString(s) > modalMetadataLimit {
		c.fail("/view/private_metadata", "must be at most %d characters", modalMetadataLimit)
	}
	if s, _ := view["callback_id"].(string); utf8.RuneCountInString(s) > modalCallbackLimit {
		c.fail("/view/callback_id", "must be at most %d characters", modalCallbackLimit)
	}
	blocks, _ := view["blocks"].([]any)
	if len(blocks) > modalBlockLimit {
		c.fail("/view/blocks", "no more than %d items allowed", modalBlockLimit)
	}
	inputs := false
	for i, v := range blocks {
		ptr := fmt.Sprintf("/view/blocks/%d", i)
		b, ok := v.(object)
		if !ok {
			c.fail(ptr, "must be an object")
			continue
		}
		c.block(ptr, b)
		if b["type"] == "input" {
			inputs = true
			c.input(ptr, b)
		}
	}
	if inputs && view["submit"] == nil {
		c.fail("/view/submit", "must provide submit when the view has input blocks")
	}
	return c.why
}

// input checks an input block: a label and one element; a plain_text_input
// within its limits.
func (c *blockCheck) input(ptr string, b object) {
	c.text(ptr+"/label", b["label"], inputLabelLimit, true)
	e, ok := b["element"].(object)
	if !ok {
		c.fail(ptr+"/element", "missing required field: element")
		return
	}
	c.element(ptr+"/element", e)
	if e["type"] != "plain_text_input" {
		return
	}
	if n, ok := e["max_length"].(float64); ok && (n < 1 || n > plainInputMax) {
		c.fail(ptr+"/element/max_length", "must be 1 to %d", plainInputMax)
	}
	if e["placeholder"] != nil {
		c.text(ptr+"/element/placeholder", e["placeholder"], 150, true)
	}
}

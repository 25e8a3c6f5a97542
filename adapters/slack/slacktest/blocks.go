package slacktest

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits the fake enforces, as Slack does
// (https://docs.slack.dev/reference/block-kit/blocks).
var knownBlocks = map[string]bool{
	"section": true, "header": true, "actions": true, "context": true, "divider": true,
	"image": true, "rich_text": true, "input": true, "markdown": true, "file": true,
	"video": true, "table": true,
}

type object = map[string]any

// blockCheck walks one message's blocks and keeps the first problem, the
// way Slack names it: "[ERROR] why [json-pointer:/blocks/0/text/text]".
type blockCheck struct {
	why       string
	blockIDs  map[string]bool
	actionIDs map[string]bool
}

func (c *blockCheck) fail(pointer, format string, args ...any) {
	if c.why == "" {
		c.why = fmt.Sprintf("[ERROR] %s [json-pointer:%s]", fmt.Sprintf(format, args...), pointer)
	}
}

// checkBlocks returns Slack's error for a blocks parameter, or "".
func checkBlocks(raw string) (code, why string) {
	var blocks []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return "invalid_blocks_format", "[ERROR] blocks must be a JSON array of objects"
	}
	if len(blocks) > blockLimit {
		return "invalid_blocks", fmt.Sprintf("[ERROR] no more than %d items allowed [json-pointer:/blocks]", blockLimit)
	}
	c := &blockCheck{blockIDs: map[string]bool{}, actionIDs: map[string]bool{}}
	for i, b := range blocks {
		var block object
		if err := json.Unmarshal(b, &block); err != nil {
			return "invalid_blocks_format", fmt.Sprintf("[ERROR] block %d is not an object", i)
		}
		c.block(fmt.Sprintf("/blocks/%d", i), block)
	}
	if c.why != "" {
		return "invalid_blocks", c.why
	}
	return "", ""
}

func (c *blockCheck) block(ptr string, b object) {
	typ, _ := b["type"].(string)
	if !knownBlocks[typ] {
		c.fail(ptr+"/type", "unknown block type %q", typ)
		return
	}
	if id, ok := b["block_id"].(string); ok {
		switch {
		case id == "" || utf8.RuneCountInString(id) > 255:
			c.fail(ptr+"/block_id", "must be 1 to 255 characters")
		case c.blockIDs[id]:
			c.fail(ptr+"/block_id", "block_id %q is not unique", id)
		}
		c.blockIDs[id] = true
	}
	switch typ {
	case "header":
		c.text(ptr+"/text", b["text"], 150, true)
	case "section":
		fields, _ := b["fields"].([]any)
		if b["text"] == nil && len(fields) == 0 {
			c.fail(ptr, "must provide either text or fields")
		}
		if b["text"] != nil {
			c.text(ptr+"/text", b["text"], 3000, false)
		}
		if len(fields) > 10 {
			c.fail(ptr+"/fields", "no more than 10 items allowed")
		}
		for i, f := range fields {
			c.text(fmt.Sprintf("%s/fields/%d", ptr, i), f, 2000, false)
		}
	case "actions":
		elements, _ := b["elements"].([]any)
		if len(elements) == 0 || len(elements) > 25 {
			c.fail(ptr+"/elements", "must have 1 to 25 items")
		}
		for i, e := range elements {
			c.element(fmt.Sprintf("%s/elements/%d", ptr, i), e)
		}
	case "context":
		elements, _ := b["elements"].([]any)
		if len(elements) == 0 || len(elements) > 10 {
			c.fail(ptr+"/elements", "must have 1 to 10 items")
		}
	}
}

func (c *blockCheck) element(ptr string, v any) {
	e, ok := v.(object)
	if !ok {
		c.fail(ptr, "must be an object")
		return
	}
	typ, _ := e["type"].(string)
	if typ == "" {
		c.fail(ptr+"/type", "missing required field: type")
		return
	}
	if id, ok := e["action_id"].(string); ok {
		switch {
		case id == "" || utf8.RuneCountInString(id) > 255:
			c.fail(ptr+"/action_id", "must be 1 to 255 characters")
		case c.actionIDs[id]:
			c.fail(ptr+"/action_id", "action_id %q is not unique", id)
		}
		c.actionIDs[id] = true
	}
	if typ != "button" {
		return
	}
	c.text(ptr+"/text", e["text"], 75, true)
	if v, _ := e["value"].(string); utf8.RuneCountInString(v) > 2000 {
		c.fail(ptr+"/value", "must be less than 2001 characters")
	}
	switch style, _ := e["style"].(string); style {
	case "", "primary", "danger":
	default:
		c.fail(ptr+"/style", "must be primary or danger")
	}
	if conf, ok := e["confirm"].(object); ok {
		c.text(ptr+"/confirm/title", conf["title"], 100, true)
		c.text(ptr+"/confirm/text", conf["text"], 300, false)
		c.text(ptr+"/confirm/confirm", conf["confirm"], 30, true)
		if conf["deny"] != nil {
			c.text(ptr+"/confirm/deny", conf["deny"], 30, true)
		}
	}
}

// text checks a composition text object.
func (c *blockCheck) text(ptr string, v any, limit int, plainOnly bool) {
	t, ok := v.(object)
	if !ok {
		c.fail(ptr, "missing required field: text")
		return
	}
	typ, _ := t["type"].(string)
	switch {
	case typ != "plain_text" && typ != "mrkdwn":
		c.fail(ptr+"/type", "must be plain_text or mrkdwn")
	case plainOnly && typ != "plain_text":
		c.fail(ptr+"/type", "must be plain_text")
	case typ == "mrkdwn" && t["emoji"] != nil:
		c.fail(ptr+"/emoji", "emoji is only allowed in plain_text")
	}
	s, _ := t["text"].(string)
	if n := utf8.RuneCountInString(s); n == 0 || n > limit {
		c.fail(ptr+"/text", "must be 1 to %d characters, got %d", limit, n)
	}
}

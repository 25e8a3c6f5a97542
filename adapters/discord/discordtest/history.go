package discordtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of GET channels/{id}/messages' limit.
const (
	historyDefaultLimit = 50
	historyMaxLimit     = 100
)

// Say adds a member's message to a channel or thread, as if userID had
// typed it (a guild member, not a bot); embeds stand for what Discord
// unfurled from its links. It is listed by GET channels/{id}/messages like
// the bot's own. It is not dispatched on the gateway: Hotline reads no
// member messages, and Discord would send their content only with the
// privileged MESSAGE_CONTENT intent.
func (s *Server) Say(channelID, userID, content string, embeds ...Embed) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.channels[channelID] == nil:
		return Message{}, fmt.Errorf("discordtest: no channel %s to say something in", channelID)
	case !isSnowflake(userID) || userID == BotUserID:
		return Message{}, fmt.Errorf("discordtest: %q is not a member's user id", userID)
	case strings.TrimSpace(content) == "" && len(embeds) == 0:
		return Message{}, fmt.Errorf("discordtest: a member's message needs content or an embed")
	}
	m := &Message{ID: s.nextID(), ChannelID: channelID, Content: content, Embeds: slices.Clone(embeds),
		CreatedAt: time.Now(), AuthorID: userID}
	s.messages = append(s.messages, m)
	s.notify()
	return m.clone(), nil
}

// listMessages is GET channels/{channel_id}/messages: up to limit (1–100,
// default 50) of the channel's messages, newest first; before, after or
// around (one at most, as Discord documents) pick where the page lies. A
// thread's messages are its own channel's, not its parent's.
func (s *Server) listMessages(r *request) reply {
	var errs formErrors
	limit := historyDefaultLimit
	if v := r.query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			errs.add("limit", "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not int.", v))
		case n < 1:
			errs.add("limit", "NUMBER_TYPE_MIN", "int value should be greater than or equal to 1.")
		case n > historyMaxLimit:
			errs.add("limit", "NUMBER_TYPE_MAX", fmt.Sprintf("int value should be less than or equal to %d.", historyMaxLimit))
		default:
			limit = n
		}
	}
	var anchorName string
	var anchor uint64
	for _, name := range []string{"before", "after", "around"} {
		v := r.query.Get(name)
		if v == "" {
			continue
		}
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil || !isSnowflake(v) {
			errs.add(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not snowflake.", v))
			continue
		}
		if anchorName != "" {
			errs.add(name, "BASE_TYPE_BAD_VALUE", fmt.Sprintf("Only one of before, after and around may be given; %s is.", anchorName))
			continue
		}
		anchorName, anchor = name, id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[r.params["channel_id"]] == nil {
		return unknownChannel()
	}
	if !errs.empty() {
		return errs.reply()
	}
	var all []*Message // oldest first, as created
	for _, m := range s.messages {
		if m.ChannelID == r.params["channel_id"] && !m.Ephemeral {
			all = append(all, m)
		}
	}
	// first is the index of the first message at or after the anchor.
	first := func() int {
		return slices.IndexFunc(all, func(m *Message) bool { id, _ := strconv.ParseUint(m.ID, 10, 64); return id >= anchor })
	}
	page := all
	switch anchorName {
	case "":
		page = all[max(0, len(all)-limit):]
	case "before":
		end := first()
		if end < 0 {
			end = len(all)
		}
		page = all[max(0, end-limit):end]
	case "after":
		start := first()
		if start < 0 {
			start = len(all)
		}
		if start < len(all) && all[start].ID == strconv.FormatUint(anchor, 10) {
			start++
		}
		page = all[start:min(len(all), start+limit)]
	case "around":
		at := first()
		if at < 0 {
			at = len(all)
		}
		start := max(0, at-limit/2)
		end := min(len(all), start+limit)
		page = all[max(0, end-limit):end]
	}
	out := make([]map[string]any, 0, len(page))
	for i := len(page) - 1; i >= 0; i-- {
		out = append(out, s.messageJSON(page[i]))
	}
	return ok(out)
}

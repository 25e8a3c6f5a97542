package slacktest

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Bounds of conversations.history's limit.
const (
	historyDefaultLimit = 100
	historyMaxLimit     = 999
)

// Say adds a member's message to a channel, as if user had typed it; with
// threadTS it is a reply under that root. It is listed by
// conversations.history (replies are not) like the bot's own; it is not
// delivered as an event.
func (s *Server) Say(channel, user, text, threadTS string) (ts string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !channelExists(channel):
		return "", fmt.Errorf("slacktest: %q is not a channel id", channel)
	case !userID.MatchString(user) || user == BotUserID:
		return "", fmt.Errorf("slacktest: %q is not a member's user id", user)
	case strings.TrimSpace(text) == "":
		return "", fmt.Errorf("slacktest: a member's message needs text")
	}
	if threadTS != "" {
		if root := s.find(channel, threadTS); root == nil || root.ThreadTS != "" {
			return "", fmt.Errorf("slacktest: no root %s in %s to reply to", threadTS, channel)
		}
	}
	m := &Message{Channel: channel, TS: s.nextTS(), ThreadTS: threadTS, Author: user, Text: text}
	s.messages = append(s.messages, m)
	s.notify()
	return m.TS, nil
}

// conversationHistory is conversations.history: the channel's messages,
// newest first, without thread replies (a root says how many it has); at
// most limit (default 100, up to 999) of them between oldest and latest
// (exclusive unless inclusive), and a cursor to the next page when there
// are more.
func (s *Server) conversationHistory(p url.Values) reply {
	channel := p.Get("channel")
	if !channelExists(channel) {
		return refuse("channel_not_found")
	}
	limit := historyDefaultLimit
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return refuse("invalid_arguments", fmt.Sprintf("[ERROR] limit must be a whole number, got %q", v))
		}
		if n > 0 {
			limit = min(n, historyMaxLimit)
		}
	}
	inclusive := p.Get("inclusive") == "1" || p.Get("inclusive") == "true"
	oldest, latest := int64(0), int64(-1)
	if v := p.Get("oldest"); v != "" {
		var ok bool
		if oldest, ok = tsMicros(v); !ok {
			return refuse("invalid_ts_oldest")
		}
	}
	if v := p.Get("latest"); v != "" {
		var ok bool
		if latest, ok = tsMicros(v); !ok {
			return refuse("invalid_ts_latest")
		}
	}
	upTo := int64(-1) // from the cursor: no message newer than this
	if v := p.Get("cursor"); v != "" {
		raw, err := base64.StdEncoding.DecodeString(v)
		next, found := strings.CutPrefix(string(raw), "next_ts:")
		n, perr := strconv.ParseInt(next, 10, 64)
		if err != nil || !found || perr != nil {
			return refuse("invalid_cursor")
		}
		upTo = n
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var page []map[string]any
	more, nextTS := false, int64(0)
	for _, m := range slices.Backward(s.messages) {
		if m.Channel != channel || m.ThreadTS != "" {
			continue
		}
		at, _ := tsMicros(m.TS)
		switch {
		case at < oldest || (at == oldest && !inclusive && p.Has("oldest")):
			continue
		case latest >= 0 && (at > latest || (at == latest && !inclusive)):
			continue
		case upTo >= 0 && at > upTo:
			continue
		}
		if len(page) == limit {
			more, nextTS = true, at
			break
		}
		page = append(page, s.historyJSON(m))
	}
	if page == nil {
		page = []map[string]any{}
	}
	fields := map[string]any{"messages": page, "has_more": more, "pin_count": 0,
		"channel_actions_ts": nil, "channel_actions_count": 0}
	if more {
		cursor := base64.StdEncoding.EncodeToString([]byte("next_ts:" + strconv.FormatInt(nextTS, 10)))
		fields["response_metadata"] = map[string]any{"next_cursor": cursor}
	}
	return ok(fields)
}

// historyJSON is a channel message as conversations.history lists it: a
// root with replies says how many, from whom and the newest; s.mu is held.
func (s *Server) historyJSON(m *Message) map[string]any {
	out := messageJSON(m)
	var users []string
	replies, latest := 0, ""
	for _, r := range s.messages {
		if r.Channel == m.Channel && r.ThreadTS == m.TS {
			replies, latest = replies+1, r.TS
			if by := r.author(); !slices.Contains(users, by) {
				users = append(users, by)
			}
		}
	}
	if replies > 0 {
		out["thread_ts"] = m.TS
		out["reply_count"] = replies
		out["reply_users_count"] = len(users)
		out["reply_users"] = users
		out["latest_reply"] = latest
		out["is_locked"] = false
		out["subscribed"] = false
	}
	return out
}

// tsMicros reads a message ts ("1700000000.000100") as microseconds.
func tsMicros(ts string) (int64, bool) {
	secs, frac, _ := strings.Cut(ts, ".")
	if len(frac) > 6 {
		return 0, false
	}
	frac += strings.Repeat("0", 6-len(frac))
	s, err1 := strconv.ParseInt(secs, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || s < 0 || f < 0 {
		return 0, false
	}
	return s*1_000_000 + f, true
}

package slacktest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Slack's limits on a message.
const (
	textLimit  = 40000 // characters of text: msg_too_long
	blockLimit = 50    // blocks in a message: invalid_blocks
)

var (
	channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	userID    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	emojiName = regexp.MustCompile(`^[a-z0-9_+'-]+(::skin-tone-[2-6])?$`)
)

type handler func(s *Server, p url.Values) reply

// methods are the Web API methods the fake speaks; others are unknown_method.
var methods = map[string]handler{
	"auth.test":             (*Server).authTest,
	"chat.postMessage":      (*Server).postMessage,
	"chat.update":           (*Server).update,
	"chat.postEphemeral":    (*Server).postEphemeral,
	"reactions.add":         (*Server).addReaction,
	"conversations.info":    (*Server).conversationInfo,
	"conversations.history": (*Server).conversationHistory,
	"users.info":            (*Server).userInfo,
	"views.open":            (*Server).openView,
	"usergroups.list":       (*Server).listUserGroups,
}

func (s *Server) authTest(url.Values) reply {
	return ok(map[string]any{
		"url": "https://hotline-test.slack.com/", "team": "Hotline Test", "user": "hotline",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false,
	})
}

// channelExists: every well-formed channel id is a channel the bot is in;
// names and malformed ids are not found. not_in_channel and friends come
// from FailNext.
func channelExists(id string) bool { return channelID.MatchString(id) }

func (s *Server) postMessage(p url.Values) reply {
	channel := p.Get("channel")
	if !channelExists(channel) {
		return refuse("channel_not_found")
	}
	text, blocks := p.Get("text"), p.Get("blocks")
	if rep, bad := checkContent(text, blocks, p.Get("attachments")); bad {
		return rep
	}
	threadTS := p.Get("thread_ts")

	s.mu.Lock()
	defer s.mu.Unlock()
	if threadTS != "" {
		root := s.find(channel, threadTS)
		if root == nil || root.ThreadTS != "" {
			return refuse("thread_not_found")
		}
	}
	m := &Message{Channel: channel, TS: s.nextTS(), ThreadTS: threadTS, Text: text, Blocks: rawBlocks(blocks)}
	s.messages = append(s.messages, m)
	s.notify()
	return ok(map[string]any{"channel": channel, "ts": m.TS, "message": messageJSON(m)})
}

func (s *Server) update(p url.Values) reply {
	channel, ts := p.Get("channel"), p.Get("ts")
	if !channelExists(channel) {
		return refuse("channel_not_found")
	}
	if ts == "" {
		return refuse("message_not_found")
	}
	text, blocks := p.Get("text"), p.Get("blocks")
	if rep, bad := checkContent(text, blocks, p.Get("attachments")); bad {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.find(channel, ts)
	if m == nil {
		return refuse("message_not_found")
	}
	if m.Author != "" {
		return refuse("cant_update_message")
	}
	if p.Has("text") {
		m.Text = text
	}
	if p.Has("blocks") {
		m.Blocks = rawBlocks(blocks)
	}
	m.Edited++
	s.notify()
	return ok(map[string]any{"channel": channel, "ts": ts, "text": m.Text, "message": messageJSON(m)})
}

func (s *Server) postEphemeral(p url.Values) reply {
	channel, user := p.Get("channel"), p.Get("user")
	if !channelExists(channel) {
		return refuse("channel_not_found")
	}
	if !userID.MatchString(user) {
		return refuse("user_not_found")
	}
	text, blocks := p.Get("text"), p.Get("blocks")
	if rep, bad := checkContent(text, blocks, p.Get("attachments")); bad {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	threadTS := p.Get("thread_ts")
	if threadTS != "" && s.find(channel, threadTS) == nil {
		return refuse("thread_not_found")
	}
	m := Message{Channel: channel, TS: s.nextTS(), ThreadTS: threadTS, User: user, Text: text, Blocks: rawBlocks(blocks)}
	s.ephemerals = append(s.ephemerals, m)
	return ok(map[string]any{"message_ts": m.TS})
}

func (s *Server) addReaction(p url.Values) reply {
	channel, ts, name := p.Get("channel"), p.Get("timestamp"), strings.Trim(p.Get("name"), ":")
	if !channelExists(channel) {
		return refuse("channel_not_found")
	}
	if name == "" || !emojiName.MatchString(name) {
		return refuse("invalid_name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.find(channel, ts)
	if m == nil {
		return refuse("message_not_found")
	}
	if slices.Contains(m.Reactions, name) {
		return refuse("already_reacted")
	}
	m.Reactions = append(m.Reactions, name)
	return ok(nil)
}

func (s *Server) conversationInfo(p url.Values) reply {
	id := p.Get("channel")
	if !channelExists(id) {
		return refuse("channel_not_found")
	}
	return ok(map[string]any{"channel": map[string]any{
		"id": id, "name": strings.ToLower(id), "is_channel": id[0] == 'C', "is_group": id[0] == 'G',
		"is_im": id[0] == 'D', "is_private": id[0] == 'G', "is_member": true, "is_archived": false,
		"created": 1700000000,
	}})
}

func (s *Server) userInfo(p url.Values) reply {
	id := p.Get("user")
	if !userID.MatchString(id) {
		return refuse("user_not_found")
	}
	name := strings.ToLower(id)
	return ok(map[string]any{"user": map[string]any{
		"id": id, "team_id": TeamID, "name": name, "real_name": name, "deleted": false, "is_bot": false,
		"tz": "Asia/Tokyo", "profile": map[string]any{"real_name": name, "display_name": name},
	}})
}

// checkContent applies Slack's rules for a message body: something to show,
// text within 40,000 characters, blocks that Block Kit accepts.
func checkContent(text, blocks, attachments string) (reply, bool) {
	if strings.TrimSpace(text) == "" && blocks == "" && attachments == "" {
		return refuse("no_text"), true
	}
	if n := utf8.RuneCountInString(text); n > textLimit {
		return refuse("msg_too_long", fmt.Sprintf("[ERROR] text is %d characters, over %d", n, textLimit)), true
	}
	if blocks != "" {
		if code, why := checkBlocks(blocks); code != "" {
			return refuse(code, why), true
		}
	}
	return reply{}, false
}

// find returns the channel's message with ts; s.mu is held.
func (s *Server) find(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// nextTS is a fresh message ts, increasing like Slack's: 1700000000.000100,
// 1700000000.000200, ...; s.mu is held.
func (s *Server) nextTS() string {
	s.seq++
	micros := s.seq * 100
	return fmt.Sprintf("%d.%06d", 1700000000+micros/1_000_000, micros%1_000_000)
}

// notify wakes WaitMessages; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func rawBlocks(blocks string) json.RawMessage {
	if blocks == "" {
		return nil
	}
	return json.RawMessage(blocks)
}

// author is the user id who posted m: the bot's user or a member.
func (m *Message) author() string {
	if m.Author != "" {
		return m.Author
	}
	return BotUserID
}

func messageJSON(m *Message) map[string]any {
	out := map[string]any{
		"type": "message", "user": m.author(), "team": TeamID,
		"text": m.Text, "ts": m.TS,
	}
	if m.Author == "" {
		out["bot_id"] = BotID
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.Edited > 0 {
		out["edited"] = map[string]any{"user": m.author(), "ts": m.TS}
	}
	return out
}

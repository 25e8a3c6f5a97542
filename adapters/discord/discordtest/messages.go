package discordtest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Message is a message as Discord holds it, after every edit.
type Message struct {
	ID              string
	ChannelID       string // a channel or a thread
	AuthorID        string // empty for the bot's own; a member's user id (Say)
	Content         string
	Embeds          []Embed
	Components      []Component      // action rows
	AllowedMentions *AllowedMentions // as last sent; nil when no request carried one
	MentionEveryone bool             // its creation pinged @everyone or @here
	ReplyTo         string           // message_reference.message_id of a reply
	Flags           int
	Ephemeral       bool   // an interaction response or follow-up only its user sees
	InteractionID   string // the interaction it answers or follows up
	Edits           int    // edits through PATCH (channel message, webhook, type 7 update)
	ThreadID        string // the thread started from it
	Reactions       []Reaction
	Files           []string // names of attached files
	Body            json.RawMessage
	CreatedAt       time.Time
	EditedAt        time.Time // zero until edited

	rawComponents json.RawMessage // echoed as sent
	attachmentIDs []string
	messageType   int
}

// Reaction is a reaction a user added (React).
type Reaction struct {
	UserID string
	Emoji  string
}

// Buttons returns the message's buttons, row by row.
func (m Message) Buttons() []Component {
	var out []Component
	var walk func([]Component)
	walk = func(cs []Component) {
		for _, c := range cs {
			if c.Type == ComponentButton {
				out = append(out, c)
			}
			walk(c.Components)
		}
	}
	walk(m.Components)
	return out
}

// Button returns the button with customID.
func (m Message) Button(customID string) (Component, bool) {
	for _, b := range m.Buttons() {
		if b.CustomID == customID {
			return b, true
		}
	}
	return Component{}, false
}

func (m *Message) clone() Message {
	c := *m
	c.Embeds = slices.Clone(m.Embeds)
	for i := range c.Embeds {
		c.Embeds[i].Fields = slices.Clone(m.Embeds[i].Fields)
	}
	c.Components = cloneComponents(m.Components)
	if m.AllowedMentions != nil {
		a := *m.AllowedMentions
		a.Parse, a.Users, a.Roles = slices.Clone(a.Parse), slices.Clone(a.Users), slices.Clone(a.Roles)
		c.AllowedMentions = &a
	}
	c.Reactions = slices.Clone(m.Reactions)
	c.Files = slices.Clone(m.Files)
	c.Body = slices.Clone(m.Body)
	c.rawComponents = slices.Clone(m.rawComponents)
	c.attachmentIDs = slices.Clone(m.attachmentIDs)
	return c
}

func cloneComponents(cs []Component) []Component {
	if cs == nil {
		return nil
	}
	out := slices.Clone(cs)
	for i := range out {
		out[i].Options = slices.Clone(cs[i].Options)
		out[i].Components = cloneComponents(cs[i].Components)
	}
	return out
}

// Messages returns the channel's (or thread's) messages in the order they
// were created. Ephemeral interaction responses are not in any channel;
// Responses has them.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.ChannelID == channelID && !m.Ephemeral {
			out = append(out, m.clone())
		}
	}
	return out
}

// Message returns the message with id, ephemeral ones included.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findMessage(id); m != nil {
		return m.clone(), true
	}
	return Message{}, false
}

// Thread returns the thread started from the message.
func (s *Server) Thread(messageID string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[messageID]
	if !ok || c.Type != ChannelTypePublicThread {
		return Channel{}, false
	}
	return *c, true
}

// WaitMessages waits until the channel (or thread) holds at least n
// messages.
func (s *Server) WaitMessages(ctx context.Context, channelID string, n int) error {
	got := 0
	err := s.waitUntil(ctx, func() bool {
		got = 0
		for _, m := range s.messages {
			if m.ChannelID == channelID && !m.Ephemeral {
				got++
			}
		}
		return got >= n
	})
	if err != nil {
		return fmt.Errorf("discordtest: %d of %d messages in %s: %w", got, n, channelID, err)
	}
	return nil
}

// findMessage: s.mu is held.
func (s *Server) findMessage(id string) *Message {
	for _, m := range s.messages {
		if m.ID == id {
			return m
		}
	}
	return nil
}

func (s *Server) getChannel(r *request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[r.params["channel_id"]]
	if c == nil {
		return unknownChannel()
	}
	return ok(s.channelJSON(c))
}

func (s *Server) getMessage(r *request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[r.params["channel_id"]] == nil {
		return unknownChannel()
	}
	m := s.findMessage(r.params["message_id"])
	if m == nil || m.ChannelID != r.params["channel_id"] || m.Ephemeral {
		return unknownMessage()
	}
	return ok(s.messageJSON(m))
}

func (s *Server) createMessage(r *request) reply {
	var errs formErrors
	p := parsePayload(r.body, r.files, &errs)
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[r.params["channel_id"]]
	if ch == nil {
		return unknownChannel()
	}
	p.check(&errs)
	if p.replyTo != nil {
		ref := s.findMessage(p.replyTo.MessageID)
		mustExist := p.replyTo.FailIfNotExists == nil || *p.replyTo.FailIfNotExists
		if (ref == nil || ref.ChannelID != ch.ID || ref.Ephemeral) && mustExist {
			errs.add("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
		}
	}
	if !errs.empty() {
		return errs.reply()
	}
	if p.empty() {
		return emptyMessage()
	}
	m := s.newMessage(ch.ID, &p, r.body)
	s.announce("MESSAGE_CREATE", m)
	return ok(s.messageJSON(m))
}

// newMessage stores a message the bot created and announces it on the
// gateway; s.mu is held.
func (s *Server) newMessage(channelID string, p *payload, body []byte) *Message {
	now := time.Now()
	m := &Message{
		ID: s.nextID(), ChannelID: channelID, Content: p.content, Embeds: p.embeds,
		Components: p.components, rawComponents: p.rawComps, AllowedMentions: p.allowed,
		MentionEveryone: pingsEveryone(p.content, p.allowed), Flags: p.flags,
		Files: p.files, Body: slices.Clone(body), CreatedAt: now,
	}
	for range p.files {
		m.attachmentIDs = append(m.attachmentIDs, s.nextID())
	}
	if p.replyTo != nil && s.findMessage(p.replyTo.MessageID) != nil {
		m.ReplyTo = p.replyTo.MessageID
		m.messageType = 19
	}
	s.messages = append(s.messages, m)
	if m.MentionEveryone {
		s.everyone++
	}
	s.notify()
	return m
}

// announce queues MESSAGE_CREATE or MESSAGE_UPDATE for a message everyone
// in the channel sees; s.mu is held.
func (s *Server) announce(event string, m *Message) {
	if m.Ephemeral {
		return
	}
	data := s.messageJSON(m)
	data["guild_id"] = GuildID
	data["member"] = map[string]any{"roles": []string{}, "joined_at": timestamp(m.CreatedAt), "deaf": false, "mute": false, "flags": 0}
	s.queue(event, data, IntentGuildMessages)
}

func (s *Server) editMessage(r *request) reply {
	var errs formErrors
	p := parsePayload(r.body, r.files, &errs)
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[r.params["channel_id"]]
	if ch == nil {
		return unknownChannel()
	}
	m := s.findMessage(r.params["message_id"])
	if m == nil || m.ChannelID != ch.ID || m.Ephemeral {
		return unknownMessage()
	}
	if m.AuthorID != "" {
		return apiError(http.StatusForbidden, 50005, "Cannot edit a message authored by another user")
	}
	if rep, failed := s.applyEdit(m, &p, r.body, &errs); failed {
		return rep
	}
	return ok(s.messageJSON(m))
}

// applyEdit changes the fields the edit carries, after checking them and
// that the message would still show something; s.mu is held.
func (s *Server) applyEdit(m *Message, p *payload, body []byte, errs *formErrors) (reply, bool) {
	p.check(errs)
	if !errs.empty() {
		return errs.reply(), true
	}
	next := m.clone()
	if p.present["content"] {
		next.Content = p.content
	}
	if p.present["embeds"] {
		next.Embeds = p.embeds
	}
	if p.present["components"] {
		next.Components, next.rawComponents = p.components, p.rawComps
	}
	if p.present["allowed_mentions"] {
		next.AllowedMentions = p.allowed
	}
	if p.present["flags"] {
		next.Flags = next.Flags&^FlagSuppressEmbeds | p.flags&FlagSuppressEmbeds
	}
	next.Files = append(next.Files, p.files...)
	after := payload{content: next.Content, embeds: next.Embeds, components: next.Components, files: next.Files}
	if after.empty() {
		return emptyMessage(), true
	}
	for range p.files {
		next.attachmentIDs = append(next.attachmentIDs, s.nextID())
	}
	next.Flags &^= FlagLoading
	next.Edits++
	next.EditedAt = time.Now()
	next.Body = slices.Clone(body)
	*m = next
	s.announce("MESSAGE_UPDATE", m)
	s.notify()
	return reply{}, false
}

// Thread auto-archive durations Discord takes, in minutes.
var archiveDurations = []int{60, 1440, 4320, 10080}

func (s *Server) startThread(r *request) reply {
	var body struct {
		Name                string `json:"name"`
		AutoArchiveDuration int    `json:"auto_archive_duration"`
	}
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, &body); err != nil {
			return invalidJSON()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[r.params["channel_id"]]
	if ch == nil {
		return unknownChannel()
	}
	if ch.Type != ChannelTypeText {
		return apiError(http.StatusBadRequest, 50024, "Cannot execute action on this channel type")
	}
	m := s.findMessage(r.params["message_id"])
	if m == nil || m.ChannelID != ch.ID || m.Ephemeral {
		return unknownMessage()
	}
	var errs formErrors
	errs.length("name", body.Name, 1, 100)
	if body.AutoArchiveDuration != 0 && !slices.Contains(archiveDurations, body.AutoArchiveDuration) {
		errs.add("auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.")
	}
	if !errs.empty() {
		return errs.reply()
	}
	if m.ThreadID != "" {
		return apiError(http.StatusBadRequest, 160004, "A thread has already been created for this message")
	}
	thread := &Channel{
		ID: m.ID, Type: ChannelTypePublicThread, Name: body.Name, GuildID: GuildID, ParentID: ch.ID,
		OwnerID: BotUserID, AutoArchiveDuration: cmp.Or(body.AutoArchiveDuration, 4320),
	}
	s.channels[thread.ID] = thread
	m.ThreadID = thread.ID
	m.Flags |= 1 << 5 // HAS_THREAD
	data := s.channelJSON(thread)
	data["newly_created"] = true
	s.queue("THREAD_CREATE", data, IntentGuilds)
	s.notify()
	return reply{status: http.StatusCreated, body: s.channelJSON(thread)}
}

func botUserJSON() map[string]any {
	return map[string]any{
		"id": BotUserID, "username": BotUsername, "global_name": nil, "discriminator": "0",
		"avatar": nil, "bot": true, "public_flags": 0, "flags": 0,
	}
}

// channelJSON: s.mu is held.
func (s *Server) channelJSON(c *Channel) map[string]any {
	out := map[string]any{
		"id": c.ID, "type": c.Type, "guild_id": c.GuildID, "name": c.Name, "flags": 0,
		"rate_limit_per_user": 0, "nsfw": false, "last_message_id": nil,
	}
	var last string
	for _, m := range s.messages {
		if m.ChannelID == c.ID && !m.Ephemeral {
			last = m.ID
		}
	}
	if last != "" {
		out["last_message_id"] = last
	}
	if c.Type == ChannelTypeText {
		out["position"] = 0
		out["topic"] = nil
		out["parent_id"] = nil
		out["permission_overwrites"] = []any{}
		return out
	}
	created := time.Now()
	if parent := s.findMessage(c.ID); parent != nil {
		created = parent.CreatedAt
	}
	out["parent_id"] = c.ParentID
	out["owner_id"] = c.OwnerID
	out["member_count"] = 1
	out["message_count"] = 0
	out["total_message_sent"] = 0
	out["thread_metadata"] = map[string]any{
		"archived": false, "auto_archive_duration": c.AutoArchiveDuration, "archive_timestamp": timestamp(created),
		"locked": false, "create_timestamp": timestamp(created),
	}
	return out
}

// messageJSON is the message object Discord answers with; s.mu is held.
func (s *Server) messageJSON(m *Message) map[string]any {
	embeds := slices.Clone(m.Embeds)
	for i := range embeds {
		embeds[i].Type = cmp.Or(embeds[i].Type, "rich")
	}
	if embeds == nil {
		embeds = []Embed{}
	}
	var components any = []any{}
	if len(m.rawComponents) > 0 {
		components = m.rawComponents
	}
	attachments := []any{}
	for i, name := range m.Files {
		attachments = append(attachments, map[string]any{
			"id": m.attachmentIDs[i], "filename": name, "size": 0,
			"url":       "https://cdn.discordapp.com/attachments/" + m.ChannelID + "/" + m.attachmentIDs[i] + "/" + name,
			"proxy_url": "https://media.discordapp.net/attachments/" + m.ChannelID + "/" + m.attachmentIDs[i] + "/" + name,
		})
	}
	var author any = botUserJSON()
	if m.AuthorID != "" {
		author = User{ID: m.AuthorID}
	}
	out := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "type": m.messageType, "content": m.Content,
		"author": author, "attachments": attachments, "embeds": embeds, "components": components,
		"mentions": []any{}, "mention_roles": []any{}, "mention_everyone": m.MentionEveryone,
		"pinned": false, "tts": false, "flags": m.Flags, "timestamp": timestamp(m.CreatedAt), "edited_timestamp": nil,
	}
	if !m.EditedAt.IsZero() {
		out["edited_timestamp"] = timestamp(m.EditedAt)
	}
	if m.ReplyTo != "" {
		out["message_reference"] = map[string]any{"type": 0, "message_id": m.ReplyTo, "channel_id": m.ChannelID, "guild_id": GuildID}
	}
	if t := s.channels[m.ThreadID]; t != nil {
		out["thread"] = s.channelJSON(t)
	}
	if rec := s.interactions[m.InteractionID]; rec != nil {
		user := rec.user()
		out["webhook_id"] = ApplicationID
		out["application_id"] = ApplicationID
		out["interaction_metadata"] = map[string]any{
			"id": rec.i.ID, "type": rec.i.Type, "user": user,
			"authorizing_integration_owners": map[string]any{"0": GuildID},
		}
	}
	return out
}

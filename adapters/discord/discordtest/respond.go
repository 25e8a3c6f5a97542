package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Interaction response (callback) types.
const (
	ResponsePong            = 1
	ResponseMessage         = 4 // CHANNEL_MESSAGE_WITH_SOURCE
	ResponseDeferredMessage = 5 // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: "Bot is thinking..."
	ResponseDeferredUpdate  = 6 // DEFERRED_UPDATE_MESSAGE
	ResponseUpdate          = 7 // UPDATE_MESSAGE
	ResponseAutocomplete    = 8
	ResponseModal           = 9
)

// allowedResponses are the callback types Discord takes for each
// interaction type.
var allowedResponses = map[int][]int{
	InteractionPing:         {ResponsePong},
	InteractionCommand:      {ResponseMessage, ResponseDeferredMessage, ResponseModal},
	InteractionComponent:    {ResponseMessage, ResponseDeferredMessage, ResponseDeferredUpdate, ResponseUpdate, ResponseModal},
	InteractionAutocomplete: {ResponseAutocomplete},
	InteractionModalSubmit:  {ResponseMessage, ResponseDeferredMessage, ResponseDeferredUpdate, ResponseUpdate},
}

// ResponseKind says how the bot answered an interaction.
type ResponseKind string

// Response kinds.
const (
	KindCallback ResponseKind = "callback" // POST interactions/{id}/{token}/callback, or an HTTP endpoint's answer
	KindEdit     ResponseKind = "edit"     // PATCH webhooks/{app}/{token}/messages/{@original or a follow-up}
	KindFollowup ResponseKind = "followup" // POST webhooks/{app}/{token}
)

// Response is one answer to an interaction, as recorded. For a response
// that shows a message (a type 4 or 7 callback, an edit, a follow-up) the
// message fields are the message as it is after it; for the others they
// are what the body carried.
type Response struct {
	Kind            ResponseKind
	Type            int    // a callback's type (ResponseMessage, ...); 0 for edits and follow-ups
	MessageID       string // the message it created or changed, if any
	Content         string
	Embeds          []Embed
	Components      []Component // message rows, or a modal's rows of text inputs
	Flags           int
	AllowedMentions *AllowedMentions
	CustomID        string // a modal's
	Title           string // a modal's
	Body            json.RawMessage
	At              time.Time
}

// Ephemeral says only the interaction's user sees the message.
func (r Response) Ephemeral() bool { return r.Flags&FlagEphemeral != 0 }

// ErrNoResponse is returned by Pending.Wait when the interaction's
// deadline passed without a response: Discord shows "The application did
// not respond".
var ErrNoResponse = errors.New("discordtest: no response to the interaction in time")

// Pending is an interaction Discord delivered, waiting for the bot.
type Pending struct {
	Interaction Interaction // as delivered: id, token, data
	srv         *Server
}

// Wait waits for the interaction's first response (the callback) and
// returns it; ErrNoResponse once the deadline (3 s) passed without one.
func (p *Pending) Wait(ctx context.Context) (Response, error) {
	s := p.srv
	s.mu.Lock()
	rec := s.interactions[p.Interaction.ID]
	var deadline time.Time
	if rec != nil {
		deadline = rec.at.Add(s.cfg.deadline)
	}
	s.mu.Unlock()
	if rec == nil {
		return Response{}, fmt.Errorf("discordtest: unknown interaction %s", p.Interaction.ID)
	}
	timely, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	err := s.waitUntil(timely, func() bool { return rec.acked })
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.acked {
		return rec.responses[0].clone(), nil
	}
	if ctx.Err() != nil {
		return Response{}, fmt.Errorf("discordtest: waiting for a response to %s: %w", rec.i.ID, ctx.Err())
	}
	return Response{}, fmt.Errorf("%w (%s after it was delivered): %w", ErrNoResponse, s.cfg.deadline, err)
}

// Responses returns every answer to the interaction so far: the callback,
// then edits and follow-ups, in order.
func (s *Server) Responses(interactionID string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.interactions[interactionID]
	if rec == nil {
		return nil
	}
	out := make([]Response, len(rec.responses))
	for i, r := range rec.responses {
		out[i] = r.clone()
	}
	return out
}

// fill takes the message's fields as they are after the response.
func (r *Response) fill(m *Message) {
	if m == nil {
		return
	}
	c := m.clone()
	r.MessageID, r.Content, r.Embeds, r.Components = c.ID, c.Content, c.Embeds, c.Components
	r.Flags, r.AllowedMentions = c.Flags, c.AllowedMentions
}

func (r Response) clone() Response {
	c := r
	if r.AllowedMentions != nil {
		a := *r.AllowedMentions
		a.Parse, a.Users, a.Roles = slices.Clone(a.Parse), slices.Clone(a.Users), slices.Clone(a.Roles)
		c.AllowedMentions = &a
	}
	c.Embeds = slices.Clone(r.Embeds)
	c.Components = cloneComponents(r.Components)
	c.Body = slices.Clone(r.Body)
	return c
}

func unknownInteraction() reply { return apiError(http.StatusNotFound, 10062, "Unknown interaction") }

func (s *Server) interactionCallback(r *request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.interactions[r.params["interaction_id"]]
	switch {
	case rec == nil || rec.i.Token != r.params["interaction_token"]:
		return unknownInteraction()
	case rec.acked:
		return apiError(http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
	case time.Since(rec.at) > s.cfg.deadline:
		return unknownInteraction()
	}
	return s.respond(rec, r.body, r.files)
}

// respond takes an interaction's first response; s.mu is held.
func (s *Server) respond(rec *interactionRecord, body []byte, files []string) reply {
	var head struct {
		Type *int            `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if len(body) == 0 || json.Unmarshal(body, &head) != nil {
		return invalidJSON()
	}
	var errs formErrors
	allowed := allowedResponses[rec.i.Type]
	switch {
	case head.Type == nil:
		errs.required("type")
	case !slices.Contains(allowed, *head.Type):
		errs.add("type", "INTERACTION_RESPONSE_TYPE_INVALID", fmt.Sprintf("Value must be one of %v.", allowed))
	}
	if !errs.empty() {
		return errs.reply()
	}
	errs.prefix = "data"
	p := parsePayload(head.Data, files, &errs)
	typ := *head.Type
	resp := Response{Kind: KindCallback, Type: typ, Body: slices.Clone(body), At: time.Now()}
	switch typ {
	case ResponseMessage:
		p.check(&errs)
		if !errs.empty() {
			return errs.reply()
		}
		if p.empty() {
			return emptyMessage()
		}
		m := s.interactionMessage(rec, &p, head.Data)
		rec.original = m.ID
		resp.MessageID = m.ID
	case ResponseDeferredMessage:
		p.check(&errs)
		if !errs.empty() {
			return errs.reply()
		}
		thinking := payload{flags: FlagLoading | p.flags&FlagEphemeral}
		m := s.interactionMessage(rec, &thinking, nil)
		rec.original = m.ID
		resp.MessageID = m.ID
	case ResponseDeferredUpdate, ResponseUpdate:
		target := s.componentMessage(rec)
		if target == nil {
			errs.prefix = ""
			errs.add("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Only a component's interaction can update its message.")
			return errs.reply()
		}
		if typ == ResponseUpdate {
			if rep, failed := s.applyEdit(target, &p, head.Data, &errs); failed {
				return rep
			}
		}
		rec.original = target.ID
		resp.MessageID = target.ID
	case ResponseAutocomplete:
		if len(p.choices) > 25 {
			errs.maxLength("choices", 25)
			return errs.reply()
		}
	case ResponseModal:
		fields := checkModal(&errs, &p)
		if !errs.empty() {
			return errs.reply()
		}
		s.modals[p.customID] = fields
		resp.CustomID, resp.Title = p.customID, p.title
	}
	resp.Content, resp.Embeds, resp.Components = p.content, p.embeds, p.components
	resp.Flags, resp.AllowedMentions = p.flags, p.allowed
	if typ == ResponseMessage || typ == ResponseUpdate {
		resp.fill(s.findMessage(resp.MessageID))
	}
	rec.acked = true
	rec.responses = append(rec.responses, resp)
	s.notify()
	return noContent()
}

// interactionMessage creates the message an interaction response or
// follow-up shows; s.mu is held.
func (s *Server) interactionMessage(rec *interactionRecord, p *payload, body []byte) *Message {
	m := s.newMessage(rec.i.ChannelID, p, body)
	m.InteractionID = rec.i.ID
	m.Ephemeral = p.flags&FlagEphemeral != 0
	if rec.i.Type == InteractionCommand {
		m.messageType = 20 // CHAT_INPUT_COMMAND
	}
	s.announce("MESSAGE_CREATE", m)
	return m
}

// componentMessage is the message a component interaction came from;
// s.mu is held.
func (s *Server) componentMessage(rec *interactionRecord) *Message {
	id, _ := rec.i.Message["id"].(string)
	if id == "" {
		return nil
	}
	return s.findMessage(id)
}

// webhookInteraction finds the interaction an interaction webhook call is
// about; webhooks work once the interaction has its first response.
// s.mu is held.
func (s *Server) webhookInteraction(r *request) (*interactionRecord, reply, bool) {
	rec := s.tokens[r.params["interaction_token"]]
	if r.params["application_id"] != ApplicationID || rec == nil || !rec.acked {
		return nil, unknownWebhook(), false
	}
	return rec, reply{}, true
}

func (s *Server) followup(r *request) reply {
	var errs formErrors
	p := parsePayload(r.body, r.files, &errs)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, rep, found := s.webhookInteraction(r)
	if !found {
		return rep
	}
	p.check(&errs)
	if !errs.empty() {
		return errs.reply()
	}
	if p.empty() {
		return emptyMessage()
	}
	var m *Message
	if orig := s.findMessage(rec.original); orig != nil && orig.InteractionID == rec.i.ID && orig.Flags&FlagLoading != 0 {
		// The first follow-up after a deferred response takes the place
		// of its "is thinking..." message.
		if rep, failed := s.applyEdit(orig, &p, r.body, &errs); failed {
			return rep
		}
		m = orig
	} else {
		m = s.interactionMessage(rec, &p, r.body)
	}
	resp := Response{Kind: KindFollowup, Body: slices.Clone(r.body), At: time.Now()}
	resp.fill(m)
	rec.responses = append(rec.responses, resp)
	s.notify()
	if r.query.Get("wait") == "true" {
		return ok(s.messageJSON(m))
	}
	return noContent()
}

// webhookMessage is @original or one of the interaction's follow-ups;
// s.mu is held.
func (s *Server) webhookMessage(rec *interactionRecord, id string) *Message {
	if id == "@original" {
		return s.findMessage(rec.original)
	}
	if m := s.findMessage(id); m != nil && m.InteractionID == rec.i.ID {
		return m
	}
	return nil
}

func (s *Server) getWebhookMessage(r *request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, rep, found := s.webhookInteraction(r)
	if !found {
		return rep
	}
	m := s.webhookMessage(rec, r.params["message_id"])
	if m == nil {
		return unknownMessage()
	}
	return ok(s.messageJSON(m))
}

func (s *Server) editWebhookMessage(r *request) reply {
	var errs formErrors
	p := parsePayload(r.body, r.files, &errs)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, rep, found := s.webhookInteraction(r)
	if !found {
		return rep
	}
	m := s.webhookMessage(rec, r.params["message_id"])
	if m == nil {
		return unknownMessage()
	}
	if rep, failed := s.applyEdit(m, &p, r.body, &errs); failed {
		return rep
	}
	resp := Response{Kind: KindEdit, Body: slices.Clone(r.body), At: time.Now()}
	resp.fill(m)
	rec.responses = append(rec.responses, resp)
	s.notify()
	return ok(s.messageJSON(m))
}

package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
	"github.com/hotline-dev/hotline/commands/chattext"
	"github.com/hotline-dev/hotline/commands/chatwire"
)

const (
	// inboundMaxBody is far above anything Discord posts (an interaction
	// with its message is a few kilobytes).
	inboundMaxBody = 256 << 10
	// answerWithin bounds the work done before answering an interaction,
	// inside Discord's 3 s with room for the network; slower commands are
	// answered "thinking…" and their reply follows.
	answerWithin = 2 * time.Second
	// workTimeout bounds the work done after the answer.
	workTimeout = 30 * time.Second
	// signatureMaxAge refuses a signed request replayed later than this.
	signatureMaxAge = 5 * time.Minute
)

// A reaction on a message not (yet) known as an incident's is looked up
// again this often, this many times.
const (
	reactionLookups     = 5
	reactionLookupEvery = 200 * time.Millisecond
)

// postmortemModalID is the custom id of the postmortem form: "<id>:<n>".
const postmortemModalID = "incident.postmortem"

// The postmortem form's inputs.
const (
	inputCause     = "cause"
	inputFix       = "fix"
	inputFollowUps = "followups"
)

// Threads finds the incident a root message belongs to (chatwire.Threads).
type Threads = chatwire.Threads

// Dedup remembers the platform ids already handled, across replicas.
type Dedup = bot.Deduper

// InboundConfig is what the Discord inbound side needs.
type InboundConfig struct {
	// Session answers interactions and holds the gateway; the Chat's.
	Session *discordgo.Session
	// PublicKey (hex) verifies POST /v1/discord/interactions; empty: the
	// endpoint refuses everything and interactions come over the gateway.
	PublicKey string
	// ApplicationID owns /incident; empty: the one READY names.
	ApplicationID string
	// GuildID: register /incident in this guild only (at once); empty:
	// globally.
	GuildID   string
	Incidents commands.Incidents
	Threads   Threads
	Dedup     Dedup
	// Users maps a Discord user id to the contact id recorded as the
	// actor; unknown users act as their Discord user id.
	Users map[string]string
	// Reactions maps an emoji name (eyes) or the emoji itself (👀) to the
	// command it runs; nil means eyes=ack, raising_hand=own,
	// white_check_mark=resolve.
	Reactions map[string]string
	Locale    string
	// Services maps a channel id to its service: /incident new there opens
	// an incident of it, and its incident threads are looked up there.
	Services map[string]string
	// Phone serves escalate and oncall; nil: they explain that no phone
	// escalation is configured.
	Phone commands.Phone
	// Authorizer says who may run what; the groups are the member's roles
	// ("discord:<role id>"). nil: everyone may run everything.
	Authorizer *commands.Authorizer
	Logger     *slog.Logger
	// Now is the clock for signature ages; nil: time.Now.
	Now func() time.Time
}

// Inbound handles Discord's interactions (the /incident command, the
// buttons and the postmortem form) and reactions, over the gateway or the
// HTTP interactions endpoint.
type Inbound struct {
	session   *discordgo.Session
	publicKey ed25519.PublicKey
	appID     string
	guildID   string
	incidents commands.Incidents
	threads   Threads
	dedup     Dedup
	users     map[string]string
	reactions map[string]string // emoji as Discord sends it → verb
	locale    string
	services  map[string]string
	phone     commands.Phone
	authz     *commands.Authorizer
	log       *slog.Logger
	now       func() time.Time

	answerWithin time.Duration
	work         *chatwire.Work

	mu        sync.Mutex
	botUserID string
	readyApp  string
}

// NewInbound checks cfg and names every problem at once.
func NewInbound(cfg InboundConfig) (*Inbound, error) {
	var problems bot.Problems
	if cfg.Session == nil {
		problems.Add("session", "is required")
	}
	var key ed25519.PublicKey
	if cfg.PublicKey != "" {
		b, err := hex.DecodeString(cfg.PublicKey)
		if err != nil || len(b) != ed25519.PublicKeySize {
			problems.Add("chat.discord.public_key", "must be the application's public key: 64 hex digits")
		}
		key = b
	}
	if cfg.Incidents == nil {
		problems.Add("incidents", "is required")
	}
	if cfg.Threads == nil {
		problems.Add("threads", "is required")
	}
	if cfg.Dedup == nil {
		problems.Add("dedup", "is required")
	}
	reactions := map[string]string{}
	src := cfg.Reactions
	if src == nil {
		src = map[string]string{"eyes": commands.VerbAck, "raising_hand": commands.VerbOwn, "white_check_mark": commands.VerbResolve}
	}
	for name, verb := range src {
		if _, err := commands.Parse(verb + " INC-1"); err != nil || strings.TrimSpace(verb) == "" {
			problems.Add("reactions."+name, fmt.Sprintf("%q is not a command that needs nothing but the incident (ack, own, resolve)", verb))
			continue
		}
		reactions[emojiFor(name)] = verb
	}
	if err := problems.Err(); err != nil {
		return nil, fmt.Errorf("discord inbound: %w", err)
	}
	h := &Inbound{
		session: cfg.Session, publicKey: key, appID: cfg.ApplicationID, guildID: cfg.GuildID,
		incidents: cfg.Incidents, threads: cfg.Threads, dedup: cfg.Dedup, users: maps.Clone(cfg.Users),
		reactions: reactions, locale: cfg.Locale, services: maps.Clone(cfg.Services), phone: cfg.Phone,
		authz: cfg.Authorizer, log: cfg.Logger, now: cfg.Now, answerWithin: answerWithin,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.log = h.log.With("platform", "discord")
	h.work = &chatwire.Work{Timeout: workTimeout, Log: h.log}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// Wait waits for the work started after an answer, or for ctx.
func (h *Inbound) Wait(ctx context.Context) error { return h.work.Wait(ctx) }

// Register serves POST /v1/discord/interactions on mux.
func (h *Inbound) Register(mux *http.ServeMux) {
	mux.HandleFunc("/v1/discord/interactions", h.serveHTTP)
}

// serveHTTP answers an interaction Discord posts: verified against the
// application's public key (401 otherwise), PING answered, everything else
// handled as over the gateway with the answer in the response body.
func (h *Inbound) serveHTTP(w http.ResponseWriter, r *http.Request) {
	deadline := h.now().Add(h.answerWithin)
	body, ok := chatwire.ReadPost(w, r, inboundMaxBody)
	if !ok {
		return
	}
	if reason := h.verify(r, body); reason != "" {
		h.log.WarnContext(r.Context(), "discord request refused", "remote", r.RemoteAddr, "reason", reason)
		http.Error(w, reason, http.StatusUnauthorized)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, "malformed interaction: "+err.Error(), http.StatusBadRequest)
		return
	}
	if i.Type == discordgo.InteractionPing {
		writeJSON(w, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
		return
	}
	resp, why := h.answer(r.Context(), &i, deadline)
	if why != "" {
		http.Error(w, why, http.StatusBadRequest)
		return
	}
	if resp == nil {
		// Handled before (a replay, maybe to another replica): an answer
		// Discord accepts, and nothing runs again.
		resp = message(chattext.Pick(chattext.Japanese(h.locale), "This was handled already.", "この操作は処理済みです。"), true)
	}
	writeJSON(w, resp)
}

// verify says why a request is not Discord's, "" when it is.
func (h *Inbound) verify(r *http.Request, body []byte) string {
	if h.publicKey == nil {
		return "no public_key is configured: Discord reaches Hotline over the gateway only"
	}
	if r.Header.Get("X-Signature-Ed25519") == "" || r.Header.Get("X-Signature-Timestamp") == "" {
		return "missing X-Signature-Ed25519 or X-Signature-Timestamp"
	}
	signed := r.Clone(r.Context())
	signed.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(signed, h.publicKey) {
		return "invalid X-Signature-Ed25519"
	}
	// The signature covers the timestamp: an old one is a replay.
	secs, err := strconv.ParseInt(r.Header.Get("X-Signature-Timestamp"), 10, 64)
	if err != nil {
		return "X-Signature-Timestamp is not a Unix time"
	}
	if age := h.now().Sub(time.Unix(secs, 0)); age > signatureMaxAge || age < -signatureMaxAge {
		return "X-Signature-Timestamp is more than 5 minutes off: stale or replayed request"
	}
	return ""
}

// onReady learns who the bot is (its own reactions are ignored) and which
// application it runs as.
func (h *Inbound) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.User != nil {
		h.botUserID = r.User.ID
	}
	if r.Application != nil {
		h.readyApp = r.Application.ID
	}
}

// onInteraction answers an interaction that came over the gateway.
func (h *Inbound) onInteraction(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
	if ic.Interaction == nil || ic.Type == discordgo.InteractionPing {
		return
	}
	ctx := context.Background()
	resp, why := h.answer(ctx, ic.Interaction, h.now().Add(h.answerWithin))
	if why != "" {
		h.log.WarnContext(ctx, "discord interaction refused", "id", ic.ID, "reason", why)
		return
	}
	if resp == nil {
		return // handled before, maybe by another replica
	}
	if err := h.session.InteractionRespond(ic.Interaction, resp, discordgo.WithContext(ctx)); err != nil {
		h.log.WarnContext(ctx, "discord interaction response failed", "id", ic.ID, "err", err)
	}
}

// answer handles one interaction and returns its response: the reply when
// it is ready by deadline, else a deferred one whose reply follows by
// editing it. A nil response means the interaction was handled before; why
// says what is malformed about it.
func (h *Inbound) answer(ctx context.Context, i *discordgo.Interaction, deadline time.Time) (resp *discordgo.InteractionResponse, why string) {
	if i.ID == "" || i.Token == "" {
		return nil, "malformed interaction: no id or token"
	}
	user := interactionUser(i)
	if user == "" {
		return nil, "malformed interaction: no member or user"
	}
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit:
	default:
		return nil, fmt.Sprintf("interaction type %d is not one Hotline handles", i.Type)
	}
	by := h.actor(user)
	in := h.invocation(by, memberRoles(i))
	// Recording the delivery is part of the work that has until deadline:
	// a slow database defers the answer rather than refusing it.
	type answer struct {
		resp *discordgo.InteractionResponse
		seen bool // handled before: no answer at all
	}
	answers := make(chan answer, 1)
	h.background(ctx, func(ctx context.Context) {
		first, err := h.dedup.Remember(ctx, "discord:interaction:"+i.ID)
		switch {
		case err != nil:
			h.log.ErrorContext(ctx, "discord interaction not handled: cannot record it", "id", i.ID, "err", err)
			answers <- answer{resp: message(chattext.Pick(chattext.Japanese(h.locale), "Hotline cannot reach its database; try again.",
				"Hotline がデータベースに接続できません。もう一度お試しください。"), true)}
		case !first:
			h.log.DebugContext(ctx, "discord interaction seen before; ignored", "id", i.ID)
			answers <- answer{seen: true}
		default:
			answers <- answer{resp: h.handle(ctx, i, in)}
		}
	})
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case a := <-answers:
		return a.resp, ""
	case <-timer.C:
	}
	// Discord waits 3 s for the first answer: say "thinking" now and edit
	// it once the command is done.
	h.background(ctx, func(ctx context.Context) {
		select {
		case a := <-answers:
			if !a.seen {
				h.followUp(ctx, i, a.resp)
			}
		case <-ctx.Done():
		}
	})
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}, ""
}

// followUp puts a late reply into the deferred answer.
func (h *Inbound) followUp(ctx context.Context, i *discordgo.Interaction, resp *discordgo.InteractionResponse) {
	text := ""
	if resp.Data != nil {
		text = resp.Data.Content
		if resp.Type == discordgo.InteractionResponseModal {
			// A form can only be the first answer; the resolve itself is done.
			text = chattext.Pick(chattext.Japanese(h.locale), "Resolved. Write the postmortem with /incident postmortem.",
				"解決しました。振り返りは /incident postmortem で記録できます。")
		}
	}
	if text == "" {
		return
	}
	edit := func() error {
		_, err := h.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &text, AllowedMentions: noMentions()},
			discordgo.WithContext(ctx))
		return err
	}
	err := edit()
	// A command done just after the deadline may get here before Discord
	// has the deferred answer (the gateway's callback or the HTTP answer is
	// still on its way); until then @original is an Unknown Webhook.
	for wait := 50 * time.Millisecond; discordCode(err) == codeUnknownWebhook && wait <= 2*time.Second && ctx.Err() == nil; wait *= 2 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			err = edit()
		}
	}
	if err != nil {
		h.log.WarnContext(ctx, "discord late reply failed", "id", i.ID, "err", err)
	}
}

// handle runs the interaction and returns its response.
func (h *Inbound) handle(ctx context.Context, i *discordgo.Interaction, in commands.Invocation) *discordgo.InteractionResponse {
	ja := chattext.Japanese(h.locale)
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		text, err := commandText(i.ApplicationCommandData())
		if err != nil {
			return message(err.Error()+"\n"+commands.Help(h.locale), true)
		}
		in.Text = text
		if number, service, ok := h.threadIncident(ctx, i.ChannelID); ok {
			in.Thread, in.Service = number, service
		} else {
			in.Service = h.services[i.ChannelID]
		}
		reply := commands.Run(ctx, h.incidents, in)
		h.logReply(ctx, "discord command", in.Actor, reply)
		return message(reply.Text, reply.Ephemeral)
	case discordgo.InteractionMessageComponent:
		return h.button(ctx, i.MessageComponentData().CustomID, in, ja)
	default:
		return h.postmortem(ctx, i.ModalSubmitData(), in.Actor)
	}
}

// button runs the command of an incident button. Resolve, when it goes
// through, answers with the postmortem form.
func (h *Inbound) button(ctx context.Context, customID string, in commands.Invocation, ja bool) *discordgo.InteractionResponse {
	action, number, ok := parseButton(customID)
	verb := map[string]string{buttonAck: commands.VerbAck, buttonOwn: commands.VerbOwn, buttonResolve: commands.VerbResolve,
		buttonEscalate: commands.VerbEscalate}[action]
	if !ok || verb == "" {
		h.log.WarnContext(ctx, "discord button with an unknown action", "user", in.Actor.ID, "custom_id", customID)
		return message(chattext.Pick(ja, fmt.Sprintf("unknown action %q; nothing was changed", customID),
			fmt.Sprintf("不明な操作です（%q）。何も変更していません", customID)), true)
	}
	in.Text = fmt.Sprintf("%s INC-%d", verb, number)
	reply := commands.Run(ctx, h.incidents, in)
	h.logReply(ctx, "discord button", in.Actor, reply)
	if verb == commands.VerbResolve && reply.Incident != nil {
		if _, ok := h.incidents.(commands.Postmortems); ok {
			return postmortemForm(number, h.locale)
		}
	}
	return message(reply.Text, true)
}

// postmortemForm asks for what was learnt from INC-number.
func postmortemForm(number int64, locale string) *discordgo.InteractionResponse {
	ja := chattext.Japanese(locale)
	ref := fmt.Sprintf("INC-%d", number)
	input := func(id, label, placeholder string) discordgo.MessageComponent {
		return discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
			CustomID: id, Label: label, Placeholder: placeholder, Style: discordgo.TextInputParagraph, MaxLength: 4000,
		}}}
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: postmortemModalID + ":" + strconv.FormatInt(number, 10),
		Title:    chattext.Pick(ja, "Postmortem "+ref, "振り返り "+ref),
		Components: []discordgo.MessageComponent{
			input(inputCause, chattext.Pick(ja, "Cause", "原因"), chattext.Pick(ja, "What caused it?", "何が原因でしたか？")),
			input(inputFix, chattext.Pick(ja, "Fix", "対応"), chattext.Pick(ja, "What fixed it?", "どう対応しましたか？")),
			input(inputFollowUps, chattext.Pick(ja, "Follow-ups", "今後の対応"),
				chattext.Pick(ja, "What should be done so it does not happen again?", "再発防止のために何をしますか？")),
		},
	}}
}

// postmortem saves the postmortem form.
func (h *Inbound) postmortem(ctx context.Context, data discordgo.ModalSubmitInteractionData, by bot.Actor) *discordgo.InteractionResponse {
	ja := chattext.Japanese(h.locale)
	id, n, _ := strings.Cut(data.CustomID, ":")
	number, err := strconv.ParseInt(n, 10, 64)
	if id != postmortemModalID || err != nil || number <= 0 {
		return message(chattext.Pick(ja, "This form names no incident; nothing was saved.", "このフォームはインシデントを指していません。何も保存していません。"), true)
	}
	pms, ok := h.incidents.(commands.Postmortems)
	if !ok {
		return message(chattext.Pick(ja, "Postmortems cannot be saved here.", "ここでは振り返りを保存できません。"), true)
	}
	values := map[string]string{}
	for _, row := range data.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range r.Components {
			if ti, ok := c.(*discordgo.TextInput); ok {
				values[ti.CustomID] = strings.TrimSpace(ti.Value)
			}
		}
	}
	in := bot.PostmortemInput{Cause: values[inputCause], Fix: values[inputFix], FollowUps: values[inputFollowUps]}
	if _, err := pms.WritePostmortem(ctx, number, in, by); err != nil {
		reply := commands.Explain(ctx, err, commands.VerbPostmortem, number, by, h.locale)
		return message(reply.Text, true)
	}
	h.log.InfoContext(ctx, "discord postmortem saved", "user", by.ID, "incident", number)
	return message(chattext.Pick(ja, fmt.Sprintf("Postmortem of INC-%d saved by %s", number, by.ID),
		fmt.Sprintf("INC-%d の振り返りを %s が記録しました", number, by.ID)), false)
}

// threadIncident finds the incident whose thread channel is: a thread
// started from an incident's message has that message's id.
func (h *Inbound) threadIncident(ctx context.Context, channel string) (number int64, service string, ok bool) {
	for parent, svc := range h.services {
		th, err := h.threads.ThreadByMessage(ctx, "discord", parent, channel)
		if errors.Is(err, bot.ErrNotFound) {
			continue
		}
		if err != nil {
			h.log.WarnContext(ctx, "discord thread lookup failed", "channel", channel, "err", err)
			return 0, "", false
		}
		inc, err := h.threads.Incident(ctx, th.IncidentID)
		if err != nil {
			h.log.WarnContext(ctx, "discord incident lookup failed", "incident_id", th.IncidentID, "err", err)
			return 0, "", false
		}
		return inc.Number, svc, true
	}
	return 0, "", false
}

// onReaction runs the command of a reaction on an incident's message.
func (h *Inbound) onReaction(_ *discordgo.Session, r *discordgo.MessageReactionAdd) {
	if r.MessageReaction == nil || r.UserID == "" || r.ChannelID == "" || r.MessageID == "" {
		return
	}
	h.mu.Lock()
	self := h.botUserID
	h.mu.Unlock()
	verb, mapped := h.reactions[r.Emoji.Name]
	if !mapped || r.UserID == self || (r.Member != nil && r.Member.User != nil && r.Member.User.Bot) {
		return
	}
	if _, ok := h.services[r.ChannelID]; !ok {
		return // incident messages are only in the services' channels
	}
	ctx, cancel := context.WithTimeout(context.Background(), workTimeout)
	defer cancel()
	th, err := h.threads.ThreadByMessage(ctx, "discord", r.ChannelID, r.MessageID)
	// A reaction may come before the new incident's thread is saved (a
	// moment after its message is posted): look again, briefly.
	for wait := 0; errors.Is(err, bot.ErrNotFound) && wait < reactionLookups; wait++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(reactionLookupEvery):
		}
		th, err = h.threads.ThreadByMessage(ctx, "discord", r.ChannelID, r.MessageID)
	}
	if errors.Is(err, bot.ErrNotFound) {
		return // a reaction on some other message
	}
	if err != nil {
		h.log.ErrorContext(ctx, "discord reaction not handled: thread lookup failed", "user", r.UserID, "err", err)
		return
	}
	// The gateway may deliver an event again after a resume or a leader
	// change; the reaction is the same one.
	first, err := h.dedup.Remember(ctx, "discord:reaction:"+r.MessageID+":"+r.UserID+":"+r.Emoji.Name)
	if err != nil || !first {
		if err != nil {
			h.log.ErrorContext(ctx, "discord reaction not handled: cannot record it", "user", r.UserID, "err", err)
		}
		return
	}
	inc, err := h.threads.Incident(ctx, th.IncidentID)
	if err != nil {
		h.log.ErrorContext(ctx, "discord reaction not handled: incident lookup failed", "user", r.UserID, "err", err)
		return
	}
	var roles []string
	if r.Member != nil {
		roles = r.Member.Roles
	}
	in := h.invocation(h.actor(r.UserID), roles)
	in.Text = fmt.Sprintf("%s INC-%d", verb, inc.Number)
	reply := commands.Run(ctx, h.incidents, in)
	h.logReply(ctx, "discord reaction", in.Actor, reply)
	if reply.Ephemeral {
		// Refused ("already acknowledged"): Discord has no private replies
		// outside interactions, so it goes to the thread, to that user.
		text := "<@" + r.UserID + "> " + reply.Text
		if _, err := h.session.ChannelMessageSendComplex(th.MessageID, &discordgo.MessageSend{Content: chattext.CutRunes(text, contentLimit),
			AllowedMentions: &discordgo.MessageAllowedMentions{Users: []string{r.UserID}}}, discordgo.WithContext(ctx)); err != nil {
			h.log.WarnContext(ctx, "discord reaction reply failed", "user", r.UserID, "err", err)
		}
	}
}

// invocation is a command run by by, whose roles are its groups.
func (h *Inbound) invocation(by bot.Actor, roles []string) commands.Invocation {
	groups := make([]string, 0, len(roles))
	for _, r := range roles {
		groups = append(groups, "discord:"+r)
	}
	return commands.Invocation{Actor: by, Locale: h.locale, Phone: h.phone, Authorizer: h.authz,
		Groups: func(context.Context) ([]string, error) { return groups, nil }}
}

func (h *Inbound) actor(userID string) bot.Actor {
	if id := h.users[userID]; id != "" {
		return bot.Actor{ID: id, Source: "discord"}
	}
	return bot.Actor{ID: userID, Source: "discord"}
}

// background runs fn detached from the delivery but bounded, with panics
// contained.
func (h *Inbound) background(ctx context.Context, fn func(ctx context.Context)) { h.work.Go(ctx, fn) }

func (h *Inbound) logReply(ctx context.Context, what string, by bot.Actor, reply commands.Reply) {
	if reply.Incident != nil {
		h.log.InfoContext(ctx, what, "user", by.ID, "incident", reply.Incident.Number)
		return
	}
	h.log.DebugContext(ctx, what+" refused", "user", by.ID, "reply", reply.Text)
}

// message is an interaction's reply; ephemeral ones only the responder sees.
func message(text string, ephemeral bool) *discordgo.InteractionResponse {
	data := &discordgo.InteractionResponseData{Content: chattext.CutRunes(text, contentLimit), AllowedMentions: noMentions()}
	if ephemeral {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
}

func interactionUser(i *discordgo.Interaction) string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}

func memberRoles(i *discordgo.Interaction) []string {
	if i.Member == nil {
		return nil
	}
	return i.Member.Roles
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}

// emojiFor turns the emoji names chat.reactions is written in (Slack's) into
// the emoji Discord sends; anything else (the emoji itself, a custom
// emoji's name) stays as it is.
func emojiFor(name string) string {
	if e, ok := emojiNames[strings.Trim(name, ":")]; ok {
		return e
	}
	return name
}

var emojiNames = map[string]string{
	"eyes": "👀", "white_check_mark": "✅", "heavy_check_mark": "✔️", "raising_hand": "🙋", "raised_hand": "✋",
	"ok_hand": "👌", "+1": "👍", "thumbsup": "👍", "fire": "🔥", "rotating_light": "🚨", "hand": "✋",
	"wave": "👋", "ok": "🆗", "sos": "🆘", "phone": "☎️", "telephone_receiver": "📞", "bell": "🔔",
	"white_circle": "⚪", "checkered_flag": "🏁", "construction": "🚧", "wrench": "🔧", "hammer_and_wrench": "🛠️",
}

package escalation

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// Job kinds the engine runs on the bot's durable queue.
const (
	JobTick   = "escalation.tick"   // the escalation's NextDue came (key esc:<incident>)
	JobCall   = "escalation.call"   // place one call (key call:<attempt>)
	JobHangUp = "escalation.hangup" // end a call nobody needs any more (key hangup:<attempt>)
)

// A call placed straight after its decision has a backup: its call job,
// which does something only when the process died before it could record
// the call. It runs backupMargin after the longest a call request can take
// (Config.PhoneTimeout), so the two never race, and a replica's death
// delays a call by seconds, not minutes.
const (
	defaultPhoneTimeout = 10 * time.Second
	backupMargin        = 5 * time.Second
)

const (
	callMaxAttempts   = 8
	hangUpMaxAttempts = 10
	tickMaxAttempts   = 50
)

// Config is what the engine needs; cmd/hotline builds it from the file.
type Config struct {
	Policies  []Policy
	Schedules []*Schedule
	Contacts  []bot.Contact
	// ServicePolicies maps a service id to its policy id: a service without
	// one is chat only and never calls anyone.
	ServicePolicies map[string]string
	ServiceNames    map[string]string
	Phone           bot.Phone
	// PhoneAccount names the account whose pace CallsPerSecond sets (the
	// Twilio account SID), shared by every replica.
	PhoneAccount   string
	CallsPerSecond float64 // default 1; +Inf: no pace
	// PhoneTimeout is the longest a call request can take (default 10 s);
	// a call whose placer died is taken over this much and 5 s later.
	PhoneTimeout time.Duration
	Locale       string    // for contacts without one, timelines and mail; default en
	Clock        bot.Clock // default the wall clock
	Logger       *slog.Logger
	Hooks        Hooks
}

// Hooks let the composition root observe calls (metrics, benchmarks).
type Hooks struct {
	// CallRequested reports a call request about to leave and how late it
	// is against its due time (the pace slot, or when it was decided).
	CallRequested func(late time.Duration)
	CallFailed    func(err error)
}

// Engine carries out escalation decisions: it implements bot.Escalator and
// runs the tick, call and hang-up jobs. All its state is in the store.
type Engine struct {
	policies        map[string]Policy
	schedules       map[string]*Schedule
	contacts        map[string]bot.Contact
	servicePolicies map[string]string
	serviceNames    map[string]string
	phone           bot.Phone
	account         string
	pace            time.Duration
	backupAfter     time.Duration
	locale          string
	clock           bot.Clock
	log             *slog.Logger
	hooks           Hooks
	bot             *bot.Bot
	store           bot.Store
}

// New checks cfg's references and returns an engine; Register attaches it
// to the bot.
func New(cfg Config) (*Engine, error) {
	e := &Engine{
		policies:        map[string]Policy{},
		schedules:       map[string]*Schedule{},
		contacts:        map[string]bot.Contact{},
		servicePolicies: cfg.ServicePolicies,
		serviceNames:    cfg.ServiceNames,
		phone:           cfg.Phone,
		account:         cfg.PhoneAccount,
		backupAfter:     cmp.Or(cfg.PhoneTimeout, defaultPhoneTimeout) + backupMargin,
		locale:          cfg.Locale,
		clock:           cmp.Or[bot.Clock](cfg.Clock, bot.SystemClock),
		log:             cfg.Logger,
		hooks:           cfg.Hooks,
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.locale == "" {
		e.locale = "en"
	}
	cps := cfg.CallsPerSecond
	if cps <= 0 {
		cps = 1
	}
	e.pace = time.Duration(float64(time.Second) / cps) // +Inf: 0, no pace
	for _, c := range cfg.Contacts {
		e.contacts[c.ID] = c
	}
	for _, s := range cfg.Schedules {
		e.schedules[s.ID] = s
	}
	var p bot.Problems
	for _, pol := range cfg.Policies {
		e.policies[pol.ID] = pol
		for i, st := range pol.Steps {
			for _, target := range st.Call {
				if id, ok := strings.CutPrefix(target, ScheduleTarget); ok {
					if e.schedules[id] == nil {
						p.Add(fmt.Sprintf("policy %s step %d", pol.ID, i+1), "unknown schedule "+id)
					}
				} else if _, ok := e.contacts[target]; !ok {
					p.Add(fmt.Sprintf("policy %s step %d", pol.ID, i+1), "unknown contact "+target)
				}
			}
		}
	}
	for svc, pol := range cfg.ServicePolicies {
		if _, ok := e.policies[pol]; !ok && pol != "" {
			p.Add("service "+svc, "unknown policy "+pol)
		}
	}
	if len(e.policies) > 0 && e.phone == nil {
		p.Add("", "escalation policies need a phone")
	}
	return e, p.Err()
}

// Register attaches the engine to b: its jobs run on b's queue and its
// changes go through b's transactions. Pass the engine as b's Escalator.
func (e *Engine) Register(b *bot.Bot) {
	e.bot, e.store = b, b.Store()
	b.Handle(JobTick, e.tick)
	b.Handle(JobCall, e.placeCall)
	b.Handle(JobHangUp, e.hangUp)
}

// Start arms the escalation of a newly opened incident (bot.Escalator).
func (e *Engine) Start(tx bot.Tx, inc *bot.Incident, now time.Time) error {
	pol, ok := e.policies[e.servicePolicies[inc.Service]]
	if !ok {
		return nil
	}
	if _, calls := pol.For(inc.Severity); !calls {
		return nil
	}
	return e.decide(tx, inc, pol, bot.Escalation{IncidentID: inc.ID}, nil, now, Event{Kind: EventStart}, nil)
}

// Stop ends the escalation: inc was acknowledged or resolved (bot.Escalator).
func (e *Engine) Stop(tx bot.Tx, inc *bot.Incident, by bot.Actor, now time.Time) error {
	return e.step(tx, inc, now, Event{Kind: EventStop, Attempt: by.Call})
}

// ChatFailed skips the chat window: the incident could not be posted
// (bot.Escalator).
func (e *Engine) ChatFailed(ctx context.Context, inc bot.Incident, cause error) error {
	e.log.Warn("chat is unreachable: escalating to the phone", "incident", inc.Ref(), "err", cause)
	_, err := e.bot.ChangeIncident(ctx, inc.ID, func(tx bot.Tx, inc *bot.Incident, now time.Time) error {
		return e.step(tx, inc, now, Event{Kind: EventChatFailed})
	})
	return err
}

// CallNow skips what is left of the chat window or the pause between
// rounds, or starts another round after the last: `/incident escalate`.
func (e *Engine) CallNow(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error) {
	inc, err := e.store.IncidentByNumber(ctx, number)
	if err != nil {
		return inc, err
	}
	return e.bot.ChangeIncident(ctx, inc.ID, func(tx bot.Tx, inc *bot.Incident, now time.Time) error {
		if inc.Status != bot.StatusTriggered {
			return fmt.Errorf("%s is %s: nobody needs calling: %w", inc.Ref(), inc.Status, bot.ErrConflict)
		}
		cur, err := tx.Escalation(inc.ID)
		if errors.Is(err, bot.ErrNotFound) {
			return bot.Invalid("%s has no escalation policy: nobody to call", inc.Ref())
		} else if err != nil {
			return err
		}
		if cur.Phase == bot.PhaseCalling {
			return fmt.Errorf("%s: calls are already ringing: %w", inc.Ref(), bot.ErrConflict)
		}
		if err := bot.AppendEvent(tx, inc, bot.EventEscalation, by.ID, by.Source, e.text(textCallNowAsked), now); err != nil {
			return err
		}
		return e.step(tx, inc, now, Event{Kind: EventCallNow})
	})
}

// tick runs the escalation's timer. The calls it decides on leave from
// here, right after the commit, not through a job of their own: a thousand
// escalations coming due at once must not wait for a thousand more claims.
func (e *Engine) tick(ctx context.Context, j bot.Job) error {
	var dial []dialing
	_, err := e.bot.ChangeIncident(ctx, j.IncidentID, func(tx bot.Tx, inc *bot.Incident, now time.Time) error {
		dial = dial[:0]
		return e.stepDialing(tx, inc, now, Event{Kind: EventTimer}, &dial)
	})
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, d := range dial {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A failure here is the call job's to retry (it asks first).
			if err := e.dial(ctx, j.IncidentID, d, false, time.Time{}, 1, callMaxAttempts); err != nil {
				e.log.Warn("call failed; its job retries it", "incident", d.Incident.Ref(), "attempt", d.AttemptID, "err", err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// step loads the incident's escalation and applies ev to it.
func (e *Engine) step(tx bot.Tx, inc *bot.Incident, now time.Time, ev Event) error {
	return e.stepDialing(tx, inc, now, ev, nil)
}

// stepDialing is step; with dial set, the calls decided are marked placing
// and listed there for the caller to place after the commit, their call
// jobs kept as a late backup.
func (e *Engine) stepDialing(tx bot.Tx, inc *bot.Incident, now time.Time, ev Event, dial *[]dialing) error {
	st, err := tx.Escalation(inc.ID)
	if errors.Is(err, bot.ErrNotFound) {
		return nil // a chat-only service, or a severity that never calls
	} else if err != nil {
		return err
	}
	pol, ok := e.policies[st.Policy]
	if !ok {
		if st.Active() {
			e.log.Warn("escalation policy is no longer configured; stopping", "incident", inc.Ref(), "policy", st.Policy)
			st.Phase, st.UpdatedAt = bot.PhaseStopped, now
			return tx.SaveEscalation(st)
		}
		return nil
	}
	attempts, err := tx.CallAttempts(inc.ID)
	if err != nil {
		return err
	}
	return e.decide(tx, inc, pol, st, attempts, now, ev, dial)
}

// dialing is a call request, the moment it was decided and the moment it
// was due (its turn in the pace).
type dialing struct {
	bot.Call
	decided, due time.Time
}

// decide runs Decide and carries out its decision in tx.
func (e *Engine) decide(tx bot.Tx, inc *bot.Incident, pol Policy, st bot.Escalation, attempts []bot.CallAttempt, now time.Time, ev Event, dial *[]dialing) error {
	var overrides []bot.Override
	loaded := false
	var loadErr error
	in := Input{Policy: pol, Severity: inc.Severity, State: st, Attempts: attempts, Now: now,
		Roster: func(step int) []bot.Contact {
			if !loaded && slices.ContainsFunc(pol.Steps[step].Call, isSchedule) {
				overrides, loadErr = tx.OverridesAt(now)
				loaded = true
			}
			return e.roster(pol.Steps[step], now, overrides)
		}}
	d := Decide(in, ev)
	if loadErr != nil {
		return fmt.Errorf("load on-call overrides: %w", loadErr)
	}
	byID := make(map[string]bot.CallAttempt, len(attempts))
	for _, a := range attempts {
		byID[a.ID] = a
	}
	for _, end := range d.Ended {
		a := byID[end.Attempt]
		a.Status, a.EndedAt = end.Status, &now
		if err := tx.SaveCallAttempt(a); err != nil {
			return err
		}
		if err := e.recordOutcome(tx, inc, pol, a, now); err != nil {
			return err
		}
	}
	for _, id := range d.HangUp {
		if err := tx.Enqueue(bot.Job{Kind: JobHangUp, Key: "hangup:" + id, IncidentID: inc.ID, Payload: []byte(id),
			RunAt: now, MaxAttempts: hangUpMaxAttempts, CreatedAt: now}); err != nil {
			return err
		}
	}
	for _, n := range d.Notices {
		if err := e.announce(tx, inc, pol, n, now); err != nil {
			return err
		}
	}
	for _, c := range d.Calls {
		a := bot.CallAttempt{ID: newAttemptID(), IncidentID: inc.ID, Round: c.Round, Step: c.Step, Index: c.Index,
			Contact: c.Contact.ID, Phone: c.Contact.Phone, Status: bot.AttemptPending, CreatedAt: now}
		runAt := now
		if dial != nil {
			if e.pace > 0 {
				slot, err := tx.ReservePhoneSlot(e.account, now, e.pace)
				if err != nil {
					return err
				}
				a.SlotAt, runAt = &slot, slot
			}
			if !runAt.After(now) {
				// Placed by the caller right after the commit; the job is the
				// backup should this process die first, and asks before calling.
				a.Status, a.PlacedAt, runAt = bot.AttemptPlacing, &now, now.Add(e.backupAfter)
				*dial = append(*dial, e.callFor(a, inc, c.RingFor))
			}
		}
		if err := tx.SaveCallAttempt(a); err != nil {
			return err
		}
		if err := tx.Enqueue(bot.Job{Kind: JobCall, Key: "call:" + a.ID, IncidentID: inc.ID, Payload: []byte(a.ID),
			RunAt: runAt, MaxAttempts: callMaxAttempts, CreatedAt: now}); err != nil {
			return err
		}
		text := e.text(textCalling, c.Contact.Name, bot.MaskPhone(c.Contact.Phone))
		if err := bot.AppendEvent(tx, inc, bot.EventCall, "", "phone", text, now); err != nil {
			return err
		}
	}
	if d.State != st {
		if err := tx.SaveEscalation(d.State); err != nil {
			return err
		}
	}
	if d.Arm {
		return tx.Enqueue(bot.Job{Kind: JobTick, Key: "esc:" + strconv.FormatInt(inc.ID, 10), IncidentID: inc.ID,
			RunAt: d.State.NextDue, MaxAttempts: tickMaxAttempts, CreatedAt: now})
	}
	return nil
}

func isSchedule(target string) bool { return strings.HasPrefix(target, ScheduleTarget) }

// roster resolves a step's call list at now: schedules to whoever is on
// call, each contact once, only contacts with a phone.
func (e *Engine) roster(st Step, now time.Time, overrides []bot.Override) []bot.Contact {
	var out []bot.Contact
	seen := map[string]bool{}
	for _, target := range st.Call {
		id := target
		if sched, ok := strings.CutPrefix(target, ScheduleTarget); ok {
			s := e.schedules[sched]
			if s == nil {
				continue
			}
			id = s.OnCall(now, overrides).Contact
		}
		c, ok := e.contacts[id]
		if !ok || c.Phone == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, c)
	}
	return out
}

// recordOutcome writes an ended call to the timeline, and mails the admins
// when someone accepted by phone.
func (e *Engine) recordOutcome(tx bot.Tx, inc *bot.Incident, pol Policy, a bot.CallAttempt, now time.Time) error {
	name := e.contactName(a.Contact)
	var key textKey
	switch a.Status {
	case bot.AttemptAccepted:
		return bot.EnqueueMail(tx, e.mail(pol, inc, mailAccepted, name, now), inc.ID, now)
	case bot.AttemptCanceled:
		return nil
	case bot.AttemptPassed:
		key = textPassed
	case bot.AttemptNoAnswer:
		key = textNoAnswer
	case bot.AttemptHungUp:
		key = textHungUp
	case bot.AttemptBusy:
		key = textBusy
	case bot.AttemptMachine:
		key = textMachine
	default:
		key = textFailed
	}
	return bot.AppendEvent(tx, inc, bot.EventCall, a.Contact, "phone", e.text(key, name), now)
}

// announce writes a notice to the timeline and mails the admins the ones
// they asked to hear about.
func (e *Engine) announce(tx bot.Tx, inc *bot.Incident, pol Policy, n Notice, now time.Time) error {
	var text string
	var mk mailKind
	switch n.Kind {
	case NoticeCalling:
		ack, _ := pol.For(inc.Severity)
		text, mk = e.text(textNoAck, ack.String()), mailCalling
		if ack <= 0 {
			text = e.text(textCallingAtOnce)
		}
	case NoticeChatDown:
		text, mk = e.text(textChatDown), mailCalling
	case NoticeCallNow:
		text, mk = e.text(textCallNow), mailCalling
	case NoticeEmptyStep:
		text = e.text(textEmptyStep, n.Step+1)
	case NoticeRoundOver:
		text, mk = e.text(textRoundOver, n.Round+1, pol.Repeat+1, pol.RepeatPause.String()), mailRoundOver
	case NoticeExhausted:
		text, mk = e.text(textExhausted, n.Round+1), mailExhausted
	}
	if err := bot.AppendEvent(tx, inc, bot.EventEscalation, "", "system", text, now); err != nil {
		return err
	}
	if mk == 0 {
		return nil
	}
	return bot.EnqueueMail(tx, e.mail(pol, inc, mk, text, now), inc.ID, now)
}

func (e *Engine) contactName(id string) string {
	if c, ok := e.contacts[id]; ok && c.Name != "" {
		return c.Name
	}
	return id
}

func (e *Engine) contactLocale(id string) string {
	if c, ok := e.contacts[id]; ok && c.Locale != "" {
		return c.Locale
	}
	return e.locale
}

func newAttemptID() string {
	var b [12]byte
	rand.Read(b[:])
	return "at" + hex.EncodeToString(b[:])
}

// OnCall says who is on call for schedule at t, overrides from the store
// included: for `/incident oncall`.
func (e *Engine) OnCall(ctx context.Context, schedule string, at time.Time) (Shift, error) {
	s, ok := e.schedules[schedule]
	if !ok {
		return Shift{}, fmt.Errorf("schedule %q: %w", schedule, bot.ErrNotFound)
	}
	overrides, err := e.store.Overrides(ctx, schedule, at, at.Add(time.Nanosecond))
	if err != nil {
		return Shift{}, err
	}
	return s.OnCall(at, overrides), nil
}

// Shifts lists schedule's shifts over [from, to), overrides included.
func (e *Engine) Shifts(ctx context.Context, schedule string, from, to time.Time) ([]Shift, error) {
	s, ok := e.schedules[schedule]
	if !ok {
		return nil, fmt.Errorf("schedule %q: %w", schedule, bot.ErrNotFound)
	}
	// A little wider than asked, so the first and last shifts end where an
	// override cuts them.
	overrides, err := e.store.Overrides(ctx, schedule, from.Add(-7*24*time.Hour), to.Add(7*24*time.Hour))
	if err != nil {
		return nil, err
	}
	return s.Shifts(from, to, overrides), nil
}

package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// findCallSkew is how much earlier than the recorded placing time a found
// call may have been created: the phone platform's clock, second precision.
const findCallSkew = 5 * time.Second

// placeCall places one recorded call attempt. The attempt is marked
// "placing" and committed before the request leaves, so a replica that takes
// the job over after a crash asks the phone platform first and never rings
// the same person twice for one attempt.
func (e *Engine) placeCall(ctx context.Context, j bot.Job) error {
	id := string(j.Payload)
	var (
		call    dialing
		ask     bool // placed before by a worker that died: find it first
		since   time.Time
		wait    time.Time
		proceed bool
	)
	_, err := e.bot.ChangeIncident(ctx, j.IncidentID, func(tx bot.Tx, inc *bot.Incident, now time.Time) error {
		a, err := tx.CallAttempt(id)
		if err != nil {
			return err
		}
		if a.Status != bot.AttemptPending && a.Status != bot.AttemptPlacing {
			return nil // ended, cancelled, or already placed
		}
		st, err := tx.Escalation(inc.ID)
		if err != nil {
			return err
		}
		if inc.Status != bot.StatusTriggered || !st.Active() {
			// Stopped while the call waited: it is not needed any more.
			a.Status, a.EndedAt = bot.AttemptCanceled, &now
			return tx.SaveCallAttempt(a)
		}
		if a.Status == bot.AttemptPlacing {
			ask, since = true, a.PlacedAt.Add(-findCallSkew)
		} else {
			if a.SlotAt == nil && e.pace > 0 {
				slot, err := tx.ReservePhoneSlot(e.account, now, e.pace)
				if err != nil {
					return err
				}
				a.SlotAt = &slot
			}
			if a.SlotAt != nil && a.SlotAt.After(now) {
				wait = *a.SlotAt
				return tx.SaveCallAttempt(a)
			}
			a.Status, a.PlacedAt = bot.AttemptPlacing, &now
			if err := tx.SaveCallAttempt(a); err != nil {
				return err
			}
		}
		proceed, call = true, e.callFor(a, inc, e.ringTimeout(st.Policy, a.Step))
		return nil
	})
	switch {
	case err != nil:
		return err
	case !wait.IsZero():
		return bot.Snooze(wait)
	case !proceed:
		return nil
	}
	return e.dial(ctx, j.IncidentID, call, ask, since, j.Attempts, j.MaxAttempts)
}

// dial places a call whose attempt is marked placing; ask: a worker that
// died may have placed it already, so look for it first. Retryable errors
// are returned while tries are left; otherwise the attempt fails and the
// escalation moves on.
func (e *Engine) dial(ctx context.Context, incidentID int64, call dialing, ask bool, since time.Time, try, maxTries int) error {
	id := call.AttemptID
	log := e.log.With("incident", call.Incident.Ref(), "attempt", id, "to", bot.MaskPhone(call.To))
	if ask {
		callID, err := e.adopt(ctx, call, since)
		if err != nil {
			return fmt.Errorf("look for call %s: %w", id, err)
		}
		if callID != "" {
			log.Info("call was placed before a restart; not calling again", "call", callID)
			return e.placed(ctx, incidentID, call, callID)
		}
	}
	if h := e.hooks.CallRequested; h != nil {
		h(e.clock.Now().Sub(call.due))
	}
	callID, err := e.phone.PlaceCall(ctx, call.Call)
	if err != nil {
		if h := e.hooks.CallFailed; h != nil {
			h(err)
		}
		var retry *bot.RetryableError
		if errors.As(err, &retry) && try < maxTries {
			return err // the attempt stays "placing": the retry asks first
		}
		log.Error("call failed; moving on", "err", err)
		return e.ended(ctx, incidentID, id, bot.AttemptFailed)
	}
	return e.placed(ctx, incidentID, call, callID)
}

// adopt finds the call a worker that died may have placed for call: the
// newest call to its number since it was marked placing that no other
// attempt has recorded, or "". Another incident's call to the same person
// in the same minute is not this attempt's.
func (e *Engine) adopt(ctx context.Context, call dialing, since time.Time) (string, error) {
	ids, err := e.phone.FindCalls(ctx, call.To, since)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		a, err := e.store.CallAttemptByCall(ctx, id)
		switch {
		case errors.Is(err, bot.ErrNotFound), err == nil && a.ID == call.AttemptID:
			return id, nil
		case err != nil:
			return "", err
		}
	}
	return "", nil
}

// callFor is the request for attempt a, due at its turn in the pace or
// else when it was decided.
func (e *Engine) callFor(a bot.CallAttempt, inc *bot.Incident, ringFor time.Duration) dialing {
	due := a.CreatedAt
	if a.SlotAt != nil && a.SlotAt.After(due) {
		due = *a.SlotAt
	}
	return dialing{due: due, decided: a.CreatedAt, Call: bot.Call{AttemptID: a.ID, To: a.Phone, Locale: e.contactLocale(a.Contact),
		ContactName: e.contactName(a.Contact), ServiceName: e.serviceName(inc.Service), Incident: *inc, RingFor: ringFor}}
}

// placed records the call id of a placed attempt. Its ring deadline was
// set with the decision; only a call that waited for its turn (the pace)
// moves it, which takes the incident's transaction.
func (e *Engine) placed(ctx context.Context, incidentID int64, call dialing, callID string) error {
	if e.clock.Now().Sub(call.decided) < time.Second {
		return e.bot.RecordCall(ctx, bot.PlacedCall{Attempt: call.AttemptID, CallID: callID})
	}
	_, err := e.bot.ChangeIncident(ctx, incidentID, func(tx bot.Tx, inc *bot.Incident, now time.Time) error {
		a, err := tx.CallAttempt(call.AttemptID)
		if err != nil {
			return err
		}
		if a.CallID == "" {
			a.CallID = callID
		}
		if a.Status == bot.AttemptPlacing {
			a.Status = bot.AttemptRinging
		}
		if err := tx.SaveCallAttempt(a); err != nil {
			return err
		}
		return e.step(tx, inc, now, Event{Kind: EventPlaced, Attempt: call.AttemptID})
	})
	return err
}

// ended closes an attempt with an outcome that is not an accept and lets
// the escalation move on.
func (e *Engine) ended(ctx context.Context, incidentID int64, attemptID string, outcome bot.AttemptStatus) error {
	_, err := e.bot.ChangeIncident(ctx, incidentID, func(tx bot.Tx, inc *bot.Incident, now time.Time) error {
		return e.step(tx, inc, now, Event{Kind: EventCallEnded, Attempt: attemptID, Outcome: outcome})
	})
	return err
}

// hangUp ends a call nobody needs any more.
func (e *Engine) hangUp(ctx context.Context, j bot.Job) error {
	a, err := e.store.CallAttempt(ctx, string(j.Payload))
	if err != nil {
		return err
	}
	if a.CallID == "" {
		if a.PlacedAt == nil {
			return nil // never placed
		}
		// The call request is in flight: its id comes soon.
		return bot.Retryable(errors.New("call id of attempt "+a.ID+" not known yet"), 2*time.Second)
	}
	return e.phone.HangUp(ctx, a.CallID)
}

// Keypress handles a key the callee pressed: 1 takes the incident, 2 passes
// it to the next person. Unknown attempts are bot.ErrNotFound.
func (e *Engine) Keypress(ctx context.Context, ev bot.CallEvent) (bot.KeypressReply, error) {
	a, err := e.attemptFor(ctx, ev)
	if err != nil {
		return bot.KeypressReply{}, err
	}
	reply := bot.KeypressReply{Locale: e.contactLocale(a.Contact)}
	inc, err := e.store.Incident(ctx, a.IncidentID)
	if err != nil {
		return reply, err
	}
	reply.Incident = inc
	switch ev.Digits {
	case "1":
		if a.Status == bot.AttemptAccepted {
			reply.Outcome = bot.KeypressAccepted // a replay of the press that took it
			return reply, nil
		}
		acked, err := e.bot.Acknowledge(ctx, inc.Number, bot.Actor{ID: a.Contact, Source: "phone", Call: a.ID})
		if errors.Is(err, bot.ErrConflict) {
			return e.taken(ctx, reply)
		}
		if err != nil {
			return reply, err
		}
		reply.Outcome, reply.Incident = bot.KeypressAccepted, acked
		return reply, nil
	case "2":
		if inc.Status != bot.StatusTriggered {
			return e.taken(ctx, reply)
		}
		if err := e.ended(ctx, a.IncidentID, a.ID, bot.AttemptPassed); err != nil {
			return reply, err
		}
		reply.Outcome = bot.KeypressPassed
		return reply, nil
	default:
		if inc.Status != bot.StatusTriggered {
			return e.taken(ctx, reply)
		}
		reply.Outcome = bot.KeypressAgain
		return reply, nil
	}
}

func (e *Engine) taken(ctx context.Context, reply bot.KeypressReply) (bot.KeypressReply, error) {
	inc, err := e.store.Incident(ctx, reply.Incident.ID)
	if err != nil {
		return reply, err
	}
	reply.Outcome, reply.Incident = bot.KeypressTaken, inc
	if inc.Owner != "" {
		reply.TakenBy = e.contactName(inc.Owner)
	}
	return reply, nil
}

// CallStatus handles the phone platform's report on a call's progress.
// Unknown attempts are bot.ErrNotFound; a report on a call whose outcome is
// already known (a replay, a late report) changes nothing.
func (e *Engine) CallStatus(ctx context.Context, ev bot.CallEvent) error {
	a, err := e.attemptFor(ctx, ev)
	if err != nil {
		return err
	}
	var outcome bot.AttemptStatus
	switch {
	case ev.Machine() && (ev.Status == bot.CallInProgress || ev.Status.Ended()):
		outcome = bot.AttemptMachine
	case ev.Status == bot.CallNoAnswer:
		outcome = bot.AttemptNoAnswer
	case ev.Status == bot.CallBusy:
		outcome = bot.AttemptBusy
	case ev.Status == bot.CallFailed:
		outcome = bot.AttemptFailed
	case ev.Status == bot.CallCompleted:
		outcome = bot.AttemptHungUp
	case ev.Status == bot.CallCanceled:
		outcome = bot.AttemptCanceled
	}
	_, err = e.bot.ChangeIncident(ctx, a.IncidentID, func(tx bot.Tx, inc *bot.Incident, now time.Time) error {
		a, err := tx.CallAttempt(a.ID)
		if err != nil {
			return err
		}
		if a.CallID == "" && ev.CallID != "" && a.Status.Open() {
			// The platform knew the call before the worker that placed it
			// could record it.
			a.CallID = ev.CallID
			if a.Status == bot.AttemptPlacing {
				a.Status = bot.AttemptRinging
			}
			if err := tx.SaveCallAttempt(a); err != nil {
				return err
			}
		}
		if outcome == "" || !a.Status.Open() {
			return nil
		}
		return e.step(tx, inc, now, Event{Kind: EventCallEnded, Attempt: a.ID, Outcome: outcome})
	})
	return err
}

// attemptFor finds the attempt a callback names; a callback whose call id
// is not the attempt's is not ours.
func (e *Engine) attemptFor(ctx context.Context, ev bot.CallEvent) (bot.CallAttempt, error) {
	if ev.AttemptID == "" {
		return bot.CallAttempt{}, fmt.Errorf("no attempt: %w", bot.ErrNotFound)
	}
	a, err := e.store.CallAttempt(ctx, ev.AttemptID)
	if err != nil {
		return a, fmt.Errorf("attempt %q: %w", ev.AttemptID, err)
	}
	if a.CallID != "" && ev.CallID != "" && a.CallID != ev.CallID {
		return a, fmt.Errorf("attempt %q has another call: %w", ev.AttemptID, bot.ErrNotFound)
	}
	return a, nil
}

// ringTimeout is how long a call of the policy's step rings.
func (e *Engine) ringTimeout(policy string, step int) time.Duration {
	p := e.policies[policy]
	if step < 0 || step >= len(p.Steps) {
		return 30 * time.Second
	}
	return p.Steps[step].RingTimeout
}

func (e *Engine) serviceName(id string) string {
	if n := e.serviceNames[id]; n != "" {
		return n
	}
	return id
}

package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Actor is who did something and through which channel (slack, discord,
// phone, api, webhook, system). ID is the contact id where the actor is a
// known contact, else the platform's user id.
type Actor struct {
	ID     string
	Source string
	// Call is the call attempt the actor answered, when the change came by
	// phone.
	Call string
}

// Classification changes severity and/or impact and urgency; empty fields
// are left as they are.
type Classification struct {
	Severity Severity
	Impact   Level
	Urgency  Level
}

// change runs fn on the locked incident INC-number in one transaction, then
// saves it and enqueues the chat update.
func (b *Bot) change(ctx context.Context, number int64, fn func(tx Tx, inc *Incident, now time.Time) error) (Incident, error) {
	return b.update(ctx, number, 0, func(tx Tx) (Incident, error) {
		inc, err := tx.IncidentByNumber(number)
		if err != nil {
			return inc, fmt.Errorf("INC-%d: %w", number, err)
		}
		return inc, nil
	}, fn)
}

// ChangeIncident runs fn on the locked incident with this id in one
// transaction and saves it; when fn added timeline events the chat threads
// are brought up to date. The escalation engine makes its changes this way.
func (b *Bot) ChangeIncident(ctx context.Context, id int64, fn func(tx Tx, inc *Incident, now time.Time) error) (Incident, error) {
	return b.update(ctx, id, id, func(tx Tx) (Incident, error) {
		inc, err := tx.IncidentByID(id)
		if err != nil {
			return inc, fmt.Errorf("incident %d: %w", id, err)
		}
		return inc, nil
	}, fn)
}

// update changes one incident. Concurrent changes are committed together,
// a batch per transaction, like ingest: a thousand escalations coming due at
// once cost a few transactions, not a thousand.
func (b *Bot) update(ctx context.Context, key, id int64, lock func(Tx) (Incident, error), fn func(tx Tx, inc *Incident, now time.Time) error) (Incident, error) {
	req := &changeRequest{ctx: ctx, key: key, id: id, lock: lock, fn: fn, done: make(chan changeReply, 1)}
	if err := b.changers[int(uint64(key)%uint64(len(b.changers)))].submit(ctx, req); err != nil {
		return Incident{}, err
	}
	select {
	case r := <-req.done:
		return r.inc, r.err
	case <-ctx.Done():
		return Incident{}, ctx.Err()
	}
}

type changeRequest struct {
	ctx  context.Context
	key  int64 // the incident's number or id: one order for locks
	id   int64 // the incident's id when known, else 0
	lock func(Tx) (Incident, error)
	fn   func(tx Tx, inc *Incident, now time.Time) error
	done chan changeReply
}

type changeReply struct {
	inc Incident
	err error
}

func (r *changeRequest) abandoned() bool {
	if err := r.ctx.Err(); err != nil {
		r.done <- changeReply{err: err}
		return true
	}
	return false
}

// commitChanges runs a batch of changes in one transaction, in key order so
// concurrent batches lock incidents in one order. When it fails, each change
// is tried alone: one refused change (already acknowledged ...) must not
// refuse the others.
func (b *Bot) commitChanges(live []*changeRequest) {
	slices.SortStableFunc(live, func(x, y *changeRequest) int { return cmp.Compare(x.key, y.key) })
	out := make([]Incident, len(live))
	var synced []digestNote
	ctx := live[0].ctx
	if len(live) > 1 {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		ctx = c
	}
	var ids []int64
	for _, r := range live {
		if r.id != 0 {
			ids = append(ids, r.id)
		}
	}
	err := b.store.Update(ctx, func(tx Tx) error {
		synced = synced[:0]
		if err := tx.LockIncidents(ids); err != nil {
			return err
		}
		for i, r := range live {
			inc, err := r.lock(tx)
			if err != nil {
				return err
			}
			now := b.clock.Now()
			before := inc
			seq := inc.LastSeq
			if err := r.fn(tx, &inc, now); err != nil {
				return err
			}
			if inc != before {
				if err := tx.SaveIncident(inc); err != nil {
					return err
				}
			}
			out[i] = inc
			if inc.LastSeq == seq {
				continue
			}
			if err := b.enqueueChatSync(tx, inc, now, now); err != nil {
				return err
			}
			synced = append(synced, digestNote{incident: inc.ID})
		}
		return nil
	})
	if err != nil && len(live) > 1 && !errors.Is(err, ErrUnavailable) {
		for _, r := range live {
			b.commitChanges([]*changeRequest{r})
		}
		return
	}
	if err == nil {
		// The syncs due at once absorbed any pending digest.
		b.digests.record(synced, b.clock.Now())
	}
	for i, r := range live {
		r.done <- changeReply{inc: out[i], err: err}
	}
}

// Acknowledge records that actor is on it; it stops escalation. A second ack
// is refused with ErrConflict so the responder learns someone was first.
func (b *Bot) Acknowledge(ctx context.Context, number int64, by Actor) (Incident, error) {
	return b.change(ctx, number, func(tx Tx, inc *Incident, now time.Time) error {
		switch inc.Status {
		case StatusAcknowledged:
			return fmt.Errorf("%s is already acknowledged: %w", inc.Ref(), ErrConflict)
		case StatusResolved:
			return fmt.Errorf("%s is already resolved: %w", inc.Ref(), ErrConflict)
		}
		inc.Status, inc.AcknowledgedAt = StatusAcknowledged, &now
		if inc.Owner == "" {
			inc.Owner = by.ID
		}
		if err := appendEvent(tx, inc, EventAcknowledged, by.ID, by.Source, "acknowledged", now); err != nil {
			return err
		}
		return b.stopEscalation(tx, inc, by, now)
	})
}

// Assign makes owner responsible for the incident.
func (b *Bot) Assign(ctx context.Context, number int64, owner string, by Actor) (Incident, error) {
	owner = strings.TrimSpace(owner)
	if owner == "" {
		return Incident{}, Invalid("assign: name the new owner")
	}
	return b.change(ctx, number, func(tx Tx, inc *Incident, now time.Time) error {
		inc.Owner = owner
		return appendEvent(tx, inc, EventAssigned, by.ID, by.Source, "owner: "+owner, now)
	})
}

// Classify sets severity and/or impact × urgency, deriving the priority.
func (b *Bot) Classify(ctx context.Context, number int64, c Classification, by Actor) (Incident, error) {
	if c.Severity == "" && c.Impact == "" && c.Urgency == "" {
		return Incident{}, Invalid("classify: give a severity or impact and urgency")
	}
	if c.Severity != "" && !c.Severity.Valid() {
		return Incident{}, Invalid("severity %q: must be one of sev1, sev2, sev3, sev4", c.Severity)
	}
	return b.change(ctx, number, func(tx Tx, inc *Incident, now time.Time) error {
		var parts []string
		if c.Severity != "" {
			inc.Severity = c.Severity
			parts = append(parts, "severity "+string(c.Severity))
		}
		if c.Impact != "" {
			inc.Impact = c.Impact
			parts = append(parts, "impact "+string(c.Impact))
		}
		if c.Urgency != "" {
			inc.Urgency = c.Urgency
			parts = append(parts, "urgency "+string(c.Urgency))
		}
		inc.Priority = PriorityOf(inc.Impact, inc.Urgency)
		if inc.Priority != "" {
			parts = append(parts, "priority "+string(inc.Priority))
		}
		return appendEvent(tx, inc, EventClassified, by.ID, by.Source, strings.Join(parts, ", "), now)
	})
}

// Note adds free text to the timeline.
func (b *Bot) Note(ctx context.Context, number int64, text string, by Actor) (Incident, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Incident{}, Invalid("note: write the text of the note")
	}
	return b.change(ctx, number, func(tx Tx, inc *Incident, now time.Time) error {
		return appendEvent(tx, inc, EventNote, by.ID, by.Source, text, now)
	})
}

// Resolve closes the incident with an optional summary.
func (b *Bot) Resolve(ctx context.Context, number int64, summary string, by Actor) (Incident, error) {
	return b.change(ctx, number, func(tx Tx, inc *Incident, now time.Time) error {
		if inc.Status == StatusResolved {
			return fmt.Errorf("%s is already resolved: %w", inc.Ref(), ErrConflict)
		}
		inc.Status, inc.ResolvedAt = StatusResolved, &now
		text := "resolved"
		if s := strings.TrimSpace(summary); s != "" {
			text += ": " + s
		}
		if err := appendEvent(tx, inc, EventResolved, by.ID, by.Source, text, now); err != nil {
			return err
		}
		return b.stopEscalation(tx, inc, by, now)
	})
}

// stopEscalation ends the phone escalation in the transaction of the ack or
// resolve that made it needless.
func (b *Bot) stopEscalation(tx Tx, inc *Incident, by Actor, now time.Time) error {
	if b.escalator == nil {
		return nil
	}
	return b.escalator.Stop(tx, inc, by, now)
}

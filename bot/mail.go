package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// JobMail sends one mail (status mail to administrators, ...).
const JobMail = "mail.send"

const mailMaxAttempts = 12

// EnqueueMail sends m after the transaction commits, retried with backoff.
func EnqueueMail(tx Tx, m Mail, incidentID int64, now time.Time) error {
	if len(m.To) == 0 {
		return nil
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return tx.Enqueue(Job{Kind: JobMail, IncidentID: incidentID, Payload: payload, RunAt: now,
		MaxAttempts: mailMaxAttempts, CreatedAt: now})
}

func (b *Bot) sendMail(ctx context.Context, j Job) error {
	if b.mailer == nil {
		return Invalid("no outgoing mail is configured (mail.outgoing)")
	}
	var m Mail
	if err := json.Unmarshal(j.Payload, &m); err != nil {
		return Invalid("mail job %d: %v", j.ID, err)
	}
	if err := b.mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("send %q: %w", m.Subject, err)
	}
	return nil
}

// AddOverride puts a contact on call for a schedule for a while, in place of
// the rotation.
func (b *Bot) AddOverride(ctx context.Context, o Override) (Override, error) {
	var p Problems
	if o.Schedule == "" {
		p.Add("schedule", "name the schedule")
	}
	if o.Contact == "" {
		p.Add("contact", "name who takes over")
	}
	if !o.End.After(o.Start) {
		p.Add("end", "must be after the start")
	}
	if err := p.Err(); err != nil {
		return o, err
	}
	o.CreatedAt = b.clock.Now()
	err := b.store.Update(ctx, func(tx Tx) error { return tx.AddOverride(&o) })
	return o, err
}

// SnoozeError asks the runner to run the job again at Until without counting
// it as a failure: the job waits its turn (a call's slot in the pace).
type SnoozeError struct{ Until time.Time }

func (e *SnoozeError) Error() string { return "waiting until " + e.Until.Format(time.RFC3339Nano) }

// Snooze returns a *SnoozeError.
func Snooze(until time.Time) error { return &SnoozeError{Until: until} }

func isSnooze(err error) (time.Time, bool) {
	var s *SnoozeError
	if errors.As(err, &s) {
		return s.Until, true
	}
	return time.Time{}, false
}

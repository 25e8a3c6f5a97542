package bot

import (
	"context"
	"encoding/json"
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

package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventPostmortem: a postmortem was written or rewritten.
const EventPostmortem EventKind = "postmortem"

// JobKBPost posts an incident's postmortem to its service's knowledge-base
// channel on one platform (the job's payload names the platform), so a
// platform that is down does not make the others post twice.
const JobKBPost = "kb.post"

// Postmortem is what was learnt from a resolved incident: one per incident,
// kept so the next incident like it can show how it was fixed.
type Postmortem struct {
	IncidentID    int64         `json:"incident_id" db:"incident_id"`
	Number        int64         `json:"number" db:"number"`
	Service       string        `json:"service" db:"service"`
	Title         string        `json:"title" db:"title"`
	Severity      Severity      `json:"severity" db:"severity"`
	Owner         string        `json:"owner,omitempty" db:"owner"`
	Cause         string        `json:"cause,omitempty" db:"cause"`
	Fix           string        `json:"fix,omitempty" db:"fix"`
	FollowUps     string        `json:"follow_ups,omitempty" db:"follow_ups"`
	TimeToAck     time.Duration `json:"time_to_ack" db:"time_to_ack"` // zero: never acknowledged
	TimeToResolve time.Duration `json:"time_to_resolve" db:"time_to_resolve"`
	AlertCount    int           `json:"alert_count" db:"alert_count"`
	// Timeline is the incident's timeline when the postmortem was read for
	// posting; it is not stored with the postmortem (the timeline is).
	Timeline  []Event   `json:"timeline,omitempty" db:"-"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
	By        string    `json:"by" db:"written_by"` // actor id of the last writer
}

// Ref is the incident's human name, INC-<n>.
func (p Postmortem) Ref() string { return fmt.Sprintf("INC-%d", p.Number) }

// PostmortemInput is what a responder writes; an empty field keeps what an
// earlier write said, so "postmortem fix=…" does not wipe the cause.
type PostmortemInput struct {
	Cause, Fix, FollowUps string
}

// KnowledgeBase is the optional side of a Chat that posts postmortems to a
// knowledge-base channel. A Chat without it gets no postmortem posts.
type KnowledgeBase interface {
	PostPostmortem(ctx context.Context, channel string, pm Postmortem) error
}

// Knowledge reads committed postmortems.
type Knowledge interface {
	// Postmortem returns the incident's postmortem, or ErrNotFound.
	Postmortem(ctx context.Context, incidentID int64) (Postmortem, error)
	// SimilarIncidents returns the postmortems of service's past incidents
	// whose title, cause and fix share enough words (trigrams, so Japanese
	// without spaces matches too) with text, best first, at most limit, never
	// excludeID's. Other services' postmortems are not returned: their
	// fixes seldom apply, and a service's channel is where they are read.
	SimilarIncidents(ctx context.Context, service, text string, excludeID int64, limit int) ([]Postmortem, error)
}

// KnowledgeTx is the write side of postmortems, inside a transaction.
type KnowledgeTx interface {
	// Postmortem returns the incident's postmortem, or ErrNotFound.
	Postmortem(incidentID int64) (Postmortem, error)
	// SavePostmortem inserts pm or replaces the incident's postmortem.
	SavePostmortem(pm Postmortem) error
	// SimilarIncidents is Knowledge.SimilarIncidents inside the transaction;
	// it costs one indexed look-up when service has no postmortems.
	SimilarIncidents(service, text string, excludeID int64, limit int) ([]Postmortem, error)
}

// WritePostmortem stores the postmortem of the resolved incident INC-number
// (replacing the fields given when there is one), appends a postmortem event
// to its timeline and posts it to the service's knowledge-base channels.
// An unresolved incident is refused with ErrConflict.
func (b *Bot) WritePostmortem(ctx context.Context, number int64, in PostmortemInput, by Actor) (Postmortem, error) {
	in = PostmortemInput{Cause: strings.TrimSpace(in.Cause), Fix: strings.TrimSpace(in.Fix), FollowUps: strings.TrimSpace(in.FollowUps)}
	var pm Postmortem
	_, err := b.change(ctx, number, func(tx Tx, inc *Incident, now time.Time) error {
		if inc.Status != StatusResolved || inc.ResolvedAt == nil {
			return fmt.Errorf("%s is not resolved yet; write its postmortem once it is: %w", inc.Ref(), ErrConflict)
		}
		old, err := tx.Postmortem(inc.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			old = Postmortem{CreatedAt: now}
		case err != nil:
			return err
		}
		pm = postmortemOf(*inc, old, in, by, now)
		if err := tx.SavePostmortem(pm); err != nil {
			return fmt.Errorf("save postmortem of %s: %w", inc.Ref(), err)
		}
		if err := appendEvent(tx, inc, EventPostmortem, by.ID, by.Source, postmortemEventText(pm), now); err != nil {
			return err
		}
		return b.enqueueKBPosts(tx, *inc, now)
	})
	if err != nil {
		return Postmortem{}, err
	}
	if pm.Timeline, err = b.store.Timeline(ctx, pm.IncidentID, 0); err != nil {
		return pm, fmt.Errorf("read timeline of %s: %w", pm.Ref(), err)
	}
	return pm, nil
}

// postmortemOf builds the postmortem of the resolved inc: the times come
// from the incident, the text from in, or from old where in leaves it empty.
func postmortemOf(inc Incident, old Postmortem, in PostmortemInput, by Actor, now time.Time) Postmortem {
	pm := Postmortem{
		IncidentID: inc.ID, Number: inc.Number, Service: inc.Service, Title: inc.Title, Severity: inc.Severity,
		Owner: inc.Owner, AlertCount: inc.AlertCount,
		Cause:     cmp.Or(in.Cause, old.Cause),
		Fix:       cmp.Or(in.Fix, old.Fix),
		FollowUps: cmp.Or(in.FollowUps, old.FollowUps),
		CreatedAt: old.CreatedAt, UpdatedAt: now, By: by.ID,
	}
	if inc.AcknowledgedAt != nil {
		pm.TimeToAck = inc.AcknowledgedAt.Sub(inc.CreatedAt)
	}
	if inc.ResolvedAt != nil {
		pm.TimeToResolve = inc.ResolvedAt.Sub(inc.CreatedAt)
	}
	return pm
}

func postmortemEventText(pm Postmortem) string {
	parts := []string{"postmortem"}
	for _, f := range [][2]string{{"cause", pm.Cause}, {"fix", pm.Fix}, {"follow-ups", pm.FollowUps}} {
		if f[1] != "" {
			parts = append(parts, f[0]+": "+f[1])
		}
	}
	return strings.Join(parts, "; ")
}

// kbChatsFor lists the chats that can post to the service's knowledge-base
// channel, by platform.
func (b *Bot) kbChatsFor(service string) map[string]string {
	out := map[string]string{}
	for platform, ch := range b.services[service].KnowledgeBase {
		if c, ok := b.chats[platform]; ok && ch != "" {
			if _, ok := c.(KnowledgeBase); ok {
				out[platform] = ch
			}
		}
	}
	return out
}

// enqueueKBPosts asks for one post per platform; a rewrite before the post
// ran merges into the pending job, which reads the newest postmortem.
func (b *Bot) enqueueKBPosts(tx Tx, inc Incident, now time.Time) error {
	for platform := range b.kbChatsFor(inc.Service) {
		err := tx.Enqueue(Job{
			Kind:        JobKBPost,
			Key:         "kb:" + strconv.FormatInt(inc.ID, 10) + ":" + platform,
			IncidentID:  inc.ID,
			Payload:     []byte(strconv.Quote(platform)),
			RunAt:       now,
			MaxAttempts: chatMaxAttempts,
			CreatedAt:   now,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *Bot) postPostmortem(ctx context.Context, j Job) error {
	platform, err := strconv.Unquote(string(j.Payload))
	if err != nil {
		return Invalid("kb.post job %d: payload %q names no platform", j.ID, j.Payload)
	}
	pm, err := b.store.Postmortem(ctx, j.IncidentID)
	if err != nil {
		return err
	}
	channel, ok := b.kbChatsFor(pm.Service)[platform]
	if !ok {
		// The configuration changed since the job was enqueued.
		return Invalid("service %s has no knowledge-base channel on %s", pm.Service, platform)
	}
	if pm.Timeline, err = b.store.Timeline(ctx, pm.IncidentID, 0); err != nil {
		return err
	}
	if err := b.chats[platform].(KnowledgeBase).PostPostmortem(ctx, channel, pm); err != nil {
		return fmt.Errorf("post postmortem of %s to %s: %w", pm.Ref(), platform, err)
	}
	return nil
}

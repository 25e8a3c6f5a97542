package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Job kinds for chat.
const (
	JobChatPost   = "chat.post"   // post the root message of a new incident
	JobChatUpdate = "chat.update" // edit the root, post new timeline events
)

const chatMaxAttempts = 20

func (b *Bot) registerChatJobs() {
	b.Handle(JobChatPost, b.postIncident)
	b.Handle(JobChatUpdate, b.updateIncident)
}

func (b *Bot) enqueueChatPost(tx Tx, inc Incident, now time.Time) error {
	return b.enqueueChat(tx, JobChatPost, inc, now)
}

// enqueueChatUpdate is keyed per incident: while one update is pending, more
// changes ride on it, so an alert storm becomes one digest, not a reply each.
func (b *Bot) enqueueChatUpdate(tx Tx, inc Incident, now time.Time) error {
	return b.enqueueChat(tx, JobChatUpdate, inc, now)
}

func (b *Bot) enqueueChat(tx Tx, kind string, inc Incident, now time.Time) error {
	if len(b.chatsFor(inc.Service)) == 0 {
		return nil
	}
	return tx.Enqueue(Job{
		Kind:        kind,
		Key:         kind + ":" + strconv.FormatInt(inc.ID, 10),
		IncidentID:  inc.ID,
		RunAt:       now,
		MaxAttempts: chatMaxAttempts,
		CreatedAt:   now,
	})
}

// chatsFor lists the chats the service has a channel on, with that channel.
func (b *Bot) chatsFor(service string) map[Chat]string {
	out := map[Chat]string{}
	for platform, ch := range b.services[service].Channels {
		if c, ok := b.chats[platform]; ok && ch != "" {
			out[c] = ch
		}
	}
	return out
}

func (b *Bot) postIncident(ctx context.Context, j Job) error {
	inc, err := b.store.Incident(ctx, j.IncidentID)
	if err != nil {
		return err
	}
	posted, err := b.store.Threads(ctx, inc.ID)
	if err != nil {
		return err
	}
	var errs []error
	for c, channel := range b.chatsFor(inc.Service) {
		if hasThread(posted, c.Platform()) {
			continue // posted before a crash or on an earlier attempt
		}
		th, err := c.PostIncident(ctx, channel, inc)
		if err != nil {
			errs = append(errs, fmt.Errorf("post %s to %s: %w", inc.Ref(), c.Platform(), err))
			continue
		}
		th.IncidentID, th.Platform, th.PostedSeq = inc.ID, c.Platform(), inc.LastSeq
		if err := b.store.SaveThread(ctx, th); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *Bot) updateIncident(ctx context.Context, j Job) error {
	inc, err := b.store.Incident(ctx, j.IncidentID)
	if err != nil {
		return err
	}
	threads, err := b.store.Threads(ctx, inc.ID)
	if err != nil {
		return err
	}
	var events []Event
	var errs []error
	for c := range b.chatsFor(inc.Service) {
		th, ok := threadOn(threads, c.Platform())
		if !ok {
			// The root is not posted yet: its job runs first.
			errs = append(errs, Retryable(fmt.Errorf("%s has no %s thread yet", inc.Ref(), c.Platform()), time.Second))
			continue
		}
		if th.PostedSeq >= inc.LastSeq {
			continue
		}
		if events == nil {
			if events, err = b.store.Timeline(ctx, inc.ID); err != nil {
				return err
			}
		}
		if err := c.PostUpdate(ctx, th, inc, eventsBetween(events, th.PostedSeq, inc.LastSeq)); err != nil {
			errs = append(errs, fmt.Errorf("update %s on %s: %w", inc.Ref(), c.Platform(), err))
			continue
		}
		th.PostedSeq = inc.LastSeq
		if err := b.store.SaveThread(ctx, th); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func hasThread(ts []Thread, platform string) bool {
	_, ok := threadOn(ts, platform)
	return ok
}

func threadOn(ts []Thread, platform string) (Thread, bool) {
	for _, t := range ts {
		if t.Platform == platform {
			return t, true
		}
	}
	return Thread{}, false
}

// eventsBetween returns the events with from < seq <= to: the timeline may
// have grown past the incident row read before it; those go in the next update.
func eventsBetween(events []Event, from, to int) []Event {
	var out []Event
	for _, e := range events {
		if e.Seq > from && e.Seq <= to {
			out = append(out, e)
		}
	}
	return out
}

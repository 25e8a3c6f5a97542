package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// JobChatSync brings an incident's chat threads up to date: it posts the
// root message where there is none yet, then posts the timeline events
// since the last sync and edits the root. One job per incident is pending at
// a time and jobs of one key never run at once, so a storm of changes
// becomes one digest, in order.
const JobChatSync = "chat.sync"

const chatMaxAttempts = 20

// chatDigestDelay is how long a sync waits after an alert is appended to an
// open incident, so a storm's alerts are posted as one digest per incident
// (well inside the 5 s users expect). New incidents and state changes sync
// at once.
const chatDigestDelay = 3 * time.Second

func (b *Bot) registerChatJobs() {
	b.Handle(JobChatSync, b.syncChat)
}

// enqueueChatSync asks for a sync at runAt; a pending sync of the incident
// takes the earlier of the two times.
func (b *Bot) enqueueChatSync(tx Tx, inc Incident, now, runAt time.Time) error {
	if len(b.chatsFor(inc.Service)) == 0 {
		return nil
	}
	return tx.Enqueue(Job{
		Kind:        JobChatSync,
		Key:         "chat:" + strconv.FormatInt(inc.ID, 10),
		IncidentID:  inc.ID,
		RunAt:       runAt,
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

func (b *Bot) syncChat(ctx context.Context, j Job) error {
	inc, err := b.store.Incident(ctx, j.IncidentID)
	if err != nil {
		return err
	}
	threads, err := b.store.Threads(ctx, inc.ID)
	if err != nil {
		return err
	}
	var errs []error
	for c, channel := range b.chatsFor(inc.Service) {
		th, ok := threadOn(threads, c.Platform())
		if !ok {
			// The root message shows the incident as it is now, so the
			// events so far need no replies of their own, except the
			// similar past incidents, which the root does not show.
			replies, err := b.ownReplies(ctx, inc)
			if err != nil {
				return err
			}
			th, err = b.postRoot(ctx, c, channel, inc, j.Attempts)
			if err != nil {
				b.chatPostFailed(c.Platform())
				errs = append(errs, err)
				b.chatFailed(ctx, inc, err)
				continue
			}
			th.IncidentID, th.Platform, th.PostedSeq, th.PostedAlerts = inc.ID, c.Platform(), inc.LastSeq, inc.AlertCount
			if err := postOwnReplies(ctx, c, &th, inc, replies); err != nil {
				errs = append(errs, err)
			}
			if err := b.store.SaveThread(ctx, th); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if th.PostedSeq >= inc.LastSeq && th.PostedAlerts >= inc.AlertCount {
			continue
		}
		events, err := b.store.Timeline(ctx, inc.ID, th.PostedSeq)
		if err != nil {
			return err
		}
		if err := c.PostUpdate(ctx, th, inc, eventsBetween(events, th.PostedSeq, inc.LastSeq)); err != nil {
			b.chatPostFailed(c.Platform())
			errs = append(errs, fmt.Errorf("update %s on %s: %w", inc.Ref(), c.Platform(), err))
			continue
		}
		th.PostedSeq, th.PostedAlerts = inc.LastSeq, inc.AlertCount
		if err := b.store.SaveThread(ctx, th); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// postRoot posts the incident's root message to channel. On a retry it
// first asks a chat that can find roots for one posted before: the run
// before may have died after the platform took the message and before its
// thread was saved. The first attempt never asks, so the usual post costs no
// extra call.
//
// A root found shows the incident as it was when the run that died posted
// it. It is taken as a root posted now: edited at once to show the incident
// as it is, which is all a fresh root would show, so no event is lost and
// none is posted twice; the next update starts from there. Only the similar
// incidents are posted under it again: the run that died may have posted
// them too, and a repeat is better than losing them.
//
// An error from the lookup means the chat could not be asked: the job
// retries rather than post blindly. Only a platform that will never answer
// (a scope or permission missing) gets the root posted, since a root shown
// twice beats none.
func (b *Bot) postRoot(ctx context.Context, c Chat, channel string, inc Incident, attempt int) (Thread, error) {
	if finder, ok := c.(RootFinder); ok && attempt > 1 {
		th, found, err := finder.FindIncident(ctx, channel, inc)
		var invalid *InvalidError
		switch {
		case errors.As(err, &invalid):
			b.log.Warn("cannot look for a root message posted before; posting it", "incident", inc.Ref(), "platform", c.Platform(), "err", err)
		case err != nil:
			return Thread{}, fmt.Errorf("look for %s on %s: %w", inc.Ref(), c.Platform(), err)
		case found:
			b.log.Info("root message was posted before a restart; not posting it again", "incident", inc.Ref(),
				"platform", c.Platform(), "attempt", attempt)
			th.PostedAlerts = inc.AlertCount // no "alerts since" reply: the edit shows the count
			if err := c.PostUpdate(ctx, th, inc, nil); err != nil {
				return Thread{}, fmt.Errorf("update %s found on %s: %w", inc.Ref(), c.Platform(), err)
			}
			return th, nil
		}
	}
	th, err := c.PostIncident(ctx, channel, inc)
	if err != nil {
		return Thread{}, fmt.Errorf("post %s to %s: %w", inc.Ref(), c.Platform(), err)
	}
	return th, nil
}

// ownReplies lists the events a root message does not show and that are
// posted under it at once: the similar past incidents.
func (b *Bot) ownReplies(ctx context.Context, inc Incident) ([]Event, error) {
	events, err := b.store.Timeline(ctx, inc.ID, 0)
	if err != nil {
		return nil, err
	}
	var replies []Event
	for _, e := range eventsBetween(events, 0, inc.LastSeq) {
		if e.Kind == EventSimilar {
			replies = append(replies, e)
		}
	}
	return replies, nil
}

// postOwnReplies posts replies under the root message just posted. When that
// fails, the thread is saved as posted up to just before them, so the retry
// posts them as an update.
func postOwnReplies(ctx context.Context, c Chat, th *Thread, inc Incident, replies []Event) error {
	if len(replies) == 0 {
		return nil
	}
	if err := c.PostUpdate(ctx, *th, inc, replies); err != nil {
		th.PostedSeq = replies[0].Seq - 1
		return fmt.Errorf("post similar incidents of %s to %s: %w", inc.Ref(), c.Platform(), err)
	}
	return nil
}

func (b *Bot) chatPostFailed(platform string) {
	if b.hooks.ChatPostFailed != nil {
		b.hooks.ChatPostFailed(platform)
	}
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

// chatFailed hands the incident to the phone at once: nobody can ack in a
// chat that did not get the incident. The sync itself is retried.
func (b *Bot) chatFailed(ctx context.Context, inc Incident, cause error) {
	if b.escalator == nil || inc.Status != StatusTriggered {
		return
	}
	if err := b.escalator.ChatFailed(ctx, inc, cause); err != nil {
		b.log.Error("chat is down and escalation could not be told", "incident", inc.Ref(), "err", err)
	}
}

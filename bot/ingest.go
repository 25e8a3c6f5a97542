package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"
)

// IngestAction says what an alert did.
type IngestAction string

const (
	IngestOpened   IngestAction = "opened"   // a new incident
	IngestAppended IngestAction = "appended" // added to the open incident
	IngestResolved IngestAction = "resolved" // resolved the open incident
	IngestIgnored  IngestAction = "ignored"  // a resolve with nothing open
)

// IngestResult is the outcome of one committed alert.
type IngestResult struct {
	Action   IngestAction
	Incident Incident // zero when ignored
}

// Ingest records a, deduplicated into the open incident of its service and
// fingerprint or opening a new one, and enqueues the follow-up jobs, all in
// one transaction. It returns after commit: an alert it accepted is durable.
// Concurrent calls are committed together in batches (group commit), so a
// storm costs one transaction per batch, not per alert.
func (b *Bot) Ingest(ctx context.Context, a Alert) (IngestResult, error) {
	if a.ReceivedAt.IsZero() {
		a.ReceivedAt = b.clock.Now()
	}
	svc, ok := b.services[a.Service]
	if !ok {
		return IngestResult{}, Invalid("service %q is not configured", a.Service)
	}
	if a.Severity == "" {
		a.Severity = cmp.Or(svc.Severity, DefaultSeverity)
	}
	if err := a.Validate(); err != nil {
		return IngestResult{}, err
	}
	req := &ingestRequest{ctx: ctx, alert: a, done: make(chan ingestReply, 1)}
	h := fnv.New32a()
	h.Write([]byte(a.Service + "\x00" + a.Fingerprint))
	if err := b.committers[int(h.Sum32()%uint32(len(b.committers)))].submit(ctx, req); err != nil {
		return IngestResult{}, err
	}
	select {
	case r := <-req.done:
		return r.result, r.err
	case <-ctx.Done():
		return IngestResult{}, ctx.Err()
	}
}

type ingestRequest struct {
	ctx   context.Context
	alert Alert
	done  chan ingestReply
}

type ingestReply struct {
	result IngestResult
	err    error
}

func (r *ingestRequest) abandoned() bool {
	if err := r.ctx.Err(); err != nil {
		r.done <- ingestReply{err: err}
		return true
	}
	return false
}

// commit runs one transaction for the batch. When it fails for a reason other
// than an unavailable store, each alert is tried alone so one bad alert cannot
// refuse the others.
func (b *Bot) commitIngest(live []*ingestRequest) {
	// One order everywhere: alerts of a key keep their arrival order, and new
	// incidents are inserted in key order, so concurrent batches on other
	// replicas queue behind each other rather than deadlock (the store locks
	// existing incidents in id order).
	slices.SortStableFunc(live, func(x, y *ingestRequest) int {
		return cmp.Or(cmp.Compare(x.alert.Service, y.alert.Service), cmp.Compare(x.alert.Fingerprint, y.alert.Fingerprint))
	})
	results, err := b.tryIngest(live)
	if err != nil && len(live) > 1 && !errors.Is(err, ErrUnavailable) {
		for _, r := range live {
			b.commitIngest([]*ingestRequest{r})
		}
		return
	}
	now := b.clock.Now()
	for i, r := range live {
		if err != nil {
			r.done <- ingestReply{err: err}
			continue
		}
		if h := b.hooks.IngestCommitted; h != nil {
			h(now.Sub(r.alert.ReceivedAt))
		}
		if results[i].Action == IngestOpened && b.hooks.IncidentOpened != nil {
			b.hooks.IncidentOpened(results[i].Incident)
		}
		r.done <- ingestReply{result: results[i]}
	}
}

// tryIngest retries once on a conflict: another replica opened the same
// incident between our look-up and our insert.
func (b *Bot) tryIngest(batch []*ingestRequest) ([]IngestResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var results []IngestResult
	var notes []digestNote
	var err error
	for range 2 {
		results = make([]IngestResult, len(batch))
		notes = notes[:0]
		err = b.store.Update(ctx, func(tx Tx) error {
			if err := tx.LockOpenIncidents(batchKeys(batch)); err != nil {
				return err
			}
			for i, r := range batch {
				res, err := b.applyAlert(tx, r.alert, &notes)
				if err != nil {
					return err
				}
				results[i] = res
			}
			return nil
		})
		if !errors.Is(err, ErrConflict) {
			break
		}
	}
	if err == nil {
		b.digests.record(notes, b.clock.Now())
	}
	return results, err
}

// batchKeys lists the batch's distinct incident keys, in the batch's order.
func batchKeys(batch []*ingestRequest) []IncidentKey {
	keys := make([]IncidentKey, 0, len(batch))
	for _, r := range batch {
		k := IncidentKey{r.alert.Service, r.alert.Fingerprint}
		if len(keys) == 0 || keys[len(keys)-1] != k {
			keys = append(keys, k)
		}
	}
	return keys
}

// applyAlert adds a to its incident inside tx and notes the chat syncs it
// enqueued, for the committer to remember once the transaction commits.
func (b *Bot) applyAlert(tx Tx, a Alert, notes *[]digestNote) (IngestResult, error) {
	now := b.clock.Now()
	res := IngestResult{Action: IngestAppended}
	inc, err := tx.OpenIncidentFor(a.Service, a.Fingerprint)
	switch {
	case errors.Is(err, ErrNotFound):
		if a.Status == AlertResolved {
			return IngestResult{Action: IngestIgnored}, nil
		}
		inc = Incident{
			Service:     a.Service,
			Fingerprint: a.Fingerprint,
			Title:       a.Title,
			Status:      StatusTriggered,
			Severity:    a.Severity,
			CreatedAt:   now,
		}
		if err := tx.CreateIncident(&inc); err != nil {
			return res, err
		}
		res.Action = IngestOpened
		if err := appendEvent(tx, &inc, EventOpened, a.Integration, a.Source, a.Title, now); err != nil {
			return res, err
		}
		if err := noteSimilar(tx, &inc, now); err != nil {
			return res, fmt.Errorf("find incidents like %s: %w", inc.Ref(), err)
		}
		if b.escalator != nil {
			if err := b.escalator.Start(tx, &inc, now); err != nil {
				return res, fmt.Errorf("arm escalation of %s: %w", inc.Ref(), err)
			}
		}
	case err != nil:
		return res, err
	}
	if err := tx.AddAlert(inc.ID, a); err != nil {
		return res, err
	}
	inc.AlertCount++
	// Repeats of the alert that opened the incident are counted (alert_count,
	// and each alert's row with its payload), not narrated: a storm would
	// otherwise bury the responders' entries in the timeline. An alert that
	// says something new, another title, gets an event of its own.
	if res.Action == IngestAppended && a.Status == AlertFiring && a.Title != inc.Title {
		if err := appendEvent(tx, &inc, EventAlert, a.Integration, a.Source, a.Title, now); err != nil {
			return res, err
		}
	}
	if a.Status == AlertFiring && a.Severity < inc.Severity {
		// A worse alert raises the incident's severity; it never lowers it.
		text := fmt.Sprintf("severity %s → %s", inc.Severity, a.Severity)
		inc.Severity = a.Severity
		if err := appendEvent(tx, &inc, EventClassified, a.Integration, a.Source, text, now); err != nil {
			return res, err
		}
	}
	if a.Status == AlertResolved {
		inc.Status = StatusResolved
		inc.ResolvedAt = &now
		res.Action = IngestResolved
		if err := appendEvent(tx, &inc, EventResolved, a.Integration, a.Source, "resolved by the monitoring source", now); err != nil {
			return res, err
		}
		if err := b.stopEscalation(tx, &inc, Actor{ID: a.Integration, Source: a.Source}, now); err != nil {
			return res, err
		}
	}
	if err := tx.SaveIncident(inc); err != nil {
		return res, err
	}
	switch {
	case res.Action == IngestAppended && b.digests.covered(inc.ID, now):
		// A digest enqueued for an earlier alert will show this one too.
	case res.Action == IngestAppended:
		due := now.Add(chatDigestDelay)
		if err := b.enqueueChatSync(tx, inc, now, due); err != nil {
			return res, err
		}
		*notes = append(*notes, digestNote{incident: inc.ID, due: due})
	default:
		if err := b.enqueueChatSync(tx, inc, now, now); err != nil {
			return res, err
		}
		*notes = append(*notes, digestNote{incident: inc.ID})
	}
	res.Incident = inc
	return res, nil
}

// AppendEvent seals a new event onto inc's chain and advances the head; the
// caller saves inc in the same transaction.
func AppendEvent(tx Tx, inc *Incident, kind EventKind, actor, source, text string, at time.Time) error {
	return appendEvent(tx, inc, kind, actor, source, text, at)
}

func appendEvent(tx Tx, inc *Incident, kind EventKind, actor, source, text string, at time.Time) error {
	e := Event{
		IncidentID: inc.ID,
		Seq:        inc.LastSeq + 1,
		Kind:       kind,
		Actor:      actor,
		Source:     source,
		Text:       text,
		At:         at.UTC().Truncate(time.Microsecond),
	}
	e.Seal(inc.LastHash)
	if err := tx.AppendEvent(e); err != nil {
		return fmt.Errorf("append %s event to %s: %w", kind, inc.Ref(), err)
	}
	inc.LastSeq, inc.LastHash = e.Seq, e.Hash
	return nil
}

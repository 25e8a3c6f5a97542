package bot

import (
	"sync"
	"time"
)

// digestMargin is how long before its due time a remembered digest stops
// covering new alerts: the job may run a little early by another replica's
// clock, and an alert committed after the digest ran needs a digest of its own.
const digestMargin = 500 * time.Millisecond

// pendingDigests remembers the chat digests this process enqueued, and when
// they are due, so the rest of a storm's alerts need not enqueue them again:
// one job write per incident per digest instead of one per alert.
type pendingDigests struct {
	mu  sync.Mutex
	due map[int64]time.Time
}

// digestNote is what one transaction enqueued for an incident: a digest due
// at due, or (due zero) a sync due at once.
type digestNote struct {
	incident int64
	due      time.Time
}

// covered reports whether a digest this process committed will still run
// after an alert committed now.
func (p *pendingDigests) covered(incident int64, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	due, ok := p.due[incident]
	return ok && due.Sub(now) > digestMargin
}

// record takes note of what a committed transaction enqueued. A sync due at
// once absorbs the pending digest (the store merges them), so it is forgotten.
func (p *pendingDigests) record(notes []digestNote, now time.Time) {
	if len(notes) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.due == nil {
		p.due = map[int64]time.Time{}
	}
	for _, n := range notes {
		if n.due.IsZero() {
			delete(p.due, n.incident)
		} else {
			p.due[n.incident] = n.due
		}
	}
	if len(p.due) > 10000 {
		for id, due := range p.due {
			if !due.After(now) {
				delete(p.due, id)
			}
		}
	}
}

package bot

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// request is what a batcher carries: a caller that may have stopped waiting.
type request interface {
	// abandoned answers the caller with its context's error and reports
	// true when the caller has given up; such requests are not committed.
	abandoned() bool
}

// batcher feeds queued requests to commit in batches, one batch at a time:
// while a transaction runs, the requests that arrive queue up and share the
// next one (group commit). Ingest and incident changes both run on it.
type batcher[R request] struct {
	in       chan R
	maxBatch int
	linger   time.Duration
	commit   func([]R)

	mu     sync.RWMutex
	closed bool
}

func newBatcher[R request](maxBatch int, linger time.Duration, commit func([]R)) *batcher[R] {
	return &batcher[R]{in: make(chan R, maxBatch*4), maxBatch: maxBatch, linger: linger, commit: commit}
}

func (c *batcher[R]) submit(ctx context.Context, req R) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return fmt.Errorf("shutting down: %w", ErrUnavailable)
	}
	select {
	case c.in <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *batcher[R]) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
}

func (c *batcher[R]) run() {
	batch := make([]R, 0, c.maxBatch)
	linger := time.NewTimer(0)
	<-linger.C
	busy := false
	for first := range c.in {
		batch = append(batch[:0], first)
		c.drain(&batch)
		// Under load, wait a moment for more: a transaction costs about the
		// same for 5 requests as for 100. A lone request on a quiet system
		// is committed at once.
		if busy && c.linger > 0 && len(batch) < c.maxBatch {
			linger.Reset(c.linger)
		wait:
			for len(batch) < c.maxBatch {
				select {
				case r, ok := <-c.in:
					if !ok {
						break wait
					}
					batch = append(batch, r)
				case <-linger.C:
					break wait
				}
			}
			if !linger.Stop() {
				select {
				case <-linger.C:
				default:
				}
			}
		}
		busy = len(batch) > 1
		live := batch[:0:0]
		for _, r := range batch {
			if !r.abandoned() {
				live = append(live, r)
			}
		}
		if len(live) > 0 {
			c.commit(live)
		}
	}
}

// drain adds what is queued now, without waiting.
func (c *batcher[R]) drain(batch *[]R) {
	for len(*batch) < c.maxBatch {
		select {
		case r, ok := <-c.in:
			if !ok {
				return
			}
			*batch = append(*batch, r)
		default:
			return
		}
	}
}

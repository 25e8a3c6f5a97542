package bot

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// LeaderConfig tunes RunLeader.
type LeaderConfig struct {
	Name   string // the lease, one leader per name: "discord-gateway", "imap"
	Holder string // this replica, unique among replicas (host name and pid)
	// TTL is how long the lease lasts unrenewed, so a dead holder's lease
	// expires within TTL (default 6s).
	TTL time.Duration
	// Clock and After tell the time and wait; tests inject them together
	// (default SystemClock and time.After).
	Clock  Clock
	After  func(time.Duration) <-chan time.Time
	Logger *slog.Logger
	// OnChange, when set, hears that this replica became the leader (true)
	// and that it stopped leading (false): for metrics.
	OnChange func(leader bool)
}

// Why a leader's fn is cancelled, as context.Cause tells it.
var (
	errLeaseRefused = errors.New("lease taken by another replica")
	errLeaseOverdue = errors.New("lease not renewed in time")
)

// RunLeader runs fn while this replica holds the lease, until ctx ends. It
// tries to acquire every TTL/4 while not holding it; while holding, it renews
// every TTL/3 and cancels fn's context as soon as a renewal is refused, or
// when the last successful renewal is older than TTL*2/3 (failed renewals are
// retried until then), before another replica may take the lease; it waits
// for fn to return before trying again. When fn returns by itself (error or
// nil) the lease is released and it tries again after TTL/4. On ctx end it
// cancels fn, waits for it, and releases the lease so another replica takes
// over at once.
func RunLeader(ctx context.Context, leases Leases, cfg LeaderConfig, fn func(ctx context.Context) error) {
	l := &leader{LeaderConfig: cfg, leases: leases}
	l.TTL = cmpDuration(l.TTL, 6*time.Second)
	if l.Clock == nil {
		l.Clock = SystemClock
	}
	if l.After == nil {
		l.After = time.After
	}
	if l.Logger == nil {
		l.Logger = slog.Default()
	}
	l.Logger = l.Logger.With("lease", l.Name, "holder", l.Holder)
	for ctx.Err() == nil {
		sent := l.Clock.Now()
		held, err := leases.AcquireLease(ctx, l.Name, l.Holder, l.TTL)
		switch {
		case held:
			l.lead(ctx, sent, fn)
		case err != nil && ctx.Err() != nil:
			// The acquire may have landed as ctx ended: give it back.
			l.release(ctx)
		case err != nil:
			l.Logger.Warn("acquire leader lease", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-l.After(l.TTL / 4):
		}
	}
}

type leader struct {
	LeaderConfig
	leases Leases
}

// renewal is the outcome of one renewal, sent at sent.
type renewal struct {
	sent time.Time
	held bool
	err  error
}

// lead runs fn for as long as the lease holds, then releases it. The lease
// was taken by a call sent at acquired: it holds at least until acquired+TTL.
func (l *leader) lead(ctx context.Context, acquired time.Time, fn func(ctx context.Context) error) {
	defer l.release(ctx)
	renewed := acquired // the last successful renewal's send time
	if ctx.Err() != nil || !l.Clock.Now().Before(renewed.Add(l.TTL*2/3)) {
		return // too late to lead safely: try again
	}
	fnCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	done := make(chan error, 1)
	l.Logger.Info("leading")
	l.changed(true)
	go func() { done <- fn(fnCtx) }()

	// Renewals run beside the loop so that one that hangs (a partitioned
	// database) does not hold fn past the deadline.
	renewCtx, cancelRenew := context.WithCancel(ctx)
	defer cancelRenew()
	renewals := make(chan renewal, 1)
	renewing := false
	nextRenew := renewed.Add(l.TTL / 3)
	var fnErr error
	returned := false
loop:
	for {
		now := l.Clock.Now()
		deadline := renewed.Add(l.TTL * 2 / 3)
		if !now.Before(deadline) {
			stop(errLeaseOverdue)
			break
		}
		if !renewing && !now.Before(nextRenew) {
			renewing = true
			go func() {
				held, err := l.leases.AcquireLease(renewCtx, l.Name, l.Holder, l.TTL)
				renewals <- renewal{sent: now, held: held, err: err}
			}()
		}
		wait := deadline.Sub(now)
		if !renewing {
			wait = min(wait, nextRenew.Sub(now))
		}
		select {
		case fnErr = <-done:
			returned = true
			break loop
		case <-ctx.Done():
			break loop
		case r := <-renewals:
			renewing = false
			switch {
			case r.err != nil:
				// Try again soon: a blip must not cost the leadership.
				l.Logger.Warn("renew leader lease", "err", r.err)
				nextRenew = l.Clock.Now().Add(l.TTL / 6)
			case !r.held:
				stop(errLeaseRefused)
				break loop
			default:
				renewed, nextRenew = r.sent, r.sent.Add(l.TTL/3)
			}
		case <-l.After(wait):
		}
	}
	if cause := context.Cause(fnCtx); !returned && ctx.Err() == nil {
		l.Logger.Warn("stop leading", "reason", cause)
	}
	if !returned {
		fnErr = <-done
	}
	// A renewal landing after the release would hold the lease for nobody.
	cancelRenew()
	if renewing {
		<-renewals
	}
	l.changed(false)
	switch {
	case returned && fnErr != nil:
		l.Logger.Error("leader stopped", "err", fnErr)
	case returned:
		l.Logger.Info("leader stopped")
	case fnErr != nil && !errors.Is(fnErr, context.Canceled):
		l.Logger.Warn("leader stopped", "err", fnErr)
	}
}

// release gives the lease up, even once ctx has ended, so another replica
// takes over at once rather than after TTL.
func (l *leader) release(ctx context.Context) {
	// Past TTL the lease has expired anyway.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.TTL)
	defer cancel()
	if err := l.leases.ReleaseLease(rctx, l.Name, l.Holder); err != nil {
		l.Logger.Warn("release leader lease", "err", err)
	}
}

func (l *leader) changed(leader bool) {
	if l.OnChange != nil {
		l.OnChange(leader)
	}
}

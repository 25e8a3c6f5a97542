package bot

import (
	"context"
	"time"
)

// Leases are named claims that expire unless renewed; one holder at a time.
// Replicas sharing a store elect one leader per name with them (the Discord
// gateway, the IMAP poller): a dead holder's lease runs out and another
// replica takes it.
type Leases interface {
	// AcquireLease takes the lease name for holder for ttl when it is free,
	// expired, or already holder's (then it renews it); held reports whether
	// holder holds it afterwards. Of concurrent acquirers of a free lease
	// exactly one holds it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (held bool, err error)
	// ReleaseLease gives name up if holder holds it; otherwise it does
	// nothing.
	ReleaseLease(ctx context.Context, name, holder string) error
	// LeaseHolder says who holds name and until when: holder "" (and a zero
	// time) when nobody does or the lease expired, never ErrNotFound.
	LeaseHolder(ctx context.Context, name string) (holder string, until time.Time, err error)
}

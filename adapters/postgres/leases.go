package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AcquireLease takes, renews or is refused the lease in one statement. Of
// concurrent inserts of one name PostgreSQL lets one insert and makes the
// others re-check the WHERE against its row, so exactly one holds. Times are
// the database's, so replicas with skewed clocks agree on expiry.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if holder == "" || ttl <= 0 {
		return false, fmt.Errorf("acquire lease %q: holder %q for %v: want a holder and a positive ttl", name, holder, ttl)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO leases AS l (name, holder, expires_at)
		VALUES ($1, $2, now() + make_interval(secs => $3))
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE l.holder = excluded.holder OR l.expires_at <= now()`, name, holder, ttl.Seconds())
	n, err := rowsAffected(res, err)
	if err != nil {
		return false, fmt.Errorf("acquire lease %q: %w", name, mapErr(err))
	}
	return n == 1, nil
}

// ReleaseLease deletes the lease if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("release lease %q: %w", name, mapErr(err))
	}
	return nil
}

// LeaseHolder reports the unexpired holder of name, or "".
func (s *Store) LeaseHolder(ctx context.Context, name string) (string, time.Time, error) {
	var l struct {
		Holder    string    `db:"holder"`
		ExpiresAt time.Time `db:"expires_at"`
	}
	err := s.db.GetContext(ctx, &l, `SELECT holder, expires_at FROM leases WHERE name = $1 AND expires_at > now()`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("lease %q: %w", name, mapErr(err))
	}
	return l.Holder, l.ExpiresAt.UTC(), nil
}

// Package postgres is the production Store: PostgreSQL through sqlx and
// lib/pq, shared by every replica. Jobs are claimed with FOR UPDATE SKIP
// LOCKED and leases; workers are woken by LISTEN/NOTIFY.
package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/migrations"
)

// notifyChannel is where commits that enqueue jobs announce them.
const notifyChannel = "hotline_jobs"

// Store is bot.Store on PostgreSQL.
type Store struct {
	db *sqlx.DB
	// jobsDB commits job claims and finishes without waiting for the WAL
	// flush: losing the last few of them to a database crash only re-runs a
	// job, which handlers must tolerate anyway (a worker may die after its
	// side effect and before Finish). Ingest and incident changes stay
	// fully synchronous.
	jobsDB   *sqlx.DB
	clock    bot.Clock
	log      *slog.Logger
	wake     chan struct{}
	listener *pq.Listener

	stmtMu sync.Mutex
	stmts  map[string]*sqlx.Stmt
}

var _ bot.Store = (*Store)(nil)

// Options tune Open.
type Options struct {
	Clock    bot.Clock
	Logger   *slog.Logger
	Migrate  bool // apply pending migrations (under an advisory lock) first
	MaxConns int  // default 16
}

// Open connects to the database at dsn, optionally migrates it, and starts
// listening for job notifications.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	// binary_parameters: a query with arguments costs one round trip, not
	// two (no separate prepare).
	dsn = withParam(dsn, "binary_parameters", "yes")
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(cmpInt(o.MaxConns, 16))
	db.SetMaxIdleConns(cmpInt(o.MaxConns, 16))
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", mapErr(err))
	}
	jobsDB, err := sqlx.Open("postgres", withParam(dsn, "options", "-c synchronous_commit=off"))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	jobsDB.SetMaxOpenConns(cmpInt(o.MaxConns, 16) / 2)
	jobsDB.SetMaxIdleConns(cmpInt(o.MaxConns, 16) / 2)
	s := &Store{db: db, jobsDB: jobsDB, clock: o.Clock, log: o.Logger, wake: make(chan struct{}, 1)}
	if s.clock == nil {
		s.clock = bot.SystemClock
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if o.Migrate {
		if err := Migrate(ctx, db); err != nil {
			db.Close()
			return nil, err
		}
	}
	s.listener = pq.NewListener(dsn, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			s.log.Warn("job notifications", "err", err)
		}
		// After a reconnect notifications may have been missed: look now.
		s.signal()
	})
	if err := s.listener.Listen(notifyChannel); err != nil {
		s.listener.Close()
		db.Close()
		return nil, fmt.Errorf("listen for job notifications: %w", err)
	}
	go s.forwardNotifications()
	return s, nil
}

// Migrate applies pending migrations. A PostgreSQL advisory lock makes
// replicas that start together take turns.
func Migrate(ctx context.Context, db *sqlx.DB) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	fsys, err := fs.Sub(migrations.Postgres, "postgres")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.DB, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

// prepared returns the statement for query, preparing it on first use.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sqlx.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// Close stops listening and closes the connections.
func (s *Store) Close() error {
	if s.listener != nil {
		s.listener.Close()
	}
	return errors.Join(s.jobsDB.Close(), s.db.Close())
}

// DB is the connection pool, for tests and tools.
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return mapErr(err)
	}
	return nil
}

func (s *Store) forwardNotifications() {
	for range s.listener.Notify {
		s.signal()
	}
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Wake receives when a commit here or on another replica enqueued jobs.
func (s *Store) Wake() <-chan struct{} { return s.wake }

// mapErr translates driver errors to the domain's: a lost or refused
// connection is ErrUnavailable (callers answer "retry later"), a unique
// violation is ErrConflict.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		// FATAL ends the session: the server refused or dropped us (database
		// not accepting connections, shutting down, out of connections).
		if pqErr.Fatal() || pqErr.Severity == pqerror.SeverityPanic {
			return fmt.Errorf("%w: %s", bot.ErrUnavailable, pqErr.Message)
		}
		switch pqErr.Code.Class() {
		case "23":
			if pqErr.Code == "23505" {
				return fmt.Errorf("%w: %s", bot.ErrConflict, pqErr.Message)
			}
		case "08", "53", "57", "58":
			return fmt.Errorf("%w: %s", bot.ErrUnavailable, pqErr.Message)
		}
		return err
	}
	var netErr net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", bot.ErrUnavailable, err)
	}
	return err
}

// withParam sets a connection parameter in a postgres:// URL unless the URL
// sets it already.
func withParam(dsn, key, value string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	q := u.Query()
	if q.Get(key) == "" {
		q.Set(key, value)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func cmpInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Package sqlite is the zero-setup Store: an embedded SQLite file (pure Go,
// WAL mode) for a single Hotline process. Writes go through one connection,
// so jobs are claimed in-process without row locks; reads use a pool.
package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/migrations"
)

// Store is bot.Store on an SQLite file.
type Store struct {
	db    *sqlx.DB // the one writer connection
	read  *sqlx.DB // readers
	clock bot.Clock
	log   *slog.Logger
	wake  chan struct{}

	stmtMu sync.Mutex
	stmts  map[string]*sqlx.Stmt // prepared on the writer connection
	wanted map[string]bool       // missed by a transaction: prepare after it
}

var _ bot.Store = (*Store)(nil)

// Options tune Open.
type Options struct {
	Clock  bot.Clock
	Logger *slog.Logger
}

// PathFromURL turns "sqlite:hotline.db", "sqlite://rel.db" or
// "sqlite:///var/lib/hotline/hotline.db" into a file path.
func PathFromURL(u string) (string, error) {
	rest, ok := strings.CutPrefix(u, "sqlite:")
	if !ok {
		return "", fmt.Errorf("database url %q: want sqlite:PATH", u)
	}
	rest = strings.TrimPrefix(rest, "//")
	if rest == "" {
		return "", fmt.Errorf("database url %q: no file named", u)
	}
	return rest, nil
}

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string, o Options) (*Store, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	// FULL sync: an alert answered 202 survives a power cut, not only a crash.
	params := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		params.Add("_pragma", p)
	}
	params.Set("_time_format", "sqlite")
	params.Set("_timezone", "UTC")
	readParams := url.Values{"_pragma": {"busy_timeout(10000)", "foreign_keys(1)"}, "_time_format": {"sqlite"}, "_timezone": {"UTC"}}
	params.Set("_txlock", "immediate")
	file := "file:" + path
	db, err := sqlx.Open("sqlite", file+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	read, err := sqlx.Open("sqlite", file+"?"+readParams.Encode())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	s := &Store{db: db, read: read, clock: o.Clock, log: o.Logger, wake: make(chan struct{}, 1)}
	if s.clock == nil {
		s.clock = bot.SystemClock
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// maxPrepared bounds the statement cache; queries past it run unprepared.
const maxPrepared = 256

// prepared returns the writer's prepared statement for query, or false. A
// transaction holds the one writer connection, so a statement cannot be
// prepared while one runs: a miss is noted and prepared after the commit.
// SQLite spends more time parsing a small statement than running it.
func (s *Store) prepared(query string) (*sqlx.Stmt, bool) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	st, ok := s.stmts[query]
	if !ok && len(s.stmts)+len(s.wanted) < maxPrepared {
		if s.wanted == nil {
			s.wanted = map[string]bool{}
		}
		s.wanted[query] = true
	}
	return st, ok
}

// prepareWanted prepares the statements transactions missed.
func (s *Store) prepareWanted(ctx context.Context) {
	s.stmtMu.Lock()
	wanted := s.wanted
	s.wanted = nil
	s.stmtMu.Unlock()
	for q := range wanted {
		st, err := s.db.PreparexContext(ctx, q)
		if err != nil {
			continue // it runs unprepared, as before
		}
		s.stmtMu.Lock()
		if s.stmts == nil {
			s.stmts = map[string]*sqlx.Stmt{}
		}
		s.stmts[q] = st
		s.stmtMu.Unlock()
	}
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations.SQLite, "sqlite")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db.DB, fsys)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.db.Close())
}

// DB is the writer connection, for tests and tools.
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping checks that the database file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return mapErr(s.read.GetContext(ctx, &one, `SELECT 1`))
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Wake receives after a commit in this process enqueued jobs.
func (s *Store) Wake() <-chan struct{} { return s.wake }

// mapErr translates SQLite errors to the domain's: a busy or locked database
// is ErrUnavailable (retry later), a unique violation is ErrConflict.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("%w: %v", bot.ErrUnavailable, err)
		}
		if se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return fmt.Errorf("%w: %v", bot.ErrConflict, err)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %v", bot.ErrUnavailable, err)
	}
	return err
}

// timeFormat is how the driver writes times (_time_format=sqlite); all are
// UTC, so text order is time order.
const timeFormat = "2006-01-02 15:04:05.999999999-07:00"

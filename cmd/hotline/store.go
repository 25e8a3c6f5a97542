package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/hotline-dev/hotline/adapters/postgres"
	"github.com/hotline-dev/hotline/adapters/sqlite"
	"github.com/hotline-dev/hotline/bot"
)

// store is a bot.Store that can be closed.
type store interface {
	bot.Store
	io.Closer
}

type storeOptions struct {
	Clock  bot.Clock
	Logger *slog.Logger
}

// openStore opens and migrates the database named by url: postgres:// or
// postgresql:// for PostgreSQL, sqlite:PATH for the embedded file.
func openStore(ctx context.Context, dbURL string, o storeOptions) (store, error) {
	switch {
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return postgres.Open(ctx, dbURL, postgres.Options{Clock: o.Clock, Logger: o.Logger, Migrate: true})
	case strings.HasPrefix(dbURL, "sqlite:"):
		path, err := sqlite.PathFromURL(dbURL)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path, sqlite.Options{Clock: o.Clock, Logger: o.Logger})
	}
	return nil, fmt.Errorf("database.url %q: must start with postgres://, postgresql:// or sqlite:", redactURL(dbURL))
}

func isPostgres(dbURL string) bool {
	return strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://")
}

// redactURL hides the password of a database URL for messages and logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hotline-dev/hotline/adapters/sqlite"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/bot/storetest"
)

func TestStoreContract(t *testing.T) {
	storetest.Exercise(t, storetest.Harness{
		New: func(t *testing.T, clock bot.Clock) bot.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hotline.db"), sqlite.Options{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Exec: func(t *testing.T, s bot.Store, query string, args ...any) error {
			_, err := s.(*sqlite.Store).DB().Exec(query, args...)
			return err
		},
		Placeholder: func(n int) string { return fmt.Sprintf("?%d", n) },
	})
}

func TestPathFromURL(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:hotline.db":                    "hotline.db",
		"sqlite:///var/lib/hotline/hotline.db": "/var/lib/hotline/hotline.db",
		"sqlite://data/h.db":                   "data/h.db",
	} {
		if got, err := sqlite.PathFromURL(in); err != nil || got != want {
			t.Errorf("PathFromURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"postgres://x", "sqlite:", "sqlite://"} {
		if _, err := sqlite.PathFromURL(bad); err == nil {
			t.Errorf("PathFromURL(%q): no error", bad)
		}
	}
}

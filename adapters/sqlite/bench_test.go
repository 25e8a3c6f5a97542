package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hotline-dev/hotline/adapters/sqlite"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/bot/storetest"
)

func BenchmarkIngest(b *testing.B) {
	storetest.BenchmarkIngest(b, func(b *testing.B) bot.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}, 1)
}

package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hotline-dev/hotline/adapters/postgres"
	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/bot/storetest"
)

func BenchmarkIngest(b *testing.B) {
	for _, committers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
			storetest.BenchmarkIngest(b, func(b *testing.B) bot.Store {
				s, err := postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{Migrate: true})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				return s
			}, committers)
		})
	}
}

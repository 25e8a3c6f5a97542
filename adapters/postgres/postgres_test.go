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

func open(t *testing.T, clock bot.Clock) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{Clock: clock, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreContract(t *testing.T) {
	storetest.Exercise(t, storetest.Harness{
		New: func(t *testing.T, clock bot.Clock) bot.Store { return open(t, clock) },
		Exec: func(t *testing.T, s bot.Store, query string, args ...any) error {
			_, err := s.(*postgres.Store).DB().Exec(query, args...)
			return err
		},
		Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
	})
}

// Two replicas starting at once must not both run the migrations.
func TestMigrateConcurrently(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{Migrate: true})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent migrate: %v", err)
		}
	}
}

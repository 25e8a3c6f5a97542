// Package pgtest gives tests a fresh PostgreSQL database on the server that
// `make test` (or CI) started and named in HOTLINE_TEST_POSTGRES_URL.
package pgtest

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq" // the driver under test
)

// EnvURL names the variable that holds the admin URL of the test server.
const EnvURL = "HOTLINE_TEST_POSTGRES_URL"

var counter atomic.Int64

// URL returns the test server's admin URL. Without one, the test is skipped
// with a clear message, except in CI (CI=true), where it fails: CI must run
// the PostgreSQL half of the suite for real.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (run them through `make test`)", EnvURL)
		}
		t.Skipf("SKIPPED: PostgreSQL tests need %s (make test starts a throwaway server)", EnvURL)
	}
	return u
}

// NewDatabase creates an empty database for this test, drops it at cleanup
// and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := URL(t)
	db, err := sql.Open("postgres", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("hotline_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, counter.Add(1))
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", admin)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

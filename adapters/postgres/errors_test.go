package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/hotline-dev/hotline/bot"
)

// The domain learns "retry later" for every way the database can be gone,
// and "conflict" for a unique violation; other errors pass through.
func TestMapErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&pq.Error{Severity: pqerror.SeverityFatal, Code: "55000", Message: "database is not currently accepting connections"}, bot.ErrUnavailable},
		{&pq.Error{Severity: pqerror.SeverityFatal, Code: "57P01", Message: "terminating connection due to administrator command"}, bot.ErrUnavailable},
		{&pq.Error{Code: "53300", Message: "too many connections"}, bot.ErrUnavailable},
		{&pq.Error{Code: "08006", Message: "connection failure"}, bot.ErrUnavailable},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, bot.ErrUnavailable},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), bot.ErrUnavailable},
		{context.DeadlineExceeded, bot.ErrUnavailable},
		{&pq.Error{Code: "23505", Message: "duplicate key"}, bot.ErrConflict},
	} {
		if got := mapErr(tc.err); !errors.Is(got, tc.want) {
			t.Errorf("mapErr(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	syntax := &pq.Error{Code: "42601", Message: "syntax error"}
	if got := mapErr(syntax); errors.Is(got, bot.ErrUnavailable) || errors.Is(got, bot.ErrConflict) || got != syntax {
		t.Errorf("a syntax error became %v", got)
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) is not nil")
	}
}

package bot

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrNotFound: the named incident, integration or row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change collides with the current state (already resolved, ...).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the store cannot be reached; callers answer "try again later".
	ErrUnavailable = errors.New("unavailable")
)

// InvalidError carries a reason that may be shown to the user as it is.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return e.Reason }

// Invalid returns an *InvalidError with a formatted reason.
func Invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Problems collects every problem found in an input, each with its path, so a
// user fixes them all at once instead of one per round trip.
type Problems []string

// Add records a problem at path.
func (p *Problems) Add(path, msg string) {
	if path == "" {
		*p = append(*p, msg)
		return
	}
	*p = append(*p, path+": "+msg)
}

// Err is nil without problems, else an *InvalidError naming all of them.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &InvalidError{Reason: strings.Join(p, "; ")}
}

// RetryableError marks a failure worth retrying (a 5xx, a 429, a timeout): the
// job runner, not the adapter, decides when to try again.
type RetryableError struct {
	Err        error
	RetryAfter time.Duration // zero: the runner's backoff
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable wraps err as a RetryableError.
func Retryable(err error, after time.Duration) error {
	return &RetryableError{Err: err, RetryAfter: after}
}

// SnoozeError asks the runner to run the job again at Until without counting
// it as a failure: the job waits its turn (a call's slot in the pace).
type SnoozeError struct{ Until time.Time }

func (e *SnoozeError) Error() string { return "waiting until " + e.Until.Format(time.RFC3339Nano) }

// Snooze returns a *SnoozeError.
func Snooze(until time.Time) error { return &SnoozeError{Until: until} }

func isSnooze(err error) (time.Time, bool) {
	var s *SnoozeError
	if errors.As(err, &s) {
		return s.Until, true
	}
	return time.Time{}, false
}

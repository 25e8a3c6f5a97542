package bot

import (
	"context"
)

// Thread is where an incident lives on one chat platform: the root message
// and the newest timeline event already posted under it.
type Thread struct {
	IncidentID int64  `db:"incident_id"`
	Platform   string `db:"platform"`
	Channel    string `db:"channel"`
	MessageID  string `db:"message_id"` // Slack ts, Discord message id ...
	PostedSeq  int    `db:"posted_seq"`
	// PostedAlerts is the incident's alert count the thread last showed, so
	// an update can say how many alerts came since.
	PostedAlerts int `db:"posted_alerts"`
}

// Chat is one chat platform. Errors worth retrying are RetryableError.
type Chat interface {
	Platform() string
	// PostIncident posts the incident's root message to channel; the returned
	// thread carries the message id that updates go under.
	PostIncident(ctx context.Context, channel string, inc Incident) (Thread, error)
	// PostUpdate edits the root message to show inc and posts into the
	// thread the events new since the last update (oldest first) and the
	// count of alerts since then (inc.AlertCount - th.PostedAlerts).
	PostUpdate(ctx context.Context, th Thread, inc Incident, events []Event) error
}

// RootFinder is the optional side of a Chat that finds an incident's root
// message posted earlier (by a run that died before saving its thread), so
// a retry does not post it twice. Like the phone's FindCalls, it is asked
// only when the job is a retry: the first attempt costs no extra call.
type RootFinder interface {
	// FindIncident looks among channel's recent messages for the incident's
	// root message posted by this bot; false when there is none. Errors
	// worth retrying are RetryableError; one that unwraps to *InvalidError
	// says the platform will never answer (a scope or permission missing).
	FindIncident(ctx context.Context, channel string, inc Incident) (Thread, bool, error)
}

// Threads remembers where each incident was posted.
type Threads interface {
	Threads(ctx context.Context, incidentID int64) ([]Thread, error)
	SaveThread(ctx context.Context, th Thread) error
	// ThreadByMessage finds the thread whose root message this is, or
	// ErrNotFound: a command or reaction in a thread names its incident.
	ThreadByMessage(ctx context.Context, platform, channel, messageID string) (Thread, error)
}

// Mail is one outgoing message.
type Mail struct {
	To      []string
	Subject string
	Body    string
}

// Mailer sends mail.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Deduper remembers the platform deliveries already handled (interaction and
// event ids), across replicas: a retry delivered to another replica is
// handled once.
type Deduper interface {
	// Remember records key and reports whether this is its first sighting.
	Remember(ctx context.Context, key string) (first bool, err error)
}

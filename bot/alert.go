package bot

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// AlertStatus says whether the monitored condition holds or has cleared.
type AlertStatus string

const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// Link is a URL attached to an alert (a runbook, a dashboard, a graph).
type Link struct {
	Text string `json:"text,omitempty"`
	URL  string `json:"url"`
}

// Alert is one notification from a monitoring source, already parsed from its
// wire format. Integration and Service are set by the ingest adapter from the
// integration the alert arrived through.
type Alert struct {
	Integration string            `json:"integration"`
	Source      string            `json:"source"` // integration kind: generic, alertmanager, grafana, email ...
	Service     string            `json:"service"`
	Fingerprint string            `json:"fingerprint"` // dedup key within the service
	Status      AlertStatus       `json:"status"`
	Title       string            `json:"title"`
	Body        string            `json:"body,omitempty"`
	Severity    Severity          `json:"severity,omitempty"` // empty: the service's default
	Labels      map[string]string `json:"labels,omitempty"`
	Links       []Link            `json:"links,omitempty"`
	Raw         []byte            `json:"-"` // the payload as received
	ReceivedAt  time.Time         `json:"received_at"`
}

// FingerprintOf is the default dedup key of an alert that names none: a short
// hash of its title, so repeats of the same alert land in the same incident.
func FingerprintOf(title string) string {
	sum := sha256.Sum256([]byte(title))
	return hex.EncodeToString(sum[:12])
}

// Validate checks what every source must provide.
func (a Alert) Validate() error {
	var errs Problems
	if a.Service == "" {
		errs.Add("service", "is required")
	}
	if a.Title == "" {
		errs.Add("title", "is required")
	}
	if a.Fingerprint == "" {
		errs.Add("fingerprint", "is required")
	}
	if a.Status != AlertFiring && a.Status != AlertResolved {
		errs.Add("status", "must be firing or resolved")
	}
	if a.Severity != "" && !a.Severity.Valid() {
		errs.Add("severity", "must be one of sev1, sev2, sev3, sev4")
	}
	return errs.Err()
}

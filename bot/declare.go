package bot

import (
	"context"
	"crypto/rand"
	"strings"
)

// SourceManual is the Alert.Source of an incident a responder declared by
// hand.
const SourceManual = "manual"

// Declare opens an incident by hand through the same path as an alert, so
// chat and escalation follow as for any other. Its fingerprint is fresh, so
// it never merges into an open incident. The alert's Integration is the
// responder (so the timeline's "opened" names who declared it) and its
// labels name the platform too.
func (b *Bot) Declare(ctx context.Context, service, title string, sev Severity, by Actor) (IngestResult, error) {
	title = strings.TrimSpace(title)
	var p Problems
	if service == "" {
		p.Add("service", "name the service")
	}
	if title == "" {
		p.Add("title", "is required")
	}
	if by.ID == "" {
		p.Add("actor", "say who declares the incident")
	}
	if err := p.Err(); err != nil {
		return IngestResult{}, err
	}
	return b.Ingest(ctx, Alert{
		Integration: by.ID,
		Source:      SourceManual,
		Service:     service,
		Fingerprint: "manual-" + strings.ToLower(rand.Text()),
		Status:      AlertFiring,
		Title:       title,
		Severity:    sev,
		Labels:      map[string]string{"declared_by": by.ID, "platform": by.Source},
	})
}

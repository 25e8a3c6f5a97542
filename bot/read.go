package bot

import "context"

// Incidents lists committed incidents, newest first; chat commands read
// through the Bot as they write through it.
func (b *Bot) Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	return b.store.Incidents(ctx, f)
}

// IncidentByNumber returns the committed incident INC-number, or ErrNotFound.
func (b *Bot) IncidentByNumber(ctx context.Context, number int64) (Incident, error) {
	return b.store.IncidentByNumber(ctx, number)
}

// Timeline returns the incident's events with seq > afterSeq, oldest first.
func (b *Bot) Timeline(ctx context.Context, incidentID int64, afterSeq int) ([]Event, error) {
	return b.store.Timeline(ctx, incidentID, afterSeq)
}

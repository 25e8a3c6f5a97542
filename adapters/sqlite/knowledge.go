package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/hotline-dev/hotline/bot"
)

const postmortemColumns = `incident_id, number, service, title, severity, owner, cause, fix, follow_ups,
	time_to_ack, time_to_resolve, alert_count, created_at, updated_at, written_by`

// similarCandidates bounds the rows the trigram index hands to
// bot.RankSimilar.
const similarCandidates = 50

func (t *tx) Postmortem(incidentID int64) (bot.Postmortem, error) {
	var pm bot.Postmortem
	err := t.get(&pm, `SELECT `+postmortemColumns+` FROM postmortems WHERE incident_id = ?`, incidentID)
	return pm, notFound(err)
}

func (t *tx) SavePostmortem(pm bot.Postmortem) error {
	_, err := t.exec(`INSERT INTO postmortems (`+postmortemColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id) DO UPDATE SET number = excluded.number, service = excluded.service,
			title = excluded.title, severity = excluded.severity, owner = excluded.owner, cause = excluded.cause,
			fix = excluded.fix, follow_ups = excluded.follow_ups, time_to_ack = excluded.time_to_ack,
			time_to_resolve = excluded.time_to_resolve, alert_count = excluded.alert_count,
			updated_at = excluded.updated_at, written_by = excluded.written_by`,
		pm.IncidentID, pm.Number, pm.Service, pm.Title, pm.Severity, pm.Owner, pm.Cause, pm.Fix, pm.FollowUps,
		int64(pm.TimeToAck), int64(pm.TimeToResolve), pm.AlertCount, pm.CreatedAt.UTC(), pm.UpdatedAt.UTC(), pm.By)
	if err != nil {
		return fmt.Errorf("save postmortem of incident %d: %w", pm.IncidentID, err)
	}
	if _, err := t.exec(`DELETE FROM postmortems_fts WHERE rowid = ?`, pm.IncidentID); err != nil {
		return fmt.Errorf("index postmortem of incident %d: %w", pm.IncidentID, err)
	}
	if _, err := t.exec(`INSERT INTO postmortems_fts (rowid, body) VALUES (?, ?)`, pm.IncidentID, pm.SearchText()); err != nil {
		return fmt.Errorf("index postmortem of incident %d: %w", pm.IncidentID, err)
	}
	return nil
}

func (t *tx) SimilarIncidents(service, text string, excludeID int64, limit int) ([]bot.Postmortem, error) {
	match := ftsQuery(text)
	if match == "" || limit <= 0 {
		return nil, nil
	}
	// Most services have no postmortems yet: one indexed look-up, and the
	// trigram search only when there is something to find.
	var one int
	if err := t.get(&one, `SELECT 1 FROM postmortems WHERE service = ? LIMIT 1`, service); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	return similar(t.ctx, t.tx, service, text, match, excludeID, limit)
}

// Postmortem returns the committed postmortem of the incident.
func (s *Store) Postmortem(ctx context.Context, incidentID int64) (bot.Postmortem, error) {
	var pm bot.Postmortem
	err := s.read.GetContext(ctx, &pm, `SELECT `+postmortemColumns+` FROM postmortems WHERE incident_id = ?`, incidentID)
	if errors.Is(err, sql.ErrNoRows) {
		return pm, fmt.Errorf("postmortem of incident %d: %w", incidentID, bot.ErrNotFound)
	}
	return pm, mapErr(err)
}

// SimilarIncidents finds the service's postmortems like text.
func (s *Store) SimilarIncidents(ctx context.Context, service, text string, excludeID int64, limit int) ([]bot.Postmortem, error) {
	match := ftsQuery(text)
	if match == "" || limit <= 0 {
		return nil, nil
	}
	out, err := similar(ctx, s.read, service, text, match, excludeID, limit)
	return out, mapErr(err)
}

// similar takes the candidates the trigram index finds, best by bm25 first,
// and lets bot.RankSimilar decide which are alike.
func similar(ctx context.Context, q sqlx.QueryerContext, service, text, match string, excludeID int64, limit int) ([]bot.Postmortem, error) {
	var candidates []bot.Postmortem
	err := sqlx.SelectContext(ctx, q, &candidates, `SELECT `+prefixed("p.", postmortemColumns)+`
		FROM postmortems_fts f JOIN postmortems p ON p.incident_id = f.rowid
		WHERE postmortems_fts MATCH ? AND p.service = ? AND p.incident_id <> ?
		ORDER BY bm25(postmortems_fts) LIMIT ?`, match, service, excludeID, similarCandidates)
	if err != nil {
		return nil, fmt.Errorf("similar incidents of %s: %w", service, err)
	}
	return bot.RankSimilar(text, candidates, limit), nil
}

// ftsQuery ORs text's trigrams as FTS5 phrases; shorter grams cannot be
// looked up in a trigram index and only count in the ranking.
func ftsQuery(text string) string {
	var phrases []string
	for _, g := range bot.SearchGrams(text) {
		if utf8.RuneCountInString(g) == 3 {
			phrases = append(phrases, `"`+strings.ReplaceAll(g, `"`, `""`)+`"`)
		}
	}
	return strings.Join(phrases, " OR ")
}

func prefixed(prefix, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = prefix + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/hotline-dev/hotline/bot"
)

const postmortemColumns = `incident_id, number, service, title, severity, owner, cause, fix, follow_ups,
	time_to_ack, time_to_resolve, alert_count, created_at, updated_at, written_by`

// similarCandidates bounds the rows the gram index hands to bot.RankSimilar.
const similarCandidates = 50

func (t *tx) Postmortem(incidentID int64) (bot.Postmortem, error) {
	var pm bot.Postmortem
	err := t.get(&pm, `SELECT `+postmortemColumns+` FROM postmortems WHERE incident_id = $1`, incidentID)
	return pm, notFound(err)
}

func (t *tx) SavePostmortem(pm bot.Postmortem) error {
	_, err := t.exec(`INSERT INTO postmortems (`+postmortemColumns+`, grams)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (incident_id) DO UPDATE SET number = excluded.number, service = excluded.service,
			title = excluded.title, severity = excluded.severity, owner = excluded.owner, cause = excluded.cause,
			fix = excluded.fix, follow_ups = excluded.follow_ups, time_to_ack = excluded.time_to_ack,
			time_to_resolve = excluded.time_to_resolve, alert_count = excluded.alert_count,
			updated_at = excluded.updated_at, written_by = excluded.written_by, grams = excluded.grams`,
		pm.IncidentID, pm.Number, pm.Service, pm.Title, string(pm.Severity), pm.Owner, pm.Cause, pm.Fix, pm.FollowUps,
		int64(pm.TimeToAck), int64(pm.TimeToResolve), pm.AlertCount, pm.CreatedAt.UTC(), pm.UpdatedAt.UTC(), pm.By,
		pq.StringArray(bot.SearchGrams(pm.SearchText())))
	if err != nil {
		return fmt.Errorf("save postmortem of incident %d: %w", pm.IncidentID, err)
	}
	return nil
}

func (t *tx) SimilarIncidents(service, text string, excludeID int64, limit int) ([]bot.Postmortem, error) {
	query := tsQuery(text)
	if query == "" || limit <= 0 {
		return nil, nil
	}
	stmt, err := t.store.prepared(t.ctx, similarQuery)
	if err != nil {
		return nil, err
	}
	return similar(t.ctx, t.tx.StmtxContext(t.ctx, stmt), service, text, query, excludeID, limit)
}

// Postmortem returns the committed postmortem of the incident.
func (s *Store) Postmortem(ctx context.Context, incidentID int64) (bot.Postmortem, error) {
	var pm bot.Postmortem
	err := s.db.GetContext(ctx, &pm, `SELECT `+postmortemColumns+` FROM postmortems WHERE incident_id = $1`, incidentID)
	if errors.Is(err, sql.ErrNoRows) {
		return pm, fmt.Errorf("postmortem of incident %d: %w", incidentID, bot.ErrNotFound)
	}
	return pm, mapErr(err)
}

// SimilarIncidents finds the service's postmortems like text.
func (s *Store) SimilarIncidents(ctx context.Context, service, text string, excludeID int64, limit int) ([]bot.Postmortem, error) {
	query := tsQuery(text)
	if query == "" || limit <= 0 {
		return nil, nil
	}
	stmt, err := s.db.PreparexContext(ctx, similarQuery)
	if err != nil {
		return nil, mapErr(err)
	}
	defer stmt.Close()
	out, err := similar(ctx, stmt, service, text, query, excludeID, limit)
	return out, mapErr(err)
}

// similarQuery finds, through the GIN index on the grams, the service's
// postmortems that share any gram with the text, those sharing most first.
// Without postmortems of the service it costs one index look-up.
const similarQuery = `SELECT ` + postmortemColumns + ` FROM postmortems
	WHERE service = $1 AND incident_id <> $2 AND search @@ $3::tsquery
	ORDER BY ts_rank(search, $3::tsquery) DESC, incident_id DESC LIMIT $4`

// similar lets bot.RankSimilar decide which candidates are alike.
func similar(ctx context.Context, stmt *sqlx.Stmt, service, text, query string, excludeID int64, limit int) ([]bot.Postmortem, error) {
	var candidates []bot.Postmortem
	if err := stmt.SelectContext(ctx, &candidates, service, excludeID, query, similarCandidates); err != nil {
		return nil, fmt.Errorf("similar incidents of %s: %w", service, err)
	}
	return bot.RankSimilar(text, candidates, limit), nil
}

// tsQuery ORs text's grams as tsquery lexemes, quoted so that they are taken
// as they are, not parsed (a gram is letters and digits only).
func tsQuery(text string) string {
	grams := bot.SearchGrams(text)
	for i, g := range grams {
		grams[i] = "'" + strings.ReplaceAll(strings.ReplaceAll(g, `\`, `\\`), "'", "''") + "'"
	}
	return strings.Join(grams, " | ")
}

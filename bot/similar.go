package bot

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
)

// EventSimilar lists past incidents like a new one and how they were fixed.
const EventSimilar EventKind = "similar"

// similarOnOpen is how many past incidents a new incident's thread shows.
const similarOnOpen = 3

// MinSimilarity is the share of a query's grams a past postmortem must
// contain to count as similar: "db02 ディスク使用率 97%" finds "db01
// ディスク使用率 95%" (6 of 8), not an incident that shares one word.
const MinSimilarity = 0.4

// SearchGrams splits text into what similarity is measured on: each run of
// letters and digits, lower-cased, cut into overlapping trigrams (a run
// shorter than three runes is one gram). Trigrams rather than words, so
// Japanese, written without spaces, matches on its parts: "ディスク使用率"
// shares "ディス", "使用率" ... with "ディスク使用率が高い". Stores index
// these grams (or their own trigrams) to find candidates; RankSimilar
// decides, so both stores answer alike.
func SearchGrams(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(g string) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for _, word := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		rs := []rune(word)
		if len(rs) < 3 {
			add(word)
			continue
		}
		for i := 0; i+3 <= len(rs); i++ {
			add(string(rs[i : i+3]))
		}
	}
	return out
}

// SearchText is what a postmortem is found by: the incident's title, the
// cause and the fix.
func (p Postmortem) SearchText() string {
	return p.Title + "\n" + p.Cause + "\n" + p.Fix
}

// RankSimilar keeps the candidates with at least MinSimilarity of text's
// grams, best first (newer first among equals), at most limit.
func RankSimilar(text string, candidates []Postmortem, limit int) []Postmortem {
	query := SearchGrams(text)
	if len(query) == 0 || limit <= 0 {
		return nil
	}
	type scored struct {
		pm    Postmortem
		score float64
	}
	var keep []scored
	for _, pm := range candidates {
		have := map[string]bool{}
		for _, g := range SearchGrams(pm.SearchText()) {
			have[g] = true
		}
		n := 0
		for _, g := range query {
			if have[g] {
				n++
			}
		}
		if s := float64(n) / float64(len(query)); s >= MinSimilarity {
			keep = append(keep, scored{pm, s})
		}
	}
	slices.SortStableFunc(keep, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), b.pm.CreatedAt.Compare(a.pm.CreatedAt), cmp.Compare(b.pm.IncidentID, a.pm.IncidentID))
	})
	out := make([]Postmortem, 0, min(limit, len(keep)))
	for _, s := range keep[:min(limit, len(keep))] {
		out = append(out, s.pm)
	}
	return out
}

// SimilarIncidents returns the postmortems of service's past incidents like
// text, best first.
func (b *Bot) SimilarIncidents(ctx context.Context, service, text string, excludeID int64, limit int) ([]Postmortem, error) {
	return b.store.SimilarIncidents(ctx, service, text, excludeID, limit)
}

// noteSimilar appends, to the incident just opened, the past incidents like
// it and how they were fixed; nothing when there are none.
func noteSimilar(tx Tx, inc *Incident, now time.Time) error {
	similar, err := tx.SimilarIncidents(inc.Service, inc.Title, inc.ID, similarOnOpen)
	if err != nil || len(similar) == 0 {
		return err
	}
	return appendEvent(tx, inc, EventSimilar, "hotline", "system", SimilarText(similar), now)
}

// SimilarText is the compact line a thread shows: "similar: INC-7 db01
// ディスク使用率 95% — fixed by: 古いログを削除; INC-3 …".
func SimilarText(pms []Postmortem) string {
	parts := make([]string, len(pms))
	for i, pm := range pms {
		parts[i] = pm.Ref() + " " + pm.Title + " — fixed by: " + cmp.Or(pm.Fix, "(not recorded)")
	}
	return "similar: " + strings.Join(parts, "; ")
}

package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

const (
	listLimit     = 10 // incidents list shows
	timelineLimit = 15 // events timeline shows
	eventTextMax  = 200
)

// jst is the zone Japanese replies give times in: a fixed offset, so the
// binary needs no time zone database. English replies use UTC.
var jst = time.FixedZone("JST", 9*60*60)

func stamp(t time.Time, ja bool) string {
	if ja {
		t = t.In(jst)
	} else {
		t = t.UTC()
	}
	return t.Format("2006-01-02 15:04 MST")
}

func reader(inc Incidents, verb string) (Reader, error) {
	r, ok := inc.(Reader)
	if !ok {
		return nil, errNoPort(verb, "Reader")
	}
	return r, nil
}

// list answers with the open incidents, newest first.
func list(ctx context.Context, inc Incidents, ja bool) Reply {
	r, err := reader(inc, VerbList)
	if err != nil {
		return failure(ctx, err, VerbList, 0, bot.Actor{}, ja)
	}
	open, err := r.Incidents(ctx, bot.IncidentFilter{Status: "open", Limit: listLimit})
	if err != nil {
		return failure(ctx, err, VerbList, 0, bot.Actor{}, ja)
	}
	if len(open) == 0 {
		return refusal(pick(ja, "No open incidents.", "対応中のインシデントはありません。"))
	}
	var b strings.Builder
	if len(open) == listLimit {
		b.WriteString(pick(ja, fmt.Sprintf("The newest %d open incidents:", listLimit), fmt.Sprintf("対応中のインシデント（新しい順に %d 件）:", listLimit)))
	} else {
		b.WriteString(pick(ja, "Open incidents, newest first:", "対応中のインシデント（新しい順）:"))
	}
	for _, i := range open {
		owner := i.Owner
		if owner == "" {
			owner = pick(ja, "no owner", "担当者なし")
		}
		fmt.Fprintf(&b, "\n%s [%s] %s %s (%s)", i.Ref(), i.Severity, i.Status, i.Title, owner)
	}
	return refusal(b.String())
}

// show answers with one incident's state.
func show(ctx context.Context, inc Incidents, number int64, ja bool) Reply {
	r, err := reader(inc, VerbShow)
	if err != nil {
		return failure(ctx, err, VerbShow, number, bot.Actor{}, ja)
	}
	i, err := r.IncidentByNumber(ctx, number)
	if err != nil {
		return failure(ctx, err, VerbShow, number, bot.Actor{}, ja)
	}
	events, err := r.Timeline(ctx, i.ID, 0)
	if err != nil {
		return failure(ctx, err, VerbShow, number, bot.Actor{}, ja)
	}
	status := string(i.Status)
	if phase := bot.LatestStatus(events); phase != "" && i.Open() {
		status += pick(ja, ", "+phase, "（"+phaseNames[phase]+"）")
	}
	severity := string(i.Severity)
	if i.Priority != "" {
		severity += pick(ja, fmt.Sprintf(", priority %s (impact %s, urgency %s)", i.Priority, i.Impact, i.Urgency),
			fmt.Sprintf("、優先度 %s（影響度 %s、緊急度 %s）", i.Priority, i.Impact, i.Urgency))
	}
	owner := i.Owner
	if owner == "" {
		owner = pick(ja, "nobody", "なし")
	}
	lines := []string{
		i.Ref() + " " + i.Title,
		pick(ja, "status: ", "状態: ") + status,
		pick(ja, "severity: ", "重大度: ") + severity,
		pick(ja, "service: ", "サービス: ") + i.Service,
		pick(ja, "owner: ", "担当者: ") + owner,
		pick(ja, "opened: ", "発生: ") + stamp(i.CreatedAt, ja),
	}
	if i.AcknowledgedAt != nil {
		lines = append(lines, pick(ja, "acknowledged: ", "確認: ")+stamp(*i.AcknowledgedAt, ja))
	}
	if i.ResolvedAt != nil {
		lines = append(lines, pick(ja, "resolved: ", "解決: ")+stamp(*i.ResolvedAt, ja))
	}
	lines = append(lines, pick(ja, "alerts: ", "アラート数: ")+fmt.Sprint(i.AlertCount))
	return refusal(strings.Join(lines, "\n"))
}

// timeline answers with the incident's newest events, oldest first.
func timeline(ctx context.Context, inc Incidents, number int64, ja bool) Reply {
	r, err := reader(inc, VerbTimeline)
	if err != nil {
		return failure(ctx, err, VerbTimeline, number, bot.Actor{}, ja)
	}
	i, err := r.IncidentByNumber(ctx, number)
	if err != nil {
		return failure(ctx, err, VerbTimeline, number, bot.Actor{}, ja)
	}
	// Only the tail is read: a storm's incident may have thousands of events.
	events, err := r.Timeline(ctx, i.ID, max(i.LastSeq-timelineLimit, 0))
	if err != nil {
		return failure(ctx, err, VerbTimeline, number, bot.Actor{}, ja)
	}
	if len(events) > timelineLimit {
		events = events[len(events)-timelineLimit:]
	}
	var b strings.Builder
	if len(events) < i.LastSeq {
		b.WriteString(pick(ja, fmt.Sprintf("%s timeline, the last %d of %d events:", i.Ref(), len(events), i.LastSeq),
			fmt.Sprintf("%s のタイムライン（全 %d 件のうち直近 %d 件）:", i.Ref(), i.LastSeq, len(events))))
	} else {
		b.WriteString(pick(ja, i.Ref()+" timeline:", i.Ref()+" のタイムライン:"))
	}
	for _, e := range events {
		fmt.Fprintf(&b, "\n%s %s: %s — %s", stamp(e.At, ja), e.Kind, oneLine(e.Text), e.Actor)
	}
	return refusal(b.String())
}

// oneLine keeps a timeline entry on its line and short.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > eventTextMax {
		return string(r[:eventTextMax]) + "…"
	}
	return s
}

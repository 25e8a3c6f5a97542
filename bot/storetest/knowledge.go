package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// exerciseKnowledge covers postmortems and the search for similar incidents,
// in the store and through the Bot.
func exerciseKnowledge(t *testing.T, h Harness) {
	t.Run("PostmortemSaveReplace", func(t *testing.T) { testPostmortemSaveReplace(t, h) })
	t.Run("SimilarIncidents", func(t *testing.T) { testSimilarIncidents(t, h) })
	t.Run("WritePostmortem", func(t *testing.T) { testWritePostmortem(t, h) })
	t.Run("SimilarOnOpen", func(t *testing.T) { testSimilarOnOpen(t, h) })
}

// FakeKBChat is a FakeChat with a knowledge-base channel.
type FakeKBChat struct {
	FakeChat
	KBFail     error // returned by PostPostmortem while set
	KBChannels []string
	KBPosts    []bot.Postmortem
}

func (c *FakeKBChat) PostPostmortem(_ context.Context, channel string, pm bot.Postmortem) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.KBFail != nil {
		return c.KBFail
	}
	c.KBChannels = append(c.KBChannels, channel)
	c.KBPosts = append(c.KBPosts, pm)
	return nil
}

// resolvedIncident stores a resolved incident of service with a postmortem.
func resolvedIncident(t *testing.T, s bot.Store, clock *Clock, service, title, cause, fix string) bot.Incident {
	t.Helper()
	var inc bot.Incident
	mustUpdate(t, s, func(tx bot.Tx) error {
		inc = newIncident(clock, service, fmt.Sprint("fp-", title))
		inc.Title = title
		now := clock.Now()
		inc.Status, inc.ResolvedAt = bot.StatusResolved, &now
		if err := tx.CreateIncident(&inc); err != nil {
			return err
		}
		return tx.SavePostmortem(bot.Postmortem{IncidentID: inc.ID, Number: inc.Number, Service: service, Title: title,
			Severity: inc.Severity, Cause: cause, Fix: fix, CreatedAt: now, UpdatedAt: now, By: "tanaka"})
	})
	clock.Advance(time.Minute)
	return inc
}

func testPostmortemSaveReplace(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	inc := resolvedIncident(t, s, clock, "web", "db01 ディスク使用率 95%", "古いログが溜まった", "古いログを削除")
	if _, err := s.Postmortem(ctx(t), inc.ID+1000); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("missing postmortem: %v, want ErrNotFound", err)
	}
	first, err := s.Postmortem(ctx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first.Number != inc.Number || first.Cause != "古いログが溜まった" || first.Fix != "古いログを削除" || first.By != "tanaka" ||
		!first.CreatedAt.Equal(inc.CreatedAt) {
		t.Errorf("read back %+v", first)
	}
	mustUpdate(t, s, func(tx bot.Tx) error {
		pm, err := tx.Postmortem(inc.ID)
		if err != nil {
			return err
		}
		pm.Fix, pm.FollowUps, pm.TimeToAck, pm.TimeToResolve, pm.UpdatedAt, pm.By = "ログローテーション設定", "監視追加", 90*time.Second, 25*time.Minute, clock.Now(), "suzuki"
		return tx.SavePostmortem(pm)
	})
	got, err := s.Postmortem(ctx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cause != first.Cause || got.Fix != "ログローテーション設定" || got.FollowUps != "監視追加" || got.By != "suzuki" ||
		got.TimeToAck != 90*time.Second || got.TimeToResolve != 25*time.Minute || !got.CreatedAt.Equal(first.CreatedAt) ||
		!got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("replaced: %+v", got)
	}
	// The search sees the replaced text, not the old one.
	if list, err := s.SimilarIncidents(ctx(t), "web", "ログを削除", 0, 3); err != nil || len(list) != 0 {
		t.Errorf("old fix still found: %+v, %v", list, err)
	}
	if list, err := s.SimilarIncidents(ctx(t), "web", "ログローテーション", 0, 3); err != nil || len(list) != 1 {
		t.Errorf("new fix not found: %+v, %v", list, err)
	}
}

func testSimilarIncidents(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	disk := resolvedIncident(t, s, clock, "web", "db01 ディスク使用率 95%", "古いログが溜まった", "古いログを削除")
	latency := resolvedIncident(t, s, clock, "web", "api latency high", "worker pool exhausted", "restart worker pool")
	resolvedIncident(t, s, clock, "web", "payment webhook failing", "signing secret expired", "rotate the signing secret")
	memory := resolvedIncident(t, s, clock, "web", "db03 メモリ使用率 95%", "リーク", "プロセス再起動")
	otherDisk := resolvedIncident(t, s, clock, "batch", "db01 ディスク使用率 99%", "", "ディスク増設")
	numbers := func(pms []bot.Postmortem) []int64 {
		var out []int64
		for _, pm := range pms {
			out = append(out, pm.Number)
		}
		return out
	}
	for _, tc := range []struct {
		service, text string
		exclude       int64
		limit         int
		want          []int64
	}{
		{"web", "db02 ディスク使用率 97%", 0, 3, []int64{disk.Number}},
		{"web", "API latency p99 high", 0, 3, []int64{latency.Number}},
		{"web", "証明書の期限切れ", 0, 3, nil},
		{"web", "disk full on db02", 0, 3, nil},
		{"web", "db02 ディスク使用率 97%", disk.ID, 3, nil},
		// Other services' postmortems are not returned.
		{"batch", "db02 ディスク使用率 97%", 0, 3, []int64{otherDisk.Number}},
		{"search", "db02 ディスク使用率 97%", 0, 3, nil},
		// Best first, and no more than asked for.
		{"web", "ディスク使用率 メモリ使用率", 0, 3, []int64{disk.Number, memory.Number}},
		{"web", "ディスク使用率 メモリ使用率", 0, 1, []int64{disk.Number}},
		{"web", "%% --", 0, 3, nil},
	} {
		got, err := s.SimilarIncidents(ctx(t), tc.service, tc.text, tc.exclude, tc.limit)
		if err != nil {
			t.Fatalf("%s %q: %v", tc.service, tc.text, err)
		}
		if fmt.Sprint(numbers(got)) != fmt.Sprint(tc.want) {
			t.Errorf("%s %q excluding %d: %v, want %v", tc.service, tc.text, tc.exclude, numbers(got), tc.want)
		}
	}
	// The same search inside a transaction.
	mustUpdate(t, s, func(tx bot.Tx) error {
		got, err := tx.SimilarIncidents("web", "db02 ディスク使用率 97%", 0, 3)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Number != disk.Number || got[0].Fix != "古いログを削除" {
			t.Errorf("in a transaction: %+v", got)
		}
		if got, err := tx.SimilarIncidents("search", "db02 ディスク使用率 97%", 0, 3); err != nil || len(got) != 0 {
			t.Errorf("service without postmortems, in a transaction: %+v, %v", got, err)
		}
		return nil
	})
}

func newKBBot(t *testing.T, h Harness, chat *FakeKBChat) (*bot.Bot, *Clock) {
	clock := NewClock()
	b := bot.New(bot.Config{
		Store: h.New(t, clock),
		Clock: clock,
		Services: []bot.Service{
			{ID: "web", Name: "Web shop", Channels: map[string]string{"fake": "C0ALERTS"}, KnowledgeBase: map[string]string{"fake": "C0KB"}},
		},
		Chats: []bot.Chat{chat},
	})
	t.Cleanup(b.Close)
	return b, clock
}

func testWritePostmortem(t *testing.T, h Harness) {
	chat := &FakeKBChat{FakeChat: FakeChat{Name: "fake"}}
	b, clock := newKBBot(t, h, chat)
	run := func() int {
		n, err := b.RunDue(ctx(t), "test")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	inc := ingest(t, b, alert("disk", bot.AlertFiring)).Incident
	ingest(t, b, alert("disk", bot.AlertFiring))
	tanaka := bot.Actor{ID: "tanaka", Source: "slack"}
	clock.Advance(2 * time.Minute)
	if _, err := b.Acknowledge(ctx(t), inc.Number, tanaka); err != nil {
		t.Fatal(err)
	}
	_, err := b.WritePostmortem(ctx(t), inc.Number, bot.PostmortemInput{Cause: "ログ"}, tanaka)
	if !errors.Is(err, bot.ErrConflict) || !strings.Contains(err.Error(), "not resolved") {
		t.Errorf("postmortem of an open incident: %v, want ErrConflict saying it is not resolved", err)
	}
	if _, err := b.WritePostmortem(ctx(t), inc.Number+100, bot.PostmortemInput{}, tanaka); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("postmortem of a missing incident: %v, want ErrNotFound", err)
	}
	clock.Advance(10 * time.Minute)
	if _, err := b.Resolve(ctx(t), inc.Number, "", tanaka); err != nil {
		t.Fatal(err)
	}
	run()
	pm, err := b.WritePostmortem(ctx(t), inc.Number, bot.PostmortemInput{Cause: " 古いログが溜まった ", Fix: "古いログを削除", FollowUps: "ログローテーション"}, tanaka)
	if err != nil {
		t.Fatal(err)
	}
	if pm.TimeToAck != 2*time.Minute || pm.TimeToResolve != 12*time.Minute || pm.Owner != "tanaka" || pm.AlertCount != 2 ||
		pm.Cause != "古いログが溜まった" || pm.Fix != "古いログを削除" || pm.FollowUps != "ログローテーション" || pm.Service != "web" ||
		pm.Number != inc.Number || pm.Title != inc.Title || pm.By != "tanaka" {
		t.Errorf("postmortem %+v", pm)
	}
	if n := len(pm.Timeline); n == 0 || pm.Timeline[n-1].Kind != bot.EventPostmortem {
		t.Errorf("postmortem timeline %+v, want it to end with the postmortem", pm.Timeline)
	}
	if ran := run(); ran != 2 || len(chat.KBPosts) != 1 || chat.KBChannels[0] != "C0KB" || chat.KBPosts[0].Fix != "古いログを削除" ||
		len(chat.KBPosts[0].Timeline) == 0 {
		t.Fatalf("%d jobs; knowledge-base posts %+v to %v, want the postmortem with its timeline in C0KB (and the thread's update)", ran, chat.KBPosts, chat.KBChannels)
	}
	if n := len(chat.Updates); n == 0 || chat.Updates[n-1][0].Kind != bot.EventPostmortem {
		t.Errorf("thread updates %+v, want the postmortem event", chat.Updates)
	}
	// Writing again replaces what is given and keeps the rest; the post is
	// retried while the platform is down.
	chat.KBFail = bot.Retryable(errors.New("503 from slack"), time.Minute)
	clock.Advance(time.Hour)
	again, err := b.WritePostmortem(ctx(t), inc.Number, bot.PostmortemInput{Fix: "ログローテーション設定"}, bot.Actor{ID: "suzuki", Source: "slack"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Cause != "古いログが溜まった" || again.Fix != "ログローテーション設定" || again.By != "suzuki" || !again.CreatedAt.Equal(pm.CreatedAt) {
		t.Errorf("rewritten: %+v", again)
	}
	run()
	chat.KBFail = nil
	if run() != 0 || len(chat.KBPosts) != 1 {
		t.Errorf("retried before its Retry-After: posts %d", len(chat.KBPosts))
	}
	clock.Advance(time.Minute)
	run()
	if len(chat.KBPosts) != 2 || chat.KBPosts[1].Fix != "ログローテーション設定" {
		t.Errorf("after the outage: posts %+v, want the rewritten postmortem", chat.KBPosts)
	}
	want := []string{"opened/prom/alertmanager", "acknowledged/tanaka/slack", "resolved/tanaka/slack",
		"postmortem/tanaka/slack", "postmortem/suzuki/slack"}
	if got := timelineKinds(t, b, inc.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline %v\nwant     %v", got, want)
	}
	stored, err := b.Store().Postmortem(ctx(t), inc.ID)
	if err != nil || stored.Fix != "ログローテーション設定" || stored.FollowUps != "ログローテーション" {
		t.Errorf("stored: %+v, %v", stored, err)
	}
}

func testSimilarOnOpen(t *testing.T, h Harness) {
	chat := &FakeKBChat{FakeChat: FakeChat{Name: "fake"}}
	b, _ := newKBBot(t, h, chat)
	run := func() {
		if _, err := b.RunDue(ctx(t), "test"); err != nil {
			t.Fatal(err)
		}
	}
	// Before any postmortem a new incident's timeline is its opening only.
	past := ingest(t, b, alert("disk", bot.AlertFiring)).Incident
	if kinds := timelineKinds(t, b, past.ID); len(kinds) != 1 {
		t.Errorf("no postmortems yet: timeline %v", kinds)
	}
	tanaka := bot.Actor{ID: "tanaka", Source: "slack"}
	if _, err := b.Resolve(ctx(t), past.Number, "", tanaka); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WritePostmortem(ctx(t), past.Number, bot.PostmortemInput{Cause: "ログ肥大", Fix: "古いログを削除"}, tanaka); err != nil {
		t.Fatal(err)
	}
	run()
	posts, updates := len(chat.Posts), len(chat.Updates)

	a := alert("disk2", bot.AlertFiring)
	a.Title = "db02 ディスク使用率 97%"
	inc := ingest(t, b, a).Incident
	events, err := b.Store().Timeline(ctx(t), inc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantText := fmt.Sprintf("similar: %s db01 ディスク使用率 95%% — fixed by: 古いログを削除", past.Ref())
	if len(events) != 2 || events[1].Kind != bot.EventSimilar || events[1].Text != wantText {
		t.Fatalf("timeline %+v, want opened then %q", events, wantText)
	}
	timelineKinds(t, b, inc.ID) // verifies the chain
	run()
	if len(chat.Posts) != posts+1 || len(chat.Updates) != updates+1 || len(chat.Updates[updates]) != 1 ||
		chat.Updates[updates][0].Kind != bot.EventSimilar {
		t.Errorf("chat: %d posts, updates %+v; want the root then the similar incidents under it", len(chat.Posts)-posts, chat.Updates[updates:])
	}

	// An unrelated incident gets no such event.
	u := alert("pay", bot.AlertFiring)
	u.Title = "payment webhook failing"
	other := ingest(t, b, u).Incident
	if kinds := timelineKinds(t, b, other.ID); len(kinds) != 1 {
		t.Errorf("unrelated incident: timeline %v, want the opening only", kinds)
	}
}

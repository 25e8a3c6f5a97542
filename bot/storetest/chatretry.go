package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// FakeFindingChat is a FakeChat that also finds the roots it took
// (bot.RootFinder), as Slack and Discord do.
type FakeFindingChat struct {
	FakeChat
	FindFail error // returned by FindIncident while set
	Finds    int   // FindIncident calls
}

func (c *FakeFindingChat) FindIncident(_ context.Context, channel string, inc bot.Incident) (bot.Thread, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Finds++
	if c.FindFail != nil {
		return bot.Thread{}, false, c.FindFail
	}
	for _, p := range c.Posts {
		if p.ID == inc.ID {
			return bot.Thread{Channel: channel, MessageID: fmt.Sprint("m", inc.ID)}, true, nil
		}
	}
	return bot.Thread{}, false, nil
}

// testChatRetryFindsRoot: a replica that dies after the platform took an
// incident's root message and before its thread was saved leaves the sync
// to another replica, which finds that root instead of posting a second one.
func testChatRetryFindsRoot(t *testing.T, h Harness) {
	chat := &FakeFindingChat{FakeChat: FakeChat{Name: "fake"}}
	b, clock := newBot(t, h, chat)
	run := func() {
		t.Helper()
		if _, err := b.RunDue(ctx(t), "test"); err != nil {
			t.Fatal(err)
		}
	}
	postsOf := func(inc bot.Incident) int {
		n := 0
		for _, p := range chat.Posts {
			if p.ID == inc.ID {
				n++
			}
		}
		return n
	}
	thread := func(inc bot.Incident) (bot.Thread, bool) {
		t.Helper()
		ts, err := b.Store().Threads(ctx(t), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 1 {
			return bot.Thread{}, false
		}
		return ts[0], true
	}
	// crash opens an incident and plays the replica that claims its sync,
	// has the platform take the root (when posted) and dies before saving.
	crash := func(fp string, posted bool) bot.Incident {
		t.Helper()
		inc := ingest(t, b, alert(fp, bot.AlertFiring)).Incident
		jobs, err := b.Store().Claim(ctx(t), "dead", 16, 30*time.Second)
		if err != nil || len(jobs) != 1 || jobs[0].IncidentID != inc.ID || jobs[0].Attempts != 1 {
			t.Fatalf("claim the sync of %s: %+v, %v", inc.Ref(), jobs, err)
		}
		if posted {
			if _, err := chat.PostIncident(ctx(t), "C0ALERTS", inc); err != nil {
				t.Fatal(err)
			}
		}
		return inc
	}

	// The first attempt posts without looking.
	first := ingest(t, b, alert("disk", bot.AlertFiring)).Incident
	run()
	if postsOf(first) != 1 || chat.Finds != 0 {
		t.Fatalf("first attempt: %d posts, %d lookups; want one post and no lookup", postsOf(first), chat.Finds)
	}

	// The root was taken; the incident is acknowledged while nobody holds
	// the sync. The retry finds the root and edits it to show the ack.
	inc := crash("cpu", true)
	if _, err := b.Acknowledge(ctx(t), inc.Number, bot.Actor{ID: "tanaka", Source: "phone"}); err != nil {
		t.Fatal(err)
	}
	updates := len(chat.Updates)
	clock.Advance(31 * time.Second)
	run()
	now, err := b.Store().Incident(ctx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if postsOf(inc) != 1 || chat.Finds != 1 {
		t.Errorf("retry: %d posts, %d lookups; want the root found, not posted again", postsOf(inc), chat.Finds)
	}
	if len(chat.Updates) != updates+1 || len(chat.Updates[updates]) != 0 || chat.NewAlerts[updates] != 0 ||
		chat.Edits[updates].ID != inc.ID || chat.Edits[updates].Status != bot.StatusAcknowledged {
		t.Errorf("updates after the retry %+v, want one edit of the found root to show the ack, with no replies", chat.Updates[updates:])
	}
	th, ok := thread(inc)
	if !ok || th.MessageID != fmt.Sprint("m", inc.ID) || th.Channel != "C0ALERTS" || th.Platform != "fake" ||
		th.PostedSeq != now.LastSeq || th.PostedAlerts != now.AlertCount {
		t.Errorf("thread %+v (%v), want the found root saved as showing seq %d", th, ok, now.LastSeq)
	}
	// What happens next goes into the thread once.
	if _, err := b.Note(ctx(t), inc.Number, "再起動しました", bot.Actor{ID: "U01SUZUKI", Source: "slack"}); err != nil {
		t.Fatal(err)
	}
	run()
	if n := len(chat.Updates); n != updates+2 || len(chat.Updates[n-1]) != 1 || chat.Updates[n-1][0].Kind != bot.EventNote {
		t.Errorf("updates %+v, want the note alone after the found root", chat.Updates[updates:])
	}

	// The replica died before the platform took anything: the retry looks,
	// finds nothing and posts.
	inc = crash("mem", false)
	clock.Advance(31 * time.Second)
	run()
	if _, ok := thread(inc); postsOf(inc) != 1 || chat.Finds != 2 || !ok {
		t.Errorf("nothing to find: %d posts, %d lookups, thread saved %v; want one post after the lookup", postsOf(inc), chat.Finds, ok)
	}

	// The lookup fails: the job retries rather than post blindly.
	inc = crash("net", true)
	chat.FindFail = bot.Retryable(errors.New("503 from the platform"), time.Minute)
	clock.Advance(31 * time.Second)
	run()
	if _, ok := thread(inc); postsOf(inc) != 1 || ok {
		t.Errorf("lookup failed: %d posts, thread saved %v; want no post and the job retried", postsOf(inc), ok)
	}
	chat.FindFail = nil
	clock.Advance(time.Minute)
	run()
	if th, ok := thread(inc); postsOf(inc) != 1 || !ok || th.MessageID != fmt.Sprint("m", inc.ID) {
		t.Errorf("after the outage: %d posts, thread %+v (%v); want the root found", postsOf(inc), th, ok)
	}

	// A platform that will never answer the lookup (a missing scope) still
	// gets the root: shown twice beats not at all.
	inc = crash("io", false)
	chat.FindFail = bot.Invalid("missing_scope")
	clock.Advance(31 * time.Second)
	run()
	chat.FindFail = nil
	if _, ok := thread(inc); postsOf(inc) != 1 || !ok {
		t.Errorf("lookup refused: %d posts, thread saved %v; want the root posted", postsOf(inc), ok)
	}
}

package main

// The load the three-replica test spreads over the replicas: alerts, mail,
// Slack and Discord commands.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
)

// sendAlerts posts webhook alerts to random live replicas; new
// fingerprints come in over time and recent ones repeat.
func (r *killRig) sendAlerts(stop <-chan struct{}, start time.Time, worker int, stats *killStats) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(60+rand.IntN(120)) * time.Millisecond):
		}
		newest := int(time.Since(start) / (350 * time.Millisecond))
		fp := fmt.Sprintf("host-%03d", max(0, newest-rand.IntN(8)))
		body := fmt.Sprintf(`{"title": "%s disk usage 95%%", "severity": "sev2", "fingerprint": %q, "labels": {"worker": "%d"}}`, fp, fp, worker)
		req, _ := http.NewRequest("POST", r.anyReplica().url("/v1/integrations/generic/alerts"), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer generic-token")
		resp, err := r.client.Do(req)
		ok := err == nil && resp.StatusCode/100 == 2
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		stats.mu.Lock()
		if ok {
			stats.accepted[fp]++
			stats.alerts++
		} else {
			stats.refused[fp]++
		}
		stats.mu.Unlock()
	}
}

// sendMail delivers alert mail to the mailbox the poller reads, by APPEND.
func (r *killRig) sendMail(stop <-chan struct{}, stats *killStats) {
	for i := 1; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(800+rand.IntN(800)) * time.Millisecond):
		}
		subject := fmt.Sprintf("mailhost-%03d is DOWN", i)
		raw := strings.ReplaceAll(fmt.Sprintf(`From: monitor@example.co.jp
To: %s
Subject: %s
Message-ID: <replicas-%d-%d@example.co.jp>
Date: %s
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

mailhost-%03d does not answer ping since %s.
`, alertMailbox, subject, i, time.Now().UnixNano(), time.Now().Format(time.RFC1123Z), i, time.Now().Format(time.TimeOnly)), "\n", "\r\n")
		if err := r.box.append([]byte(raw)); err != nil {
			r.t.Errorf("append mail %d: %v", i, err)
			continue
		}
		stats.mu.Lock()
		stats.mails = append(stats.mails, subject)
		stats.mu.Unlock()
	}
}

// knownIncidents are the incident numbers with a Slack root message.
func (r *killRig) knownIncidents() []int {
	var out []int
	for _, m := range r.slack.Messages("C0ALERTS") {
		if m.ThreadTS != "" {
			continue
		}
		if sm := incRef.FindStringSubmatch(m.Text); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			out = append(out, n)
		}
	}
	return out
}

// slackCommands runs /incident ack, note and resolve on random incidents,
// each signed as Slack signs it, on a random live replica.
func (r *killRig) slackCommands(stop <-chan struct{}, stats *killStats) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(150+rand.IntN(250)) * time.Millisecond):
		}
		known := r.knownIncidents()
		if len(known) == 0 {
			continue
		}
		ref := fmt.Sprintf("INC-%d", known[rand.IntN(len(known))])
		text := [...]string{"ack " + ref, "note " + ref + " looked at it from slack", "ack " + ref, "resolve " + ref + " cleaned up"}[rand.IntN(4)]
		form := url.Values{"command": {"/incident"}, "text": {text}, "user_id": {"U01TANAKA"}, "user_name": {"tanaka"},
			"channel_id": {"C0ALERTS"}, "team_id": {"T0TEAM"}, "trigger_id": {fmt.Sprint("kill-trig-", i, "-", time.Now().UnixNano())},
			"response_url": {r.respURL}}
		body := form.Encode()
		req, _ := http.NewRequest("POST", r.anyReplica().url("/v1/slack/commands"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ts := time.Now().Unix()
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", slacktest.Sign(slackSecret, ts, body))
		resp, err := r.client.Do(req)
		ok := err == nil && resp.StatusCode == 200
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		stats.mu.Lock()
		if ok {
			stats.slackOK++
		} else {
			stats.slackBad++
		}
		stats.mu.Unlock()
	}
}

// discordCommands sends /incident ack and note over the gateway, which
// Discord hands to whichever replica holds it; with none connected Discord
// fails the interaction.
func (r *killRig) discordCommands(stop <-chan struct{}, stats *killStats) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(200+rand.IntN(300)) * time.Millisecond):
		}
		known := r.knownIncidents()
		if len(known) == 0 {
			continue
		}
		ref := fmt.Sprintf("INC-%d", known[rand.IntN(len(known))])
		i := discordtest.Command(discordAlerts, discordTanaka, nil, "ack", map[string]any{"incident": ref})
		if rand.IntN(2) == 0 {
			i = discordtest.Command(discordAlerts, discordTanaka, nil, "note", map[string]any{"incident": ref, "text": "looked at it from discord"})
		}
		pending, err := r.discord.Interact(i)
		if err != nil {
			stats.mu.Lock()
			stats.discordUndelivered++
			stats.mu.Unlock()
			// No session, or the one it went to died as it was sent: Discord
			// fails the interaction too. Anything else is the test's fault.
			if !errors.Is(err, discordtest.ErrNoSession) && !strings.Contains(err.Error(), "dispatch INTERACTION_CREATE") {
				r.t.Errorf("discord interaction: %v", err)
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = pending.Wait(ctx)
		cancel()
		stats.mu.Lock()
		if err != nil {
			stats.discordUnanswered++
			stats.unansweredAt = append(stats.unansweredAt, time.Now())
		} else {
			stats.discordOK++
		}
		stats.mu.Unlock()
	}
}

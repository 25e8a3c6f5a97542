package main

// What the three-replica test checks once the kills are over.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/adapters/twilio/twiliotest"
)

// listAll lists every incident through a live replica.
func (r *killRig) listAll() (incidentList, error) {
	var out incidentList
	req, _ := http.NewRequest("GET", r.anyReplica().url("/v1/incidents?status=all&limit=10000"), nil)
	req.Header.Set("Authorization", "Bearer api-token")
	resp, err := r.client.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return out, fmt.Errorf("list incidents: %d", resp.StatusCode)
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// chatRoots counts root messages per incident number on each platform.
func (r *killRig) chatRoots() (slack, discord map[int]int) {
	slack, discord = map[int]int{}, map[int]int{}
	for _, m := range r.slack.Messages("C0ALERTS") {
		if m.ThreadTS != "" {
			continue
		}
		if sm := incRef.FindStringSubmatch(m.Text); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			slack[n]++
		} else {
			slack[0]++ // a root that names no incident
		}
	}
	for _, m := range r.discord.Messages(discordAlerts) {
		if m.InteractionID != "" || len(m.Embeds) == 0 {
			continue // answers to interactions
		}
		if sm := incRef.FindStringSubmatch(m.Embeds[0].Title); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			discord[n]++
		} else {
			discord[0]++
		}
	}
	return slack, discord
}

// postedAt says when Discord's roots of incident n were created, to set
// beside the kills' times.
func (r *killRig) postedAt(platform string, n int) string {
	if platform != "Discord" {
		return ""
	}
	var at []string
	for _, m := range r.discord.Messages(discordAlerts) {
		if m.InteractionID == "" && len(m.Embeds) > 0 && strings.HasPrefix(m.Embeds[0].Title, fmt.Sprintf("INC-%d ", n)) {
			at = append(at, m.CreatedAt.Local().Format("15:04:05.000"))
		}
	}
	return " (posted at " + strings.Join(at, ", ") + ")"
}

// checkAttempts matches the call attempts Hotline recorded with the calls
// the fake Twilio saw: each placed attempt has its own call, to its
// contact, about its incident; each call belongs to one attempt.
func (r *killRig) checkAttempts(calls []twiliotest.Call) {
	t := r.t
	t.Helper()
	type attempt struct {
		id, phone, status, callID string
		number                    int64
	}
	rows, err := r.db.Query(`SELECT a.id, a.phone, a.status, a.call_id, i.number FROM call_attempts a JOIN incidents i ON i.id = a.incident_id`)
	if err != nil {
		t.Fatalf("call attempts: %v", err)
	}
	defer rows.Close()
	attempts := map[string]attempt{}
	statuses := map[string]int{}
	for rows.Next() {
		var a attempt
		if err := rows.Scan(&a.id, &a.phone, &a.status, &a.callID, &a.number); err != nil {
			t.Fatal(err)
		}
		attempts[a.id] = a
		statuses[a.status]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	bySID := map[string]twiliotest.Call{}
	placedFor := map[string]int{} // attempt → calls the fake saw for it
	for _, c := range calls {
		bySID[c.SID] = c
		u, err := url.Parse(c.StatusCallback)
		if err != nil {
			t.Errorf("call %s: status callback %q: %v", c.SID, c.StatusCallback, err)
			continue
		}
		id := u.Query().Get("attempt")
		placedFor[id]++
		a, ok := attempts[id]
		switch {
		case !ok:
			t.Errorf("call %s to %s is for attempt %q, which Hotline has no record of", c.SID, c.To, id)
		case a.phone != c.To || !strings.Contains(c.Twiml, fmt.Sprintf("INC-%d:", a.number)):
			t.Errorf("call %s to %s is for attempt %s of INC-%d to %s", c.SID, c.To, id, a.number, a.phone)
		}
	}
	seenCallID := map[string]string{}
	for _, a := range attempts {
		if n := placedFor[a.id]; n > 1 {
			t.Errorf("attempt %s (INC-%d, %s) placed %d calls", a.id, a.number, a.phone, n)
		}
		if a.callID == "" {
			continue
		}
		if other, dup := seenCallID[a.callID]; dup {
			t.Errorf("attempts %s and %s both recorded call %s", other, a.id, a.callID)
		}
		seenCallID[a.callID] = a.id
		c, ok := bySID[a.callID]
		switch {
		case !ok:
			t.Errorf("attempt %s (INC-%d) recorded call %s, which Twilio never created", a.id, a.number, a.callID)
		case !strings.Contains(c.StatusCallback, "attempt="+a.id):
			t.Errorf("attempt %s (INC-%d to %s) recorded call %s, which was placed for another attempt (%s)", a.id, a.number, a.phone, a.callID, incRef.FindString(c.Twiml))
		}
	}
	t.Logf("call attempts by status: %v", statuses)
}

// settle waits until every accepted alert and mail has its incident, every
// incident its root messages, and no escalation is still under way.
func (r *killRig) settle(stats *killStats) {
	r.t.Helper()
	deadline := time.Now().Add(killSettleWithin)
	for {
		why := r.unsettled(stats)
		if why == "" {
			break
		}
		if time.Now().After(deadline) {
			r.t.Errorf("not settled %v after the load stopped: %s", killSettleWithin, why)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a wrongful second root or call
}

func (r *killRig) unsettled(stats *killStats) string {
	list, err := r.listAll()
	if err != nil {
		return err.Error()
	}
	titles := map[string]bool{}
	for _, inc := range list.Incidents {
		titles[firstWord(inc.Title)] = true
	}
	stats.mu.Lock()
	defer stats.mu.Unlock()
	for fp := range stats.accepted {
		if !titles[fp] {
			return "no incident for alert " + fp
		}
	}
	for _, subject := range stats.mails {
		if !titles[firstWord(subject)] {
			return "no incident for mail " + subject
		}
	}
	slack, discord := r.chatRoots()
	for _, inc := range list.Incidents {
		if slack[int(inc.Number)] == 0 || discord[int(inc.Number)] == 0 {
			return fmt.Sprintf("INC-%d has %d Slack and %d Discord roots", inc.Number, slack[int(inc.Number)], discord[int(inc.Number)])
		}
	}
	var busy int
	if err := r.db.QueryRow(`SELECT count(*) FROM escalations WHERE phase IN ('chat', 'calling', 'paused')`).Scan(&busy); err != nil {
		return err.Error()
	}
	if busy > 0 {
		return fmt.Sprintf("%d escalations under way%s", busy, r.stuck())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) > 0 {
		return fmt.Sprintf("%d takeovers pending", len(r.pending))
	}
	return ""
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// check asserts what the run must show and logs its figures.
func (r *killRig) check(stats *killStats) {
	t := r.t
	t.Helper()
	list, err := r.listAll()
	if err != nil {
		t.Fatal(err)
	}
	stats.mu.Lock()
	defer stats.mu.Unlock()

	// Nothing answered 2xx is lost: at least as many alerts as were
	// accepted (more when a commit's answer died with its replica).
	counted := map[string]int{}
	for _, inc := range list.Incidents {
		counted[firstWord(inc.Title)] += inc.AlertCount
	}
	extra, refused := 0, 0
	for fp, n := range stats.accepted {
		switch got := counted[fp]; {
		case got < n:
			t.Errorf("%s: %d alerts answered 2xx, %d recorded: accepted alerts were lost", fp, n, got)
		case got > n+stats.refused[fp]:
			t.Errorf("%s: %d alerts answered 2xx and %d not, %d recorded: alerts were recorded twice", fp, n, stats.refused[fp], got)
		default:
			extra += got - n
		}
	}
	for _, n := range stats.refused {
		refused += n
	}
	mailDup := 0
	for _, subject := range stats.mails {
		switch got := counted[firstWord(subject)]; {
		case got == 0:
			t.Errorf("mail %q has no incident", subject)
		case got > 1:
			mailDup += got - 1
		}
	}

	// One root message per incident and platform.
	slack, discord := r.chatRoots()
	for _, platform := range []struct {
		name  string
		roots map[int]int
	}{{"Slack", slack}, {"Discord", discord}} {
		if n := platform.roots[0]; n > 0 {
			t.Errorf("%d %s root messages name no incident", n, platform.name)
		}
		numbers := map[int]bool{}
		for _, inc := range list.Incidents {
			numbers[int(inc.Number)] = true
			if n := platform.roots[int(inc.Number)]; n != 1 {
				t.Errorf("INC-%d has %d %s root messages, want 1%s", inc.Number, n, platform.name, r.postedAt(platform.name, int(inc.Number)))
			}
		}
		for n := range platform.roots {
			if n != 0 && !numbers[n] {
				t.Errorf("%s root message for INC-%d, which does not exist", platform.name, n)
			}
		}
	}

	// One step, repeat 0: each contact is called at most once per incident.
	calls := r.phone.Calls()
	perIncident := map[string]int{}
	escalated := map[string]bool{}
	for _, c := range calls {
		sm := incRef.FindStringSubmatch(c.Twiml)
		if sm == nil {
			t.Errorf("call %s to %s names no incident: %s", c.SID, c.To, c.Twiml)
			continue
		}
		perIncident[sm[0]+" "+c.To]++
		escalated[sm[0]] = true
	}
	for key, n := range perIncident {
		if n > 1 {
			t.Errorf("%s called %d times, want at most once", key, n)
		}
	}
	if len(calls) == 0 {
		t.Errorf("no call placed: nothing escalated in %v", killRunFor)
	}
	r.checkAttempts(calls)
	outcomes := map[string]int{}
	unexpected := 0
	for _, c := range calls {
		outcomes[c.Status]++
		if c.Script == "" {
			unexpected++
		}
	}
	if unexpected > 0 {
		t.Errorf("%d calls found the script exhausted", unexpected)
	}

	// The gateway and the poller: one at a time, taken over within 10 s.
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.leaseProblems {
		t.Error(p)
	}
	var took []string
	var longest time.Duration
	for _, tk := range r.done {
		took = append(took, fmt.Sprintf("%s %v (pid %d→%d)", tk.lease, tk.took.Round(10*time.Millisecond), tk.victim, tk.by))
		longest = max(longest, tk.took)
		if tk.took > killTakeoverMax {
			t.Errorf("%s taken over %v after pid %d was killed, want within %v", tk.lease, tk.took, tk.victim, killTakeoverMax)
		}
	}
	for lease, tk := range r.pending {
		t.Errorf("%s never taken over after pid %d was killed %v ago", lease, tk.victim, time.Since(tk.killedAt).Round(time.Millisecond))
	}
	if len(r.done) == 0 {
		t.Errorf("no takeover measured in %d kills", r.kills)
	}
	var gw, mb int
	for _, tk := range r.done {
		switch tk.lease {
		case discordGatewayLease:
			gw++
		case imapLease:
			mb++
		}
	}
	if r.kills < 4 {
		t.Errorf("%d kills, want at least 4", r.kills)
	}

	// Interactions Discord delivered while a gateway was up are answered,
	// except those delivered to a replica as it was killed.
	for _, at := range stats.unansweredAt {
		near := false
		for _, k := range r.killed {
			if d := at.Sub(k); d > -time.Second && d < 5*time.Second {
				near = true
			}
		}
		if !near {
			t.Errorf("a Discord interaction went unanswered at %s, with no kill nearby", at.Format("15:04:05.000"))
		}
	}
	// Every callback reached a live replica and was answered 2xx.
	if err := r.phone.Err(); err != nil {
		t.Errorf("fake Twilio reported: %v", err)
	}

	t.Logf("kills: %d (gateway holder %d, poller holder %d takeovers measured)", r.kills, gw, mb)
	t.Logf("alerts: %d answered 2xx over %d fingerprints, %d not answered 2xx; %d recorded beyond those accepted", stats.alerts, len(stats.accepted), refused, extra)
	t.Logf("mails: %d appended, %d taken twice", len(stats.mails), mailDup)
	t.Logf("incidents: %d; Slack roots %d, Discord roots %d", len(list.Incidents), len(slack), len(discord))
	t.Logf("commands: Slack %d answered, %d failed; Discord %d answered, %d not delivered (no gateway), %d unanswered",
		stats.slackOK, stats.slackBad, stats.discordOK, stats.discordUndelivered, stats.discordUnanswered)
	t.Logf("calls: %d for %d incidents, by final status %v", len(calls), len(escalated), outcomes)
	t.Logf("takeovers: max %v; each: %s", longest.Round(10*time.Millisecond), strings.Join(took, ", "))
	t.Logf("max gateway sessions at once %d, max mailbox selections at once %d", r.maxSessions, r.maxSelected)
}

// stuck describes the escalations still under way and their jobs, for the
// failure message.
func (r *killRig) stuck() string {
	var b strings.Builder
	rows, err := r.db.Query(`SELECT e.incident_id, e.phase, COALESCE(string_agg(DISTINCT a.status, ','), '')
		FROM escalations e LEFT JOIN call_attempts a ON a.incident_id = e.incident_id
		WHERE e.phase IN ('chat', 'calling', 'paused') GROUP BY e.incident_id, e.phase`)
	if err != nil {
		return ": " + err.Error()
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var phase, attempts string
		rows.Scan(&id, &phase, &attempts)
		fmt.Fprintf(&b, "; incident id %d phase %s attempts [%s]", id, phase, attempts)
		jobs, err := r.db.Query(`SELECT kind, state, attempts, COALESCE(last_error, '') FROM jobs WHERE incident_id = $1`, id)
		if err != nil {
			continue
		}
		for jobs.Next() {
			var kind, state, lastErr string
			var n int
			jobs.Scan(&kind, &state, &n, &lastErr)
			fmt.Fprintf(&b, " job %s %s x%d %q", kind, state, n, lastErr)
		}
		jobs.Close()
	}
	return b.String()
}

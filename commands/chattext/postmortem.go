package chattext

import (
	"fmt"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// postmortemTimelineLines is how many of the newest timeline events a
// posted summary shows.
const postmortemTimelineLines = 30

// Postmortem is the summary posted to a knowledge-base channel: what
// happened, how long it took, who owned it, cause, fix, follow-ups and the
// timeline.
func Postmortem(pm bot.Postmortem, service, locale string, m Markup) string {
	ja := Japanese(locale)
	pick := func(en, jp string) string { return Pick(ja, en, jp) }
	unknown := pick("(not written yet)", "（未記入）")
	field := func(s string) string {
		if strings.TrimSpace(s) == "" {
			return unknown
		}
		return m.Escape(s)
	}
	dur := func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return d.Round(time.Second).String()
	}
	owner := pm.Owner
	if owner == "" {
		owner = pick("nobody", "未割り当て")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %s)\n", m.Bold(fmt.Sprintf("%s %s: %s", pick("Postmortem", "振り返り"), pm.Ref(), m.Escape(pm.Title))),
		m.Escape(service), pm.Severity)
	fmt.Fprintf(&b, "%s %s · %s %s · %s %s · %s %d\n",
		pick("Time to ack:", "確認まで:"), dur(pm.TimeToAck), pick("time to resolve:", "解決まで:"), dur(pm.TimeToResolve),
		pick("owner:", "担当:"), m.Escape(owner), pick("alerts:", "アラート数:"), pm.AlertCount)
	fmt.Fprintf(&b, "%s %s\n%s %s\n%s %s\n", m.Bold(pick("Cause:", "原因:")), field(pm.Cause), m.Bold(pick("Fix:", "対応:")), field(pm.Fix),
		m.Bold(pick("Follow-ups:", "今後の対応:")), field(pm.FollowUps))
	if len(pm.Timeline) > 0 {
		b.WriteString(m.Bold(pick("Timeline", "経緯")) + "\n")
		events := pm.Timeline
		if len(events) > postmortemTimelineLines {
			events = events[len(events)-postmortemTimelineLines:]
		}
		for _, e := range events {
			line := fmt.Sprintf("%s %s", e.At.UTC().Format("01-02 15:04Z"), e.Kind)
			if e.Text != "" && e.Text != string(e.Kind) {
				line += ": " + m.Escape(e.Text)
			}
			if e.Actor != "" {
				line += fmt.Sprintf(" (%s)", m.Escape(e.Actor))
			}
			b.WriteString("• " + line + "\n")
		}
	}
	return b.String()
}

// Package console is Hotline without any platform: a Chat that prints
// incident threads on the terminal and a Phone and Mailer that only say what
// they would have done. serve uses them when nothing else is configured, and
// demo shows the whole story with them.
package console

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// Chat prints incidents and their threads to a writer.
type Chat struct {
	mu  sync.Mutex
	out io.Writer
}

// NewChat prints to out.
func NewChat(out io.Writer) *Chat { return &Chat{out: out} }

// Platform is "console".
func (c *Chat) Platform() string { return "console" }

// PostIncident prints the root message.
func (c *Chat) PostIncident(_ context.Context, channel string, inc bot.Incident) (bot.Thread, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, "┏ %s %s  [%s] %s  (service %s, #%s)\n", inc.Ref(), inc.Title, inc.Severity, inc.Status, inc.Service, channel)
	return bot.Thread{Channel: channel, MessageID: strconv.FormatInt(inc.ID, 10)}, nil
}

// PostUpdate prints the new timeline events under the incident, then its
// state line.
func (c *Chat) PostUpdate(_ context.Context, th bot.Thread, inc bot.Incident, events []bot.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, e := range digest(events, 5) {
		fmt.Fprintf(&b, "┃ %s %s %s\n", e.At.Local().Format(time.TimeOnly), inc.Ref(), eventLine(e))
	}
	if n := inc.AlertCount - th.PostedAlerts; n > 0 {
		fmt.Fprintf(&b, "┃ %s +%s since the last update\n", inc.Ref(), plural(n, "alert"))
	}
	owner := inc.Owner
	if owner == "" {
		owner = "nobody"
	}
	fmt.Fprintf(&b, "┗ %s is %s, severity %s, owner %s, %s\n", inc.Ref(), inc.Status, inc.Severity, owner, plural(inc.AlertCount, "alert"))
	_, err := io.WriteString(c.out, b.String())
	return err
}

// eventLine reads "acknowledged (by tanaka via phone)" or "note: text (by ...)".
func eventLine(e bot.Event) string {
	line := string(e.Kind)
	if e.Text != "" && e.Text != line {
		line += ": " + strings.TrimPrefix(e.Text, line+": ")
	}
	if e.Actor != "" {
		line += fmt.Sprintf(" (by %s via %s)", e.Actor, e.Source)
	}
	return line
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// digest keeps a storm readable: the first few events, a count of the
// repeated alerts, and every event that is not an alert.
func digest(events []bot.Event, keep int) []bot.Event {
	var out []bot.Event
	alerts := 0
	for _, e := range events {
		if e.Kind == bot.EventAlert {
			alerts++
			if alerts > keep {
				continue
			}
		}
		out = append(out, e)
	}
	if alerts > keep {
		last := events[len(events)-1]
		out = append(out, bot.Event{Kind: bot.EventAlert, At: last.At, Text: fmt.Sprintf("… and %d more alerts", alerts-keep)})
	}
	return out
}

// Phone is a dry run: it prints the call it would place.
type Phone struct {
	mu  sync.Mutex
	out io.Writer
	n   int
}

// NewPhone prints to out.
func NewPhone(out io.Writer) *Phone { return &Phone{out: out} }

// PlaceCall prints the call with the number masked, as in logs.
func (p *Phone) PlaceCall(_ context.Context, c bot.Call) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	fmt.Fprintf(p.out, "☎ (dry run) would call %s about %s %s\n", bot.MaskPhone(c.To), c.Incident.Ref(), c.Incident.Title)
	return fmt.Sprintf("dry-run-%d", p.n), nil
}

// FindCalls finds nothing: a dry run places no calls anyone could answer.
func (p *Phone) FindCalls(context.Context, string, time.Time) ([]string, error) {
	return nil, nil
}

// HangUp prints the hang-up it would send.
func (p *Phone) HangUp(_ context.Context, callID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "☎ (dry run) would hang up %s\n", callID)
	return nil
}

// Mailer is a dry run: it prints the mail it would send.
type Mailer struct {
	mu  sync.Mutex
	out io.Writer
}

// NewMailer prints to out.
func NewMailer(out io.Writer) *Mailer { return &Mailer{out: out} }

// Send prints the mail's recipients and subject.
func (m *Mailer) Send(_ context.Context, mail bot.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := fmt.Fprintf(m.out, "✉ (dry run) would mail %s: %s\n", strings.Join(mail.To, ", "), mail.Subject)
	return err
}

package webhook

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/hotline-dev/hotline/bot"
)

// parseGrafana reads the webhook payload of Grafana's unified alerting
// (version "1"): Alertmanager's group payload plus orgId, title, state,
// message and per-alert dashboard, panel and silence URLs.
//
// As with Alertmanager, the notification group is one incident.
func parseGrafana(body []byte) ([]bot.Alert, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	var errs bot.Problems
	f := fields{m: m, errs: &errs}

	// Older Grafana releases omit version; any other number is another format.
	checkVersion(f, "1", "Grafana", false, map[string]string{"4": "alertmanager"})
	g := readGroup(f)
	title := grafanaTitle(f.str("title"), g)
	message := truncate(strings.TrimSpace(f.str("message")), maxBodyRunes)
	if err := errs.Err(); err != nil {
		return nil, err
	}

	a := bot.Alert{
		Source:   "grafana",
		Status:   g.status,
		Title:    title,
		Body:     message,
		Severity: g.severity(),
		Labels:   publicLabels(g.commonLabels),
		Links:    grafanaLinks(g),
		Raw:      bytes.Clone(body),
	}
	if g.groupKey != "" {
		a.Fingerprint = "grafana:" + shortHash(g.groupKey)
	} else {
		// Without a group key the title and common labels are what stays the
		// same from firing to resolved.
		key := title
		for _, k := range sortedKeys(g.commonLabels) {
			key += "\n" + k + "=" + g.commonLabels[k]
		}
		a.Fingerprint = "grafana:" + shortHash(key)
	}
	if a.Body == "" {
		a.Body = g.body()
	}
	return []bot.Alert{a}, nil
}

// statePrefix is the "[FIRING:2] " / "[RESOLVED] " / "[FIRING:1, RESOLVED:1] "
// that Grafana's default title template puts first. It changes with every
// notification of a group, so it does not belong in the incident's title.
var statePrefix = regexp.MustCompile(`^\s*\[(?i:firing|resolved)[^\]]*\]\s*`)

// grafanaTitle takes the notification's title without its state prefix. The
// default template leaves only "(label values)" when the group labels are
// empty; a summary or alert name says more than that, when there is one.
func grafanaTitle(raw string, g group) string {
	t := oneLine(statePrefix.ReplaceAllString(raw, ""), maxTitleRunes)
	if t != "" && !(strings.HasPrefix(t, "(") && strings.HasSuffix(t, ")")) {
		return t
	}
	if name := g.name(); name != "" {
		return name
	}
	if t != "" {
		return t
	}
	return g.fallbackTitle("Grafana")
}

// grafanaLinks collects runbooks first (what a responder needs first), then
// where to look, then how to silence, each capped.
func grafanaLinks(g group) []bot.Link {
	links := newLinkSet()
	g.addAnnotationLinks(links)
	for _, a := range g.alerts {
		links.add("Dashboard", maxPerKind, "Dashboard", a.dashboardURL)
	}
	for _, a := range g.alerts {
		links.add("Panel", maxPerKind, "Panel", a.panelURL)
	}
	for _, a := range g.alerts {
		text := a.labels["alertname"]
		if text == "" {
			text = "Alert rule"
		}
		links.add("source", maxSourceLinks, text, a.generatorURL)
	}
	for _, a := range g.alerts {
		links.add("Silence", maxPerKind, "Silence", a.silenceURL)
	}
	links.add("grafana", 1, "Grafana", g.externalURL)
	return links.list()
}

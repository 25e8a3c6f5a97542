package webhook

import (
	"bytes"
	"fmt"

	"github.com/hotline-dev/hotline/bot"
)

// parseAlertmanager reads Prometheus Alertmanager's webhook payload, version 4
// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
//
// Alertmanager sends the whole group again whenever it changes, firing or
// resolved, so the group is one incident: one alert whose fingerprint comes
// from groupKey, which is stable for the life of the group.
func parseAlertmanager(body []byte) ([]bot.Alert, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	var errs bot.Problems
	f := fields{m: m, errs: &errs}

	checkVersion(f, "4", "Alertmanager", true, map[string]string{"1": "grafana"})
	g := readGroup(f)
	if v, ok := f.raw("groupKey"); !ok || kindOf(v) == "string" && g.groupKey == "" {
		errs.Add("groupKey", "is required")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}

	title := g.name()
	if title == "" {
		title = g.fallbackTitle("Alertmanager")
	}
	links := newLinkSet()
	g.addAnnotationLinks(links)
	for _, a := range g.alerts {
		text := a.labels["alertname"]
		if text == "" {
			text = "Source"
		}
		links.add("source", maxSourceLinks, text, a.generatorURL)
	}
	links.add("alertmanager", 1, "Alertmanager", g.externalURL)

	return []bot.Alert{{
		Source:      "alertmanager",
		Fingerprint: "am:" + shortHash(g.groupKey),
		Status:      g.status,
		Title:       title,
		Body:        g.body(),
		Severity:    g.severity(),
		Labels:      publicLabels(g.commonLabels),
		Links:       links.list(),
		Raw:         bytes.Clone(body),
	}}, nil
}

// checkVersion refuses a payload format this parser was not written for. A
// version that belongs to another kind of integration is the usual mistake,
// so the message names the kind to use instead.
func checkVersion(f fields, want, product string, required bool, otherKinds map[string]string) {
	v, ok := f.raw("version")
	if !ok {
		if !required {
			return
		}
		f.errs.Add("version", fmt.Sprintf("is required (%s sends %q)", product, want))
		return
	}
	got := f.strOrNumber("version")
	if k := kindOf(v); k != "string" && k != "number" {
		return // strOrNumber has said what is wrong
	}
	if got == want {
		return
	}
	msg := fmt.Sprintf("got %q, want %q (the %s webhook format)", got, want, product)
	if kind, ok := otherKinds[got]; ok {
		msg += fmt.Sprintf("; this looks like a %s payload: use an integration of kind %s", kind, kind)
	}
	f.errs.Add("version", msg)
}

package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hotline-dev/hotline/bot"
)

// group is what Alertmanager and Grafana payloads share: one notification for
// one alert group. Both tools resend the whole group on every change, so the
// group, not each member alert, is one incident.
type group struct {
	status            bot.AlertStatus
	groupKey          string
	receiver          string
	groupLabels       map[string]string
	commonLabels      map[string]string
	commonAnnotations map[string]string
	externalURL       string
	truncated         int // alerts the sender left out (max_alerts)
	alerts            []member
}

// member is one alert of a group.
type member struct {
	status       bot.AlertStatus
	labels       map[string]string
	annotations  map[string]string
	generatorURL string
	// Grafana only.
	silenceURL, dashboardURL, panelURL string
	valueString                        string
	values                             map[string]json.Number
}

// Listing limits: enough to see the pattern of a storm, not a wall of text.
const (
	maxListedAlerts = 50
	maxPerKind      = 3 // runbooks, dashboards, silences ...
	maxSourceLinks  = 5 // generator URLs: one per alert rule
)

// readGroup reads the shared fields, recording problems in f.errs.
func readGroup(f fields) group {
	g := group{
		status:            f.status("status", ""),
		groupKey:          f.str("groupKey"),
		receiver:          f.str("receiver"),
		groupLabels:       f.strMap("groupLabels"),
		commonLabels:      f.strMap("commonLabels"),
		commonAnnotations: f.strMap("commonAnnotations"),
		externalURL:       f.str("externalURL"),
	}
	// truncatedAlerts only adds a note to the body, so a strange value is
	// ignored rather than refused.
	if v, ok := f.raw("truncatedAlerts"); ok {
		if n, err := strconv.Atoi(string(trimJSONSpace(v))); err == nil && n > 0 {
			g.truncated = n
		}
	}
	items, present := f.array("alerts")
	switch {
	case !present:
		f.errs.Add("alerts", "is required")
	case len(items) == 0 && kindOf(f.m["alerts"]) == "array":
		f.errs.Add("alerts", "must not be empty")
	}
	// A member without a status shares the group's; when the group's is
	// itself missing, that is reported once, not again for every member.
	memberDefault := g.status
	if memberDefault == "" {
		memberDefault = bot.AlertFiring
	}
	for i, raw := range items {
		o, ok := objectAt(fmt.Sprintf("alerts[%d]", i), raw, f.errs)
		if !ok {
			continue
		}
		g.alerts = append(g.alerts, readMember(o, memberDefault))
	}
	return g
}

func readMember(o fields, groupStatus bot.AlertStatus) member {
	m := member{
		status:       o.status("status", groupStatus),
		labels:       o.strMap("labels"),
		annotations:  o.strMap("annotations"),
		generatorURL: o.str("generatorURL"),
		silenceURL:   o.str("silenceURL"),
		dashboardURL: o.str("dashboardURL"),
		panelURL:     o.str("panelURL"),
		valueString:  o.str("valueString"),
	}
	// values is display-only; Grafana writes numbers, but a null or an odd
	// value is no reason to refuse the alert.
	if v, ok := o.raw("values"); ok {
		var raw map[string]json.RawMessage
		if json.Unmarshal(v, &raw) == nil {
			m.values = map[string]json.Number{}
			for k, x := range raw {
				if kindOf(x) == "number" {
					m.values[k] = json.Number(trimJSONSpace(x))
				}
			}
		}
	}
	return m
}

// name names the group the way a responder would: its common summary, else
// its alert name and the instance or job all its alerts share, else its group
// labels; "" when the payload says none of these.
func (g group) name() string {
	if s := oneLine(g.commonAnnotations["summary"], maxTitleRunes); s != "" {
		return s
	}
	if name := strings.TrimSpace(g.commonLabels["alertname"]); name != "" {
		parts := []string{name}
		for _, k := range []string{"instance", "job"} {
			if v := strings.TrimSpace(g.commonLabels[k]); v != "" {
				parts = append(parts, v)
			}
		}
		return oneLine(strings.Join(parts, " / "), maxTitleRunes)
	}
	return oneLine(strings.Join(sortedValues(g.groupLabels), " "), maxTitleRunes)
}

// fallbackTitle is the title of a group that names nothing: the product and
// the receiver, so at least the route is known.
func (g group) fallbackTitle(product string) string {
	if r := oneLine(g.receiver, 100); r != "" {
		return product + " alert (" + r + ")"
	}
	return product + " alert"
}

// severity is the group's common severity label, else the worst severity
// among the alerts that are still firing (or among all of a resolved group):
// a group with one critical alert is critical.
func (g group) severity() bot.Severity {
	if sev := severityOf(g.commonLabels); sev != "" {
		return sev
	}
	var worst bot.Severity
	for _, a := range g.alerts {
		if g.status == bot.AlertFiring && a.status != bot.AlertFiring {
			continue
		}
		if sev := severityOf(a.labels); worse(sev, worst) {
			worst = sev
		}
	}
	return worst
}

// body lists the member alerts, one short block each: status, name, the
// labels that tell it apart from the rest of the group, summary, description.
func (g group) body() string {
	var b strings.Builder
	for i, a := range g.alerts {
		if i == maxListedAlerts {
			break
		}
		b.WriteString(strings.ToUpper(string(a.status)))
		if name := a.labels["alertname"]; name != "" {
			b.WriteString(" " + oneLine(name, 100))
		}
		if dl := g.distinctLabels(a); dl != "" {
			b.WriteString(" " + dl)
		}
		b.WriteByte('\n')
		for _, k := range []string{"summary", "description", "message"} {
			if s := oneLine(a.annotations[k], maxLineRunes); s != "" && s != oneLine(g.commonAnnotations[k], maxLineRunes) {
				b.WriteString("  " + s + "\n")
			}
		}
		if v := a.value(); v != "" {
			b.WriteString("  " + v + "\n")
		}
	}
	if more := max(len(g.alerts)-maxListedAlerts, 0) + g.truncated; more > 0 {
		fmt.Fprintf(&b, "… and %d more\n", more)
	}
	// The common summary is the title; the common description applies to
	// every alert, so it heads the list instead of repeating in it.
	if d := strings.TrimSpace(g.commonAnnotations["description"]); d != "" {
		return strings.TrimSpace(d + "\n\n" + b.String())
	}
	return strings.TrimSpace(b.String())
}

// distinctLabels renders the labels of a that not every alert of the group
// shares, sorted, as {k="v", ...}; alertname is already shown.
func (g group) distinctLabels(a member) string {
	var pairs []string
	for _, k := range sortedKeys(a.labels) {
		if k == "alertname" || strings.HasPrefix(k, "__") {
			continue
		}
		if v, common := g.commonLabels[k]; common && v == a.labels[k] {
			continue
		}
		pairs = append(pairs, k+"="+strconv.Quote(a.labels[k]))
	}
	if len(pairs) == 0 {
		return ""
	}
	return oneLine("{"+strings.Join(pairs, ", ")+"}", maxLineRunes)
}

// value is Grafana's evaluated query values, which say how far over the
// threshold the alert is.
func (a member) value() string {
	if len(a.values) > 0 {
		var pairs []string
		for _, k := range sortedKeys(a.values) {
			pairs = append(pairs, k+"="+a.values[k].String())
		}
		return oneLine(strings.Join(pairs, " "), maxLineRunes)
	}
	return oneLine(a.valueString, maxLineRunes)
}

// addAnnotationLinks adds runbook and dashboard links from the common
// annotations and then from each alert's.
func (g group) addAnnotationLinks(s *linkSet) {
	sets := []map[string]string{g.commonAnnotations}
	for _, a := range g.alerts {
		sets = append(sets, a.annotations)
	}
	for _, kind := range []struct{ text, key1, key2 string }{
		{"Runbook", "runbook_url", "runbook"},
		{"Dashboard", "dashboard_url", "dashboard"},
	} {
		for _, ann := range sets {
			s.add(kind.text, maxPerKind, kind.text, ann[kind.key1])
			s.add(kind.text, maxPerKind, kind.text, ann[kind.key2])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sortedValues lists the values of m ordered by key, as Alertmanager's own
// default title template does.
func sortedValues(m map[string]string) []string {
	var vals []string
	for _, k := range sortedKeys(m) {
		vals = append(vals, m[k])
	}
	return vals
}

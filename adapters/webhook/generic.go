package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hotline-dev/hotline/bot"
)

// parseGeneric reads Hotline's own format, for scripts and tools without a
// dedicated parser:
//
//	{"title": "db01 ディスク使用率 95%", "description": "...", "fingerprint": "db01-disk",
//	 "severity": "sev2", "status": "firing", "labels": {"host": "db01"},
//	 "links": ["https://...", {"text": "Runbook", "url": "https://..."}]}
//
// Only title is required. Unknown fields are ignored so senders may add their
// own.
func parseGeneric(body []byte) ([]bot.Alert, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	var errs bot.Problems
	f := fields{m: m, errs: &errs}

	title := strings.Join(strings.Fields(f.str("title")), " ")
	switch v, ok := f.raw("title"); {
	case !ok:
		errs.Add("title", "is required")
	case title == "" && kindOf(v) == "string":
		errs.Add("title", "must not be blank")
	}

	labels := f.strMap("labels")
	a := bot.Alert{
		Source:      "generic",
		Fingerprint: fingerprintKey(f.strOrNumber("fingerprint")),
		Status:      f.status("status", bot.AlertFiring),
		Title:       truncate(title, maxTitleRunes),
		Body:        strings.TrimSpace(f.str("description")),
		Severity:    genericSeverity(f, labels),
		Labels:      labels,
		Links:       genericLinks(f),
		Raw:         bytes.Clone(body),
	}
	if a.Fingerprint == "" {
		// The full title, not the shortened one: two long titles that differ
		// only at the end are different alerts.
		a.Fingerprint = bot.FingerprintOf(title)
	}
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return []bot.Alert{a}, nil
}

// genericSeverity takes the explicit severity field, refusing one Hotline
// cannot read (the sender asked for something specific), and otherwise falls
// back to a severity label, ignoring one it cannot read.
func genericSeverity(f fields, labels map[string]string) bot.Severity {
	v, ok := f.raw("severity")
	if !ok {
		return severityOf(labels)
	}
	s := f.strOrNumber("severity")
	if k := kindOf(v); k != "string" && k != "number" {
		return "" // strOrNumber has said what is wrong
	}
	sev, err := bot.ParseSeverity(s)
	if err != nil {
		f.errs.Add("severity", fmt.Sprintf("must be one of sev1, sev2, sev3, sev4 (or critical, high, warning, info), got %q", s))
		return ""
	}
	return sev
}

// genericLinks reads links given as bare URLs or as {text, url} objects.
func genericLinks(f fields) []bot.Link {
	items, _ := f.array("links")
	var links []bot.Link
	for i, raw := range items {
		path := "links[" + strconv.Itoa(i) + "]"
		var l bot.Link
		switch kindOf(raw) {
		case "string":
			var s string
			_ = json.Unmarshal(raw, &s)
			l.URL = strings.TrimSpace(s)
		case "object":
			o, _ := objectAt(path, raw, f.errs)
			l.Text = oneLine(o.str("text"), 200)
			l.URL = strings.TrimSpace(o.str("url"))
			if _, ok := o.raw("url"); !ok {
				f.errs.Add(path+".url", "is required")
				continue
			}
			path += ".url"
		default:
			f.errs.Add(path, "must be a URL string or an object {text, url}, got "+article(kindOf(raw)))
			continue
		}
		if !isWebURL(l.URL) {
			f.errs.Add(path, fmt.Sprintf("must be an absolute http or https URL, got %q", l.URL))
			continue
		}
		links = append(links, l)
	}
	return links
}

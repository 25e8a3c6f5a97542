package webhook

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hotline-dev/hotline/bot"
)

// fields reads typed values out of one JSON object. Every problem is recorded
// under its full path (alerts[2].labels.env) instead of stopping at the first,
// so a sender fixes its payload in one round trip.
type fields struct {
	path string
	m    map[string]json.RawMessage
	errs *bot.Problems
}

func (f fields) at(name string) string { return joinPath(f.path, name) }

func joinPath(path, name string) string {
	if !isPlainKey(name) {
		name = fmt.Sprintf("[%q]", name)
		return path + name
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

func isPlainKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// raw returns the value of name; a JSON null counts as absent, as senders
// use null and omission interchangeably.
func (f fields) raw(name string) (json.RawMessage, bool) {
	v, ok := f.m[name]
	if !ok || kindOf(v) == "null" {
		return nil, false
	}
	return v, true
}

// str reads an optional string; "" when absent or of the wrong type.
func (f fields) str(name string) string {
	v, ok := f.raw(name)
	if !ok {
		return ""
	}
	s, ok := asString(v)
	if !ok {
		f.errs.Add(f.at(name), "must be a string, got "+article(kindOf(v)))
	}
	return s
}

// strOrNumber reads an optional string, taking a number by its text: ids and
// severities arrive as either, depending on the tool.
func (f fields) strOrNumber(name string) string {
	v, ok := f.raw(name)
	if !ok {
		return ""
	}
	if kindOf(v) == "number" {
		return string(trimJSONSpace(v))
	}
	s, ok := asString(v)
	if !ok {
		f.errs.Add(f.at(name), "must be a string, got "+article(kindOf(v)))
	}
	return s
}

// strMap reads an optional object of strings (labels, annotations).
func (f fields) strMap(name string) map[string]string {
	v, ok := f.raw(name)
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if kindOf(v) != "object" || json.Unmarshal(v, &m) != nil {
		f.errs.Add(f.at(name), "must be an object of strings, got "+article(kindOf(v)))
		return nil
	}
	out := make(map[string]string, len(m))
	for k, raw := range m {
		s, ok := asString(raw)
		if !ok {
			f.errs.Add(joinPath(f.at(name), k), "must be a string, got "+article(kindOf(raw)))
			continue
		}
		out[k] = s
	}
	return out
}

// array reads an optional array; present reports whether it was there at all.
func (f fields) array(name string) (items []json.RawMessage, present bool) {
	v, ok := f.raw(name)
	if !ok {
		return nil, false
	}
	if kindOf(v) != "array" || json.Unmarshal(v, &items) != nil {
		f.errs.Add(f.at(name), "must be an array, got "+article(kindOf(v)))
		return nil, true
	}
	return items, true
}

// objectAt reads raw, found at path, as a nested object.
func objectAt(path string, raw json.RawMessage, errs *bot.Problems) (fields, bool) {
	var m map[string]json.RawMessage
	if kindOf(raw) != "object" || json.Unmarshal(raw, &m) != nil {
		errs.Add(path, "must be an object, got "+article(kindOf(raw)))
		return fields{}, false
	}
	return fields{path: path, m: m, errs: errs}, true
}

func asString(raw json.RawMessage) (string, bool) {
	if kindOf(raw) != "string" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// status reads a firing|resolved field, case-insensitively because some
// templates upper-case it. def is used when the field is absent.
func (f fields) status(name string, def bot.AlertStatus) bot.AlertStatus {
	v, ok := f.raw(name)
	if !ok {
		if def == "" {
			f.errs.Add(f.at(name), "is required (firing or resolved)")
		}
		return def
	}
	s, isStr := asString(v)
	switch st := bot.AlertStatus(strings.ToLower(strings.TrimSpace(s))); {
	case !isStr:
		f.errs.Add(f.at(name), "must be firing or resolved, got "+article(kindOf(v)))
	case st == bot.AlertFiring || st == bot.AlertResolved:
		return st
	default:
		f.errs.Add(f.at(name), fmt.Sprintf("must be firing or resolved, got %q", s))
	}
	return def
}

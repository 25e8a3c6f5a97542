package webhook

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

func FuzzGeneric(f *testing.F)      { fuzzParser(f, "generic") }
func FuzzAlertmanager(f *testing.F) { fuzzParser(f, "alertmanager") }
func FuzzGrafana(f *testing.F)      { fuzzParser(f, "grafana") }

// fuzzParser checks what the ingest handler relies on for any body: no panic,
// refusals are *bot.InvalidError (a 400, not a 500), and what is accepted is
// an alert Bot.Ingest will take once the handler sets the service.
func fuzzParser(f *testing.F, kind string) {
	// Every payload seeds every parser: another kind's payload is exactly
	// what a misconfigured integration receives.
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		f.Add(readTestdata(f, filepath.Base(name)))
	}
	parse, _ := ParserFor(kind)
	f.Fuzz(func(t *testing.T, body []byte) {
		in := bytes.Clone(body)
		alerts, err := parse(body)
		if !bytes.Equal(body, in) {
			t.Fatalf("parser modified its input")
		}
		if err != nil {
			var invalid *bot.InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %v (%T) is not a *bot.InvalidError", err, err)
			}
			if alerts != nil || invalid.Reason == "" {
				t.Fatalf("error %q came with alerts %v", err, alerts)
			}
			return
		}
		if len(alerts) == 0 {
			t.Fatalf("no error and no alerts")
		}
		for _, a := range alerts {
			checkAlert(t, kind, body, a)
		}
		// Map order must not leak into fingerprints, bodies or link order.
		again, err := parse(body)
		if err != nil || !reflect.DeepEqual(alerts, again) {
			t.Fatalf("second parse differs: %v\n%+v\n%+v", err, alerts, again)
		}
	})
}

func checkAlert(t *testing.T, kind string, body []byte, a bot.Alert) {
	t.Helper()
	if a.Service != "" || a.Integration != "" {
		t.Fatalf("parser set service %q integration %q", a.Service, a.Integration)
	}
	a.Service = "svc"
	if err := a.Validate(); err != nil {
		t.Fatalf("accepted alert is invalid: %v\n%+v", err, a)
	}
	if a.Source != kind || !bytes.Equal(a.Raw, body) {
		t.Fatalf("Source %q, Raw %q", a.Source, a.Raw)
	}
	if strings.TrimSpace(a.Title) == "" || strings.ContainsAny(a.Title, "\r\n") ||
		utf8.RuneCountInString(a.Title) > maxTitleRunes || !utf8.ValidString(a.Title) {
		t.Fatalf("title %q is not one non-blank line of at most %d runes", a.Title, maxTitleRunes)
	}
	if strings.TrimSpace(a.Fingerprint) != a.Fingerprint || len(a.Fingerprint) > maxFingerprintBytes {
		t.Fatalf("fingerprint %q", a.Fingerprint)
	}
	for _, l := range a.Links {
		if !isWebURL(l.URL) {
			t.Fatalf("link %q is not a web URL", l.URL)
		}
	}
}

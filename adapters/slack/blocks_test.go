package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
	"github.com/slack-go/slack"
)

// The -update flag rewrites testdata/blocks_*.json. It is registered in
// init, after every package-level variable, so that another test file of
// the package may define the same flag first without a panic.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/ from the current output")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var blocksCreated = time.Date(2024, 4, 1, 0, 30, 0, 0, time.UTC)

func sampleIncident(status bot.Status) bot.Incident {
	inc := bot.Incident{
		ID: 7, Number: 12, Service: "web", Fingerprint: "disk", Title: "db01 disk usage 95%",
		Status: status, Severity: bot.Sev2, AlertCount: 3, CreatedAt: blocksCreated,
	}
	if status != bot.StatusTriggered {
		inc.Owner = "tanaka"
		inc.Impact, inc.Urgency, inc.Priority = bot.High, bot.High, "P1"
	}
	return inc
}

// renderedBlocks is the blocks as Slack receives them, parsed.
func renderedBlocks(t *testing.T, blocks []slack.Block) []map[string]any {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// plainJSON marshals v without escaping <, > and &, so that tests and
// golden files read as Slack's markup does.
func plainJSON(t *testing.T, v any, indent string) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// goldenJSON compares v with testdata/name, both parsed; -update rewrites it.
func goldenJSON(t *testing.T, name string, v any) {
	t.Helper()
	got := plainJSON(t, v, "  ")
	path := filepath.Join("testdata", name)
	if updateGolden() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	var want, have any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, raw)
	}
}

func TestIncidentBlocksGolden(t *testing.T) {
	for _, locale := range []string{"en", "ja"} {
		for _, status := range []bot.Status{bot.StatusTriggered, bot.StatusAcknowledged, bot.StatusResolved} {
			name := "blocks_" + string(status) + "_" + locale + ".json"
			t.Run(name, func(t *testing.T) {
				goldenJSON(t, name, renderedBlocks(t, IncidentBlocks(sampleIncident(status), "Web shop", locale)))
			})
		}
	}
}

type button struct{ actionID, value, label, style string }

func buttonsOf(t *testing.T, blocks []map[string]any) []button {
	t.Helper()
	var out []button
	for _, b := range blocks {
		if b["type"] != "actions" {
			continue
		}
		for _, e := range b["elements"].([]any) {
			el := e.(map[string]any)
			if el["type"] != "button" {
				t.Errorf("action element of type %v", el["type"])
				continue
			}
			style, _ := el["style"].(string)
			out = append(out, button{
				actionID: el["action_id"].(string), value: el["value"].(string),
				label: el["text"].(map[string]any)["text"].(string), style: style,
			})
		}
	}
	return out
}

func TestIncidentButtons(t *testing.T) {
	all := func(ack, own, resolve, call string) []button {
		return []button{
			{"incident.ack", "12", ack, "primary"}, {"incident.own", "12", own, ""},
			{"incident.resolve", "12", resolve, ""}, {"incident.escalate", "12", call, "danger"},
		}
	}
	tests := []struct {
		status bot.Status
		locale string
		want   []button
	}{
		{bot.StatusTriggered, "en", all("Acknowledge", "Take ownership", "Resolve", "Call now")},
		{bot.StatusTriggered, "ja", all("確認", "担当する", "解決", "今すぐ電話")},
		{bot.StatusAcknowledged, "en", []button{{"incident.own", "12", "Take ownership", ""}, {"incident.resolve", "12", "Resolve", ""}}},
		{bot.StatusAcknowledged, "ja", []button{{"incident.own", "12", "担当する", ""}, {"incident.resolve", "12", "解決", ""}}},
		{bot.StatusResolved, "en", nil},
		{bot.StatusResolved, "ja", nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.status)+"/"+tt.locale, func(t *testing.T) {
			got := buttonsOf(t, renderedBlocks(t, IncidentBlocks(sampleIncident(tt.status), "Web shop", tt.locale)))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("buttons\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// headerText is the first block's text: what every client shows.
func headerText(t *testing.T, blocks []map[string]any) string {
	t.Helper()
	if len(blocks) == 0 || blocks[0]["type"] != "header" {
		t.Fatalf("first block is not a header: %v", blocks)
	}
	return blocks[0]["text"].(map[string]any)["text"].(string)
}

func TestIncidentBlocksShowState(t *testing.T) {
	inc := sampleIncident(bot.StatusTriggered)
	blocks := renderedBlocks(t, IncidentBlocks(inc, "", "ja"))
	if got := headerText(t, blocks); got != "INC-12 db01 disk usage 95%" {
		t.Errorf("header %q", got)
	}
	raw := plainJSON(t, blocks, "")
	for _, want := range []string{"未割り当て", "*サービス*\\nweb", "sev2", "未確認", "<!date^1711931400^"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("blocks lack %q: %s", want, raw)
		}
	}
	if strings.Contains(string(raw), "優先度") {
		t.Errorf("priority shown while unset: %s", raw)
	}
}

func TestIncidentBlocksLongAndHostileTitle(t *testing.T) {
	inc := sampleIncident(bot.StatusTriggered)
	inc.Title = "<!channel> & " + strings.Repeat("ディスク", 60) + "\nsecond line"
	blocks := renderedBlocks(t, IncidentBlocks(inc, "Web <shop>", "en"))
	header := headerText(t, blocks)
	if n := utf8.RuneCountInString(header); n > 150 || !strings.HasPrefix(header, "INC-12 <!channel> & ディスク") || !strings.HasSuffix(header, "…") {
		t.Errorf("header (%d chars) %q: want INC-12 and the title cut to 150 characters", n, header)
	}
	if blocks[1]["type"] != "section" || blocks[1]["block_id"] != "incident.title" {
		t.Fatalf("a cut title is not followed by the full title: %v", blocks[1])
	}
	full := blocks[1]["text"].(map[string]any)["text"].(string)
	if !strings.Contains(full, "&lt;!channel&gt; &amp; ") || !strings.HasSuffix(full, "ディスク second line") {
		t.Errorf("full title %q: want it escaped and on one line", full)
	}
	raw := plainJSON(t, blocks, "")
	if !strings.Contains(string(raw), "Web &lt;shop&gt;") {
		t.Errorf("service name not escaped: %s", raw)
	}
	if got := rootFallback(inc); !strings.HasPrefix(got, "INC-12 &lt;!channel&gt; &amp; ディスク") || strings.Contains(got, "\n") {
		t.Errorf("fallback text %q", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"30":                            30 * time.Second,
		" 7 ":                           7 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Mon, 01 Apr 2024 00:01:00 GMT": time.Minute,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// Every event kind the bot writes has a label in both languages, so a new
// kind cannot show up in a thread as its raw name.

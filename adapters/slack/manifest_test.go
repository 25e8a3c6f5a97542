package slack

import (
	_ "embed"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

//go:embed manifest.yaml
var manifest []byte

// The manifest a user pastes must point Slack at the routes Hotline serves
// and ask for the events the handler reads.
func TestManifestMatchesTheRoutes(t *testing.T) {
	var m struct {
		Features struct {
			SlashCommands []struct{ Command, URL string } `yaml:"slash_commands"`
		}
		OAuth struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				RequestURL string   `yaml:"request_url"`
				BotEvents  []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			}
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(manifest)))
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	h, err := NewInbound(InboundConfig{SigningSecret: "s", Incidents: &inbIncidents{}, Threads: &inbThreads{}, Dedup: &inbDedup{}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/incident" {
		t.Fatalf("slash commands %+v", m.Features.SlashCommands)
	}
	for _, raw := range []string{m.Features.SlashCommands[0].URL, m.Settings.Events.RequestURL, m.Settings.Interactivity.RequestURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" {
			t.Errorf("%q is not an https URL", raw)
			continue
		}
		req, _ := http.NewRequest("POST", u.Path, nil)
		if _, pattern := mux.Handler(req); pattern == "" {
			t.Errorf("the manifest points Slack at %s, which Hotline does not serve", u.Path)
		}
	}
	if !m.Settings.Interactivity.Enabled {
		t.Errorf("interactivity is off: the buttons would do nothing")
	}
	for _, want := range []string{"reaction_added", "app_mention"} {
		if !slices.Contains(m.Settings.Events.BotEvents, want) {
			t.Errorf("bot events %v lack %s", m.Settings.Events.BotEvents, want)
		}
	}
	// channels:history and groups:history: a retried sync looks for the
	// root it may have posted already (FindIncident).
	for _, want := range []string{"chat:write", "commands", "reactions:read", "app_mentions:read", "channels:history", "groups:history"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, want) {
			t.Errorf("bot scopes %v lack %s", m.OAuth.Scopes.Bot, want)
		}
	}
}

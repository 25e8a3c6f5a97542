package charts

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// readmeBlocks returns the chart README's values examples by the file name
// on their first line ("# production.yaml"), and its kubectl create secret
// commands.
func readmeBlocks(t *testing.T) (values map[string]string, secretCmds []string) {
	t.Helper()
	b, err := os.ReadFile(chartDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	values = map[string]string{}
	for _, m := range readmeFence.FindAllStringSubmatch(string(b), -1) {
		lang, body := m[1], m[2]
		switch {
		case lang == "yaml" && strings.HasPrefix(body, "# "):
			name, _, _ := strings.Cut(strings.TrimPrefix(body, "# "), "\n")
			values[name] = body
		case lang == "sh" && strings.Contains(body, "create secret generic"):
			secretCmds = append(secretCmds, body)
		}
	}
	return values, secretCmds
}

var (
	readmeFence   = regexp.MustCompile("(?ms)^```(\\w+)\n(.*?)^```$")
	fromLiteral   = regexp.MustCompile(`--from-literal=([A-Za-z_][A-Za-z0-9_]*)=`)
	existingNamed = regexp.MustCompile(`create secret generic ([a-z0-9-]+)`)
)

// The chart README's install examples, as a newcomer copies them: each
// values file renders, decodes strictly into the Kubernetes types, and its
// hotline.yaml passes Hotline's own check with the environment the example
// gives it: the chart's Secret from secrets:, or the Secret the README's
// kubectl create secret makes.
func TestChartREADMEExamples(t *testing.T) {
	values, secretCmds := readmeBlocks(t)
	if got := slices.Sorted(maps.Keys(values)); !slices.Equal(got, []string{"hotline-values.yaml", "production.yaml"}) {
		t.Fatalf("README values examples = %v, want hotline-values.yaml and production.yaml", got)
	}
	if len(secretCmds) != 1 {
		t.Fatalf("README has %d kubectl create secret examples, want 1", len(secretCmds))
	}

	t.Run("hotline-values.yaml", func(t *testing.T) {
		r := mustRender(t, valuesYAML(t, values["hotline-values.yaml"]))
		secret := only[corev1.Secret](t, r, "Secret")
		env := map[string]string{}
		for k, v := range secret.Data {
			env[k] = string(v)
		}
		cfg := hotlineConfig(t, r)
		if cfg.path("chat", "slack", "app_token") != "${SLACK_APP_TOKEN}" {
			t.Errorf("the Slack example's config: %v", cfg.path("chat", "slack"))
		}
		mustPassConfigCheck(t, cfg.text, env)
	})

	t.Run("production.yaml", func(t *testing.T) {
		vals := valuesYAML(t, values["production.yaml"])
		r := mustRender(t, vals)
		if _, ok := r.objects["Secret"]; ok {
			t.Errorf("with existingSecret the chart renders a Secret of its own")
		}
		name := existingNamed.FindStringSubmatch(secretCmds[0])
		if name == nil || vals["existingSecret"] != name[1] {
			t.Fatalf("existingSecret %v is not the Secret the README creates (%v)", vals["existingSecret"], name)
		}
		env := map[string]string{}
		for _, m := range fromLiteral.FindAllStringSubmatch(secretCmds[0], -1) {
			env[m[1]] = "value-of-" + m[1]
		}
		env["TWILIO_ACCOUNT_SID"] = "AC0123456789abcdef0123456789abcdef"
		env["DATABASE_URL"] = "postgres://hotline:pw@postgres.db.svc:5432/hotline?sslmode=require"
		cfg := hotlineConfig(t, r)
		for _, ref := range cfg.envRefs() {
			if _, ok := env[ref]; !ok {
				t.Errorf("production.yaml uses ${%s}, which the README's Secret does not hold", ref)
			}
		}
		mustPassConfigCheck(t, cfg.text, env)
		for _, kind := range []string{"Deployment", "Ingress", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule"} {
			if len(r.objects[kind]) != 1 {
				t.Errorf("production.yaml renders %d %s, want 1", len(r.objects[kind]), kind)
			}
		}
	})
}

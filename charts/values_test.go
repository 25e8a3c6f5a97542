package charts

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Values the chart must refuse, each with what the message has to say.
// Schema refusals come from chartutil.ToRenderValues, as in `helm install`;
// the others from a `fail` in a template.
func TestRefusedValues(t *testing.T) {
	for _, tc := range []struct {
		name, values string
		want         []string
	}{
		{
			name:   "several replicas on SQLite",
			values: "replicaCount: 3",
			want:   []string{"replicaCount is 3 but the database is SQLite", "sqlite:///var/lib/hotline/hotline.db", "use PostgreSQL"},
		},
		{
			name:   "several replicas on Hotline's default database",
			values: "replicaCount: 2\nconfig: {database: {url: \"\"}}",
			want:   []string{"replicaCount is 2 but the database is SQLite (config.database.url is empty)"},
		},
		{
			name:   "replicaCount of the wrong type",
			values: "replicaCount: three",
			want:   []string{"values don't meet the specifications of the schema", "replicaCount", "integer"},
		},
		{
			name:   "unknown top-level value",
			values: "replicas: 3",
			want:   []string{"values don't meet the specifications of the schema", "additional properties 'replicas' not allowed"},
		},
		{
			name:   "unknown key at the top of config",
			values: "config: {intergrations: []}",
			want:   []string{"values don't meet the specifications of the schema", "'intergrations'"},
		},
		{
			name:   "unquoted Discord id",
			values: "config: {chat: {discord: {bot_token: x, application_id: 123456789012345678}}}",
			want:   []string{"application_id", "string"},
		},
		{
			name:   "unknown image pull policy",
			values: "image: {pullPolicy: Sometimes}",
			want:   []string{"pullPolicy"},
		},
		{
			name:   "secret value that is not a string",
			values: "secrets: {PGPORT: 5432}",
			want:   []string{"PGPORT", "string"},
		},
		{
			name:   "SQLite file outside the data volume",
			values: "config: {database: {url: \"sqlite:///data/hotline.db\"}}",
			want:   []string{`the SQLite file "/data/hotline.db" must be under /var/lib/hotline/`},
		},
		{
			name: "grace period shorter than a ring timeout",
			values: `
terminationGracePeriodSeconds: 60
config:
  contacts: [{id: a, phone: "+819011112222"}]
  policies: [{id: p, steps: [{call: [a], ring_timeout: 30s}, {call: [a], ring_timeout: 1m30s}]}]
`,
			want: []string{"terminationGracePeriodSeconds (60) must be longer than config.policies[0].steps[1].ring_timeout (1m30s)"},
		},
		{
			name:   "listen address the chart cannot take a port from",
			values: "config: {http: {listen: \"${LISTEN}\"}}",
			want:   []string{"config.http.listen", "literal host:port"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := renderError(t, valuesYAML(t, tc.values))
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

// Values the chart takes, and what they change.
func TestAcceptedValues(t *testing.T) {
	t.Run("http.listen defaults to :8080", func(t *testing.T) {
		r := mustRender(t, valuesYAML(t, "config: {http: {listen: null}}"))
		if got := hotlineConfig(t, r).path("http", "listen"); got != ":8080" {
			t.Errorf("http.listen = %v, want :8080", got)
		}
	})
	t.Run("listen port follows config", func(t *testing.T) {
		r := mustRender(t, valuesYAML(t, "config: {http: {listen: \"0.0.0.0:9090\"}}"))
		c := only[appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0]
		if c.Ports[0].ContainerPort != 9090 {
			t.Errorf("container port = %d, want 9090", c.Ports[0].ContainerPort)
		}
	})
	t.Run("grace period longer than every ring timeout", func(t *testing.T) {
		r := mustRender(t, valuesYAML(t, `
terminationGracePeriodSeconds: 120
config:
  contacts: [{id: a, phone: "+819011112222"}]
  policies: [{id: p, ack_timeout: 0, steps: [{call: [a], ring_timeout: 1m30s}]}]
`))
		if g := *only[appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.TerminationGracePeriodSeconds; g != 120 {
			t.Errorf("terminationGracePeriodSeconds = %d", g)
		}
	})
	t.Run("secret values given, generated or kept", func(t *testing.T) {
		r := mustRender(t, valuesYAML(t, "secrets: {GENERIC_TOKEN: chosen, SLACK_BOT_TOKEN: xoxb-1}"))
		s := only[corev1.Secret](t, r, "Secret")
		if string(s.Data["GENERIC_TOKEN"]) != "chosen" || string(s.Data["SLACK_BOT_TOKEN"]) != "xoxb-1" || len(s.Data["HOTLINE_API_TOKEN"]) != 32 {
			t.Errorf("secret data = %q", s.Data)
		}
	})
	t.Run("SQLite without persistence", func(t *testing.T) {
		r := mustRender(t, valuesYAML(t, "persistence: {enabled: false}"))
		if _, ok := r.objects["PersistentVolumeClaim"]; ok {
			t.Error("a claim was rendered with persistence disabled")
		}
		if !strings.Contains(r.notes, "EVERY INCIDENT IS LOST") {
			t.Errorf("NOTES.txt does not warn that the data is not kept:\n%s", r.notes)
		}
	})
	t.Run("existing claim", func(t *testing.T) {
		r := mustRender(t, valuesYAML(t, "persistence: {existingClaim: hotline-db}"))
		if _, ok := r.objects["PersistentVolumeClaim"]; ok {
			t.Error("a claim was rendered next to existingClaim")
		}
		d := only[appsv1.Deployment](t, r, "Deployment")
		if v := volume(t, d, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "hotline-db" {
			t.Errorf("data volume = %+v", v.VolumeSource)
		}
	})
	t.Run("PDB with minAvailable", func(t *testing.T) {
		vals := readValues(t, productionFile)
		vals["podDisruptionBudget"] = map[string]any{"minAvailable": "50%"}
		r := mustRender(t, vals)
		pdb := r.objects["PodDisruptionBudget"]
		if len(pdb) != 1 {
			t.Fatalf("%d PDBs", len(pdb))
		}
	})
	t.Run("no PDB for one replica on PostgreSQL", func(t *testing.T) {
		vals := readValues(t, productionFile)
		vals["replicaCount"] = 1
		if r := mustRender(t, vals); len(r.objects["PodDisruptionBudget"]) != 0 {
			t.Error("a PDB was rendered for a single replica: it would block every node drain")
		}
	})
}

// The schema's config keys are Hotline's: the top level of config refuses
// unknown keys, so a key added to the Config struct must be added to
// values.schema.json too (and the reverse).
func TestSchemaConfigKeysMatchHotline(t *testing.T) {
	data, err := os.ReadFile(chartDir + "/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		AdditionalProperties json.RawMessage `json:"additionalProperties"`
		Properties           map[string]struct {
			AdditionalProperties json.RawMessage            `json:"additionalProperties"`
			Properties           map[string]json.RawMessage `json:"properties"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	if string(schema.AdditionalProperties) != "false" {
		t.Error("the schema's top level allows unknown values")
	}
	config := schema.Properties["config"]
	if string(config.AdditionalProperties) != "false" {
		t.Error("the schema's config allows unknown keys")
	}
	var inSchema []string
	for k := range config.Properties {
		inSchema = append(inSchema, k)
	}
	slices.Sort(inSchema)
	inHotline := hotlineConfigKeys(t)
	if !slices.Equal(inSchema, inHotline) {
		t.Errorf("config keys in values.schema.json = %v\nin cmd/hotline's Config = %v", inSchema, inHotline)
	}
}

// hotlineConfigKeys reads the yaml tags of cmd/hotline's Config struct.
func hotlineConfigKeys(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../cmd/hotline/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != "Config" {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, field := range st.Fields.List {
				if field.Tag == nil {
					continue
				}
				tag, _ := strconv.Unquote(field.Tag.Value)
				name, _, _ := strings.Cut(reflect.StructTag(tag).Get("yaml"), ",")
				if name != "" && name != "-" {
					keys = append(keys, name)
				}
			}
			return false
		})
	}
	if len(keys) == 0 {
		t.Fatal("no Config struct with yaml tags in cmd/hotline")
	}
	slices.Sort(keys)
	return keys
}

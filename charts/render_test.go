package charts

import (
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
)

const (
	chartDir       = "hotline"
	releaseName    = "oncall"
	releaseNS      = "ops"
	productionFile = "testdata/production.yaml"
)

// kubeVersion is the cluster the chart is rendered and linted for. Helm's
// Go packages default to 1.20, older than the chart's kubeVersion.
var kubeVersion = chartutil.KubeVersion{Version: "v1.30.0", Major: "1", Minor: "30"}

// originalEnv is the environment before TestMain pointed the HTTP proxies at
// a closed port, for the `go build` that may need the module proxy.
var originalEnv []string

func TestMain(m *testing.M) {
	originalEnv = os.Environ()
	// Nothing here may reach the network: any HTTP request Helm's packages
	// would make (a remote $ref in the schema, say) goes to a closed port on
	// loopback and fails.
	for _, name := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		os.Setenv(name, "http://127.0.0.1:1")
	}
	for _, name := range []string{"NO_PROXY", "no_proxy"} {
		os.Unsetenv(name)
	}
	code := m.Run()
	removeHotlineBinary()
	os.Exit(code)
}

// rendered is one render of the chart: every object decoded into its type.
type rendered struct {
	notes   string
	objects map[string][]any // by kind, in template order
}

// kindsRendered lists the kinds, sorted.
func (r *rendered) kindsRendered() []string {
	return slices.Sorted(maps.Keys(r.objects))
}

// only returns the single object of type T; there must be exactly one.
func only[T any](t *testing.T, r *rendered, kind string) *T {
	t.Helper()
	objs := r.objects[kind]
	if len(objs) != 1 {
		t.Fatalf("rendered %d %s objects, want 1 (kinds: %v)", len(objs), kind, r.kindsRendered())
	}
	obj, ok := objs[0].(*T)
	if !ok {
		t.Fatalf("%s decoded as %T", kind, objs[0])
	}
	return obj
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return ch
}

func readValues(t *testing.T, file string) map[string]any {
	t.Helper()
	vals, err := chartutil.ReadValuesFile(file)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return vals.AsMap()
}

// valuesYAML parses values written in the test.
func valuesYAML(t *testing.T, text string) map[string]any {
	t.Helper()
	vals, err := chartutil.ReadValues([]byte(text))
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	return vals.AsMap()
}

// renderChart does what `helm template` does with the values: merge them
// with the chart's, validate them against values.schema.json and render.
func renderChart(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	ch := loadChart(t)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = kubeVersion
	top, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: releaseName, Namespace: releaseNS, Revision: 1, IsInstall: true,
	}, caps)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, top)
}

// mustRender renders and decodes every object strictly (decodeManifest).
func mustRender(t *testing.T, vals map[string]any) *rendered {
	t.Helper()
	files, err := renderChart(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	r := &rendered{objects: map[string][]any{}}
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		content := files[name]
		if strings.HasSuffix(name, "NOTES.txt") {
			r.notes = content
			continue
		}
		if !strings.HasSuffix(name, ".yaml") {
			if strings.TrimSpace(content) != "" {
				t.Errorf("%s: a template that is not .yaml rendered something", name)
			}
			continue
		}
		docs := releaseutil.SplitManifests(content)
		keys := slices.Collect(maps.Keys(docs))
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, key := range keys {
			kind, obj, err := decodeManifest([]byte(docs[key]))
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, docs[key])
			}
			if obj != nil {
				r.objects[kind] = append(r.objects[kind], obj)
			}
		}
	}
	return r
}

// renderError renders values that must be refused and returns the error.
func renderError(t *testing.T, vals map[string]any) error {
	t.Helper()
	files, err := renderChart(t, vals)
	if err == nil {
		t.Fatalf("rendered without an error; Deployment:\n%s", files[chartDir+"/templates/deployment.yaml"])
	}
	return err
}

package charts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// manifestKinds are the objects the chart may render, each with the Go type
// it must decode into. Anything else is an error: a new kind needs a type
// here before the chart may render it.
var manifestKinds = map[string]func() any{
	"apps/v1 Deployment":                      func() any { return new(appsv1.Deployment) },
	"v1 Service":                              func() any { return new(corev1.Service) },
	"v1 ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"v1 Secret":                               func() any { return new(corev1.Secret) },
	"v1 PersistentVolumeClaim":                func() any { return new(corev1.PersistentVolumeClaim) },
	"networking.k8s.io/v1 Ingress":            func() any { return new(networkingv1.Ingress) },
	"policy/v1 PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"monitoring.coreos.com/v1 ServiceMonitor": func() any { return new(serviceMonitor) },
	"monitoring.coreos.com/v1 PrometheusRule": func() any { return new(prometheusRule) },
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// that the chart uses; decoding is strict, so a field outside it fails.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		JobLabel          string               `json:"jobLabel"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the Prometheus Operator's PrometheusRule: its spec is a
// Prometheus rule file.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ruleFile `json:"spec"`
}

// ruleFile is a Prometheus rule file (rule_files:), alerting rules only.
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// decodeManifest decodes one YAML document into the Go type of its kind, as
// strictly as the API server's strict field validation: an unknown field, a
// field in the wrong case or a duplicate key is an error, and so is a kind
// outside manifestKinds. It returns the kind and the object; a document with
// nothing in it returns "", nil, nil.
func decodeManifest(doc []byte) (kind string, obj any, err error) {
	data, err := yaml.YAMLToJSONStrict(doc) // strict: duplicate keys
	if err != nil {
		return "", nil, fmt.Errorf("not YAML: %w", err)
	}
	if s := string(bytes.TrimSpace(data)); s == "null" || s == "" {
		return "", nil, nil
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return "", nil, fmt.Errorf("not an object: %w", err)
	}
	newObject, ok := manifestKinds[tm.APIVersion+" "+tm.Kind]
	if !ok {
		return "", nil, fmt.Errorf("unknown kind %q (apiVersion %q): add its type to manifestKinds", tm.Kind, tm.APIVersion)
	}
	obj = newObject()
	if err := decodeStrict(doc, obj); err != nil {
		return "", nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return tm.Kind, obj, nil
}

// decodeStrict decodes one YAML document into obj, refusing unknown fields,
// fields in the wrong case and duplicate keys.
func decodeStrict(doc []byte, obj any) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one object in the document")
	}
	// encoding/json matches field names without regard to case; the API
	// server does not.
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return err
	}
	return exactFieldNames(generic, reflect.TypeOf(obj), "")
}

var jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// exactFieldNames checks that every key of v (decoded JSON) names a field of
// t by its exact JSON name. Types that decode themselves (Quantity,
// IntOrString, Time) are taken as they are.
func exactFieldNames(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // a type mismatch, which json.Decoder has reported
		}
		fields := jsonFields(t)
		for key, value := range m {
			ft, ok := fields[key]
			if !ok {
				return fmt.Errorf("unknown field %q (field names are case-sensitive)", joinPath(path, key))
			}
			if err := exactFieldNames(value, ft, joinPath(path, key)); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, _ := v.(map[string]any)
		for key, value := range m {
			if err := exactFieldNames(value, t.Elem(), joinPath(path, key)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		list, _ := v.([]any)
		for i, value := range list {
			if err := exactFieldNames(value, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of t's fields, those of embedded structs
// included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					fields[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// The decoder is what catches a template that renders a field Kubernetes
// does not have; each case here is a manifest a template could have
// rendered by mistake.
func TestDecodeManifestRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, manifest, want string
	}{
		{
			name: "typo in a field name",
			manifest: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: hotline}
spec:
  replica: 3
  selector: {matchLabels: {app: hotline}}
  template:
    metadata: {labels: {app: hotline}}
    spec:
      containers: [{name: hotline, image: ghcr.io/hotline-dev/hotline:0.1.0}]
`,
			want: `unknown field "replica"`,
		},
		{
			name: "field deep inside the pod spec",
			manifest: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: hotline}
spec:
  selector: {matchLabels: {app: hotline}}
  template:
    spec:
      containers:
        - name: hotline
          readinessProbe: {httpGet: {path: /readyz, port: http}, periodSecond: 10}
`,
			want: `periodSecond`,
		},
		{
			name:     "field in the wrong case",
			manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: hotline}\nspec:\n  Ports: [{name: http, port: 8080}]\n",
			want:     `unknown field "spec.Ports"`,
		},
		{
			name:     "duplicate key",
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hotline}\ndata: {a: x}\ndata: {b: y}\n",
			want:     `"data" already set`,
		},
		{
			name:     "unknown kind",
			manifest: "apiVersion: v1\nkind: Pod\nmetadata: {name: hotline}\n",
			want:     `unknown kind "Pod"`,
		},
		{
			name:     "known kind at another apiVersion",
			manifest: "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: hotline}\n",
			want:     `unknown kind "PodDisruptionBudget"`,
		},
		{
			name:     "ServiceMonitor field outside the local type",
			manifest: "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: hotline}\nspec:\n  endpoints: [{port: http, scheme: https}]\n",
			want:     `unknown field "scheme"`,
		},
		{
			name:     "PrometheusRule rule with a misspelt key",
			manifest: "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: hotline}\nspec:\n  groups: [{name: g, rules: [{alert: A, expr: up == 0, fro: 5m}]}]\n",
			want:     `unknown field "fro"`,
		},
		{
			name:     "wrong type",
			manifest: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hotline}\nspec: {replicas: three}\n",
			want:     `replicas`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeManifest([]byte(tc.manifest))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decodeManifest: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A correct manifest decodes, so the refusals above are about the mistakes.
func TestDecodeManifestAccepts(t *testing.T) {
	kind, obj, err := decodeManifest([]byte(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: hotline, labels: {app: hotline}}
spec:
  replicas: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: "25%"}}
  selector: {matchLabels: {app: hotline}}
  template:
    metadata: {labels: {app: hotline}}
    spec:
      containers:
        - name: hotline
          image: ghcr.io/hotline-dev/hotline:0.1.0
          resources: {requests: {cpu: 100m, memory: 128Mi}}
`))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := obj.(*appsv1.Deployment)
	if !ok || kind != "Deployment" || d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Fatalf("decoded %#v", obj)
	}
	if _, got, _ := decodeManifest([]byte("# only a comment\n")); got != nil {
		t.Fatalf("an empty document decoded to %#v", got)
	}
	if cpu := d.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String(); cpu != "100m" {
		t.Fatalf("cpu request = %s, want 100m", cpu)
	}
}

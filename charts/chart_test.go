package charts

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// productionSecret is what the existing Secret of testdata/production.yaml
// holds: the pod's environment.
var productionSecret = map[string]string{
	"DATABASE_URL":         "postgres://hotline:s3cret@postgres.db.svc:5432/hotline?sslmode=require",
	"HOTLINE_API_TOKEN":    "api-token",
	"SLACK_BOT_TOKEN":      "xoxb-1-2-3",
	"SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
	"DISCORD_BOT_TOKEN":    "discord-bot-token",
	"TWILIO_ACCOUNT_SID":   "AC00000000000000000000000000000000",
	"TWILIO_AUTH_TOKEN":    "twilio-auth-token",
	"IMAP_PASSWORD":        "imap-password",
	"SMTP_PASSWORD":        "smtp-password",
	"PROM_TOKEN":           "prom-token",
	"GRAFANA_TOKEN":        "grafana-token",
	"GENERIC_TOKEN":        "generic-token",
}

// TestLint runs what `helm lint --strict` runs: warnings fail too.
func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals map[string]any
	}{
		{"default values", nil},
		{"production values", readValues(t, productionFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			linter := lint.AllWithKubeVersion(chartDir, tc.vals, releaseNS, &kubeVersion)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

func TestDefaultValues(t *testing.T) {
	r := mustRender(t, nil)
	if got, want := r.kindsRendered(), []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Secret", "Service"}; !slices.Equal(got, want) {
		t.Fatalf("kinds = %v, want %v", got, want)
	}
	d := only[appsv1.Deployment](t, r, "Deployment")
	checkPod(t, d, r)
	if *d.Spec.Replicas != 1 {
		t.Errorf("replicas = %d, want 1", *d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy = %q, want Recreate on SQLite", d.Spec.Strategy.Type)
	}
	if g := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != 60 {
		t.Errorf("terminationGracePeriodSeconds = %d, want the documented default 60", g)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/hotline-dev/hotline:"+loadChart(t).Metadata.AppVersion {
		t.Errorf("image = %q, want the chart's appVersion as tag", img)
	}

	// SQLite lives on the claim, mounted at /var/lib/hotline.
	pvc := only[corev1.PersistentVolumeClaim](t, r, "PersistentVolumeClaim")
	if data := volume(t, d, "data"); data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != pvc.Name {
		t.Errorf("data volume = %+v, want the claim %s", data.VolumeSource, pvc.Name)
	}
	if size := pvc.Spec.Resources.Requests.Storage().String(); size != "1Gi" {
		t.Errorf("claim size = %s, want 1Gi", size)
	}

	cfg := hotlineConfig(t, r)
	if got := cfg.path("database", "url"); got != "sqlite:///var/lib/hotline/hotline.db" {
		t.Errorf("database.url = %v", got)
	}
	if got := cfg.path("http", "listen"); got != ":8080" {
		t.Errorf("http.listen = %v, want :8080", got)
	}

	svc := only[corev1.Service](t, r, "Service")
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("service ports = %+v, want only http 8080 (no mail.smtp)", svc.Spec.Ports)
	}

	// The generated Secret holds every ${VAR} the config needs, with
	// generated values, and the config passes Hotline's own check with it.
	secret := only[corev1.Secret](t, r, "Secret")
	env := map[string]string{}
	for k, v := range secret.Data {
		env[k] = string(v)
		if len(v) != 32 {
			t.Errorf("generated %s is %d characters, want 32", k, len(v))
		}
	}
	for _, name := range cfg.envRefs() {
		if _, ok := env[name]; !ok {
			t.Errorf("hotline.yaml uses ${%s}, which the Secret does not hold", name)
		}
	}
	mustPassConfigCheck(t, cfg.text, env)

	// NOTES.txt shows how to send a test alert to the generic integration.
	for _, want := range []string{
		"curl -X POST \"$URL/v1/integrations/generic/alerts\"",
		"get secret oncall-hotline -o jsonpath='{.data.GENERIC_TOKEN}' | base64 -d",
		"port-forward service/oncall-hotline 8080:8080",
		`-H "Authorization: Bearer $TOKEN"`,
	} {
		if !strings.Contains(r.notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, r.notes)
		}
	}
}

// Without the Secret's values the check fails: it is a real check.
func TestConfigCheckNamesMissingEnvironment(t *testing.T) {
	cfg := hotlineConfig(t, mustRender(t, nil))
	out, err := configCheck(t, cfg.text, map[string]string{"HOTLINE_API_TOKEN": "x"})
	if err == nil || !strings.Contains(out, "GENERIC_TOKEN") {
		t.Fatalf("config check without GENERIC_TOKEN: err = %v, output:\n%s", err, out)
	}
}

func TestProductionValues(t *testing.T) {
	vals := readValues(t, productionFile)
	r := mustRender(t, vals)
	want := []string{"ConfigMap", "Deployment", "Ingress", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceMonitor"}
	if got := r.kindsRendered(); !slices.Equal(got, want) {
		t.Fatalf("kinds = %v, want %v (no Secret with existingSecret, no claim on PostgreSQL)", got, want)
	}
	d := only[appsv1.Deployment](t, r, "Deployment")
	checkPod(t, d, r)
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %d, want 3", *d.Spec.Replicas)
	}
	if s := d.Spec.Strategy; s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxUnavailable.String() != "0" || s.RollingUpdate.MaxSurge.String() != "1" {
		t.Errorf("strategy = %+v, want RollingUpdate maxSurge 1 maxUnavailable 0", s)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/hotline-dev/hotline:0.1.0" {
		t.Errorf("image = %q", img)
	}
	if data := volume(t, d, "data"); data.EmptyDir == nil {
		t.Errorf("data volume = %+v, want an emptyDir on PostgreSQL", data.VolumeSource)
	}
	podLabels := labels.Set(d.Spec.Template.Labels)

	// The environment comes from the existing Secret.
	if from := d.Spec.Template.Spec.Containers[0].EnvFrom; len(from) == 0 || from[0].SecretRef == nil || from[0].SecretRef.Name != "hotline-secrets" {
		t.Errorf("envFrom = %+v, want the existing Secret hotline-secrets", from)
	}

	pdb := only[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget")
	if sel := mustSelector(t, pdb.Spec.Selector.MatchLabels); !sel.Matches(podLabels) {
		t.Errorf("PDB selector %v does not select the pods %v", sel, podLabels)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB = %+v, want maxUnavailable 1", pdb.Spec)
	}

	// HTTP and SMTP (mail.smtp is configured), both to named container ports.
	svc := only[corev1.Service](t, r, "Service")
	ports := map[string]corev1.ServicePort{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = p
	}
	if p := ports["http"]; p.Port != 8080 || p.TargetPort != intstr.FromString("http") {
		t.Errorf("http port = %+v", p)
	}
	if p := ports["smtp"]; p.Port != 2525 || p.TargetPort != intstr.FromString("smtp") {
		t.Errorf("smtp port = %+v, want 2525 → smtp", p)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("service type = %q", svc.Spec.Type)
	}
	if sel := mustSelector(t, svc.Spec.Selector); !sel.Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", sel, podLabels)
	}

	ing := only[networkingv1.Ingress](t, r, "Ingress")
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingressClassName = %v", ing.Spec.IngressClassName)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "hotline.example.com" || ing.Spec.Rules[0].HTTP == nil {
		t.Fatalf("ingress rules = %+v", ing.Spec.Rules)
	}
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		if p.Path != "/v1" || *p.PathType != networkingv1.PathTypePrefix || p.Backend.Service == nil ||
			p.Backend.Service.Name != svc.Name || p.Backend.Service.Port.Name != "http" {
			t.Errorf("ingress path = %+v, want /v1 (Prefix) to %s:http", p, svc.Name)
		}
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "hotline-tls" {
		t.Errorf("ingress tls = %+v", ing.Spec.TLS)
	}

	sm := only[serviceMonitor](t, r, "ServiceMonitor")
	if sel := mustSelector(t, sm.Spec.Selector.MatchLabels); !sel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service %v", sel, svc.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints = %+v", sm.Spec.Endpoints)
	}
	// The rules select job="hotline": the job label is the Service's name label.
	if job := svc.Labels[sm.Spec.JobLabel]; job != "hotline" {
		t.Errorf("scrape job would be %q (jobLabel %q), the rules want hotline", job, sm.Spec.JobLabel)
	}
	if sm.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels = %v, want serviceMonitor.labels", sm.Labels)
	}

	pr := only[prometheusRule](t, r, "PrometheusRule")
	if plain, _ := readRuleFile(t); !jsonEqual(t, pr.Spec, plain) {
		t.Errorf("PrometheusRule spec differs from files/prometheus-rules.yaml")
	}

	cfg := hotlineConfig(t, r)
	if got := cfg.path("database", "url"); got != "${DATABASE_URL}" {
		t.Errorf("database.url = %v", got)
	}
	for _, name := range cfg.envRefs() {
		if _, ok := productionSecret[name]; !ok {
			t.Errorf("hotline.yaml uses ${%s}, which the production Secret does not hold", name)
		}
	}
	mustPassConfigCheck(t, cfg.text, productionSecret)

	// The config block is passed through as written.
	written, _ := json.Marshal(vals["config"])
	var want2 any
	json.Unmarshal(written, &want2)
	if !jsonEqual(t, cfg.tree, want2) {
		t.Errorf("hotline.yaml differs from the config block in values:\n%s", cfg.text)
	}
	if !strings.Contains(r.notes, "URL=https://hotline.example.com") {
		t.Errorf("NOTES.txt does not use the Ingress:\n%s", r.notes)
	}
}

// checkPod checks what every render's pod must have: probes, the security
// context, the volumes, the config file and the environment.
func checkPod(t *testing.T, d *appsv1.Deployment, r *rendered) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if got := strings.Join(append(slices.Clone(c.Command), c.Args...), " "); got != "hotline serve --config /etc/hotline/hotline.yaml" {
		t.Errorf("container runs %q", got)
	}
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		want := "/readyz"
		if name == "liveness" {
			want = "/healthz"
		}
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe = %+v, want GET %s on port http", name, p, want)
		}
	}
	if len(c.Ports) == 0 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("container ports = %+v, want http 8080 first", c.Ports)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("pod securityContext = %+v, want runAsNonRoot", pod.SecurityContext)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext = %+v, want non-root, read-only root filesystem, no escalation, no capabilities", sc)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 60 {
		t.Errorf("terminationGracePeriodSeconds = %s, want ≥ 60 (longer than a ring timeout)", describeInt64(g))
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("a service account token is mounted; Hotline needs none")
	}
	if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
		t.Errorf("no memory request: %+v", c.Resources)
	}

	// Writable: /tmp and /var/lib/hotline; the config is read-only.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m := mounts["/tmp"]; m.Name == "" || volume(t, d, m.Name).EmptyDir == nil {
		t.Errorf("/tmp is not an emptyDir: %+v", m)
	}
	if m := mounts["/var/lib/hotline"]; m.Name != "data" || m.ReadOnly {
		t.Errorf("/var/lib/hotline mount = %+v, want the data volume", m)
	}
	cm := only[corev1.ConfigMap](t, r, "ConfigMap")
	if m := mounts["/etc/hotline"]; !m.ReadOnly || volume(t, d, m.Name).ConfigMap == nil || volume(t, d, m.Name).ConfigMap.Name != cm.Name {
		t.Errorf("/etc/hotline mount = %+v, want the ConfigMap %s read-only", m, cm.Name)
	}

	// The pod's environment is the Secret: the rendered one, or existingSecret.
	var secretName string
	if s := r.objects["Secret"]; len(s) == 1 {
		secretName = s[0].(*corev1.Secret).Name
	}
	if secretName != "" && (len(c.EnvFrom) == 0 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != secretName) {
		t.Errorf("envFrom = %+v, want the Secret %s", c.EnvFrom, secretName)
	}
	if d.Spec.Template.Annotations["checksum/config"] == "" {
		t.Errorf("no checksum/config annotation: a config change would not roll the pods")
	}
	if sel := mustSelector(t, d.Spec.Selector.MatchLabels); !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Deployment selector does not select its own pods")
	}
}

func describeInt64(p *int64) string {
	if p == nil {
		return "unset"
	}
	return strconv.FormatInt(*p, 10)
}

func volume(t *testing.T, d *appsv1.Deployment, name string) corev1.Volume {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %q", name)
	return corev1.Volume{}
}

func mustSelector(t *testing.T, m map[string]string) labels.Selector {
	t.Helper()
	if len(m) == 0 {
		t.Fatal("empty selector: it would select everything")
	}
	return labels.SelectorFromSet(m)
}

// renderedConfig is the hotline.yaml of the ConfigMap.
type renderedConfig struct {
	text string
	tree any
}

func hotlineConfig(t *testing.T, r *rendered) renderedConfig {
	t.Helper()
	cm := only[corev1.ConfigMap](t, r, "ConfigMap")
	text, ok := cm.Data["hotline.yaml"]
	if !ok || len(cm.Data) != 1 {
		t.Fatalf("ConfigMap data keys: want only hotline.yaml, got %v", cm.Data)
	}
	var tree any
	if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
		t.Fatalf("hotline.yaml: %v", err)
	}
	// Normalise through JSON so it compares with values.
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &tree)
	return renderedConfig{text: text, tree: tree}
}

func (c renderedConfig) path(keys ...string) any {
	v := c.tree
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

var envRefPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// envRefs lists the ${VARS} the config needs (not those with a :-default).
func (c renderedConfig) envRefs() []string {
	var names []string
	for _, m := range envRefPattern.FindAllStringSubmatch(c.text, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

// readRuleFile returns the chart's rule file decoded, and as read.
func readRuleFile(t *testing.T) (ruleFile, []byte) {
	t.Helper()
	data, err := os.ReadFile(chartDir + "/files/prometheus-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := decodeStrict(data, &rf); err != nil {
		t.Fatalf("files/prometheus-rules.yaml: %v", err)
	}
	return rf, data
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var va, vb any
	json.Unmarshal(ja, &va)
	json.Unmarshal(jb, &vb)
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return string(ca) == string(cb)
}

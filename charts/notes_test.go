package charts

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// A newcomer's first install, short of a cluster: Hotline runs as the
// rendered Deployment runs it (its args, the rendered hotline.yaml, the
// generated Secret as its environment), and the test-alert commands that
// NOTES.txt prints, run as printed with kubectl answering from the rendered
// Secret, open an incident and resolve it.
func TestNotesTestAlertWorks(t *testing.T) {
	r := mustRender(t, nil)
	d := only[appsv1.Deployment](t, r, "Deployment")
	c := d.Spec.Template.Spec.Containers[0]
	secret := only[corev1.Secret](t, r, "Secret")
	cfg := hotlineConfig(t, r)

	// The pod's files: the config at the path its args name, the data on
	// the volume's mount path.
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	const mounted = "/var/lib/hotline"
	if mountPath(t, c, "data") != mounted {
		t.Fatalf("the data volume is not at %s", mounted)
	}
	configText := strings.ReplaceAll(cfg.text, mounted, data)
	configFile := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(configFile, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	args := strings.Join(c.Args, " ")
	if args != "serve --config /etc/hotline/hotline.yaml" {
		t.Fatalf("container args %q", args)
	}
	cmd := exec.Command(hotlineBinary(t), "serve", "--config", configFile, "--listen", "127.0.0.1:0")
	cmd.Dir = data
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range secret.Data {
		cmd.Env = append(cmd.Env, k+"="+string(v))
	}
	logs := logFile(t, dir)
	cmd.Stdout, cmd.Stderr = logs.File, logs.File
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := waitReady(t, logs)

	// kubectl as the notes use it: the Secret's values, and a port-forward
	// that the test's own listener stands in for.
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	var shim strings.Builder
	shim.WriteString("#!/usr/bin/env bash\ncase \"$*\" in\n")
	for k, v := range secret.Data {
		fmt.Fprintf(&shim, "  *'get secret %s -o jsonpath={.data.%s}'*) printf %%s %s ;;\n", secret.Name, k, base64.StdEncoding.EncodeToString(v))
	}
	shim.WriteString("  *'port-forward service/'*) ;;\n  *) echo \"kubectl shim: $*\" >&2; exit 1 ;;\nesac\n")
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(shim.String()), 0o755); err != nil {
		t.Fatal(err)
	}

	_, steps, ok := strings.Cut(r.notes, "Send a test alert")
	if !ok {
		t.Fatalf("NOTES.txt has no test alert:\n%s", r.notes)
	}
	var send, resolve []string
	part := &send
	for _, line := range strings.Split(steps, "\n") {
		switch {
		case strings.HasPrefix(line, "It opens an incident"):
			part = &resolve
		case strings.HasPrefix(line, "  "):
			*part = append(*part, strings.ReplaceAll(line, "http://127.0.0.1:8080", "http://"+addr))
		}
	}
	setup := send[:len(send)-3] // TOKEN=…, the port-forward, URL=…
	run := func(what string, lines []string) string {
		t.Helper()
		script := strings.Join(append(append([]string{}, setup...), lines...), "\n")
		sh := exec.Command("bash", "-euo", "pipefail", "-c", script)
		sh.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
		var stderr strings.Builder
		sh.Stderr = &stderr
		out, err := sh.Output()
		if err != nil {
			t.Fatalf("%s:\n%s\n%v: %s\nhotline:\n%s", what, script, err, stderr.String(), logs)
		}
		return string(out)
	}
	if out := run("the test alert", send[len(send)-3:]); !strings.Contains(out, `"incident":"INC-1","action":"opened"`) {
		t.Errorf("the test alert answered %s, want INC-1 opened", out)
	}
	if out := run("its resolve", resolve); !strings.Contains(out, `"incident":"INC-1","action":"resolved"`) {
		t.Errorf("the resolve answered %s, want INC-1 resolved", out)
	}
	if _, err := os.Stat(filepath.Join(data, "hotline.db")); err != nil {
		t.Errorf("the SQLite database is not on the data volume: %v", err)
	}
}

func mountPath(t *testing.T, c corev1.Container, volume string) string {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	t.Fatalf("container %s mounts no %s volume", c.Name, volume)
	return ""
}

// processLog is the file a process writes its output to, read back on
// failure.
type processLog struct{ *os.File }

func logFile(t *testing.T, dir string) processLog {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "hotline.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return processLog{f}
}

func (l processLog) String() string {
	b, _ := os.ReadFile(l.Name())
	return string(b)
}

// waitReady reads the address Hotline listens on from its log and waits for
// /readyz, as the Deployment's readiness probe does.
func waitReady(t *testing.T, logs processLog) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		m := readyLine.FindStringSubmatch(logs.String())
		if m == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if resp, err := http.Get("http://" + m[1] + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("hotline not ready in 30 s:\n%s", logs)
	return ""
}

var readyLine = regexp.MustCompile(`"msg":"hotline ready","listen":"([^"]+)"`)

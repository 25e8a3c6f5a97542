package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the hotline binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hotline-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hotline")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hotline:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running `hotline serve`.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string // host:port
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs the binary in dir with args and waits until it is ready.
func startServe(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	return startServeAt(t, freeAddr(t), dir, env, args...)
}

// startServeAt is startServe on a chosen address (one a config names).
func startServeAt(t *testing.T, addr, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &proc{t: t, cmd: cmd, addr: addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("hotline stdout:\n%s\nhotline stderr:\n%s", p.stdout, p.stderr)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("hotline exited during start-up: %v\n%s", p.err, p.stderr)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("hotline not ready after 30s:\n%s", p.stderr)
	return nil
}

func (p *proc) url(path string) string { return "http://" + p.addr + path }

// kill9 ends the process the hard way: no shutdown code runs.
func (p *proc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatal("hotline did not stop within 30s of SIGTERM")
	}
	if p.err != nil {
		p.t.Errorf("hotline exited with %v after SIGTERM", p.err)
	}
}

// do sends a request and decodes a JSON answer into out (if not nil).
func do(t *testing.T, method, url, token, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// writeConfig writes a config file for a database and returns its path.
func writeConfig(t *testing.T, dir, dbURL string) string {
	t.Helper()
	cfg := fmt.Sprintf(`database:
  url: %q
http:
  api_token: ${TEST_API_TOKEN}
locale: ja
services:
  - {id: web, name: Web shop, severity: sev3}
integrations:
  - {id: generic, kind: generic, service: web, token: "${TEST_GENERIC_TOKEN}"}
  - {id: prom, kind: alertmanager, service: web, token: prom-token}
  - {id: grafana, kind: grafana, service: web, token: grafana-token}
ingest:
  max_body_bytes: 65536
`, dbURL)
	path := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var testEnv = []string{"TEST_API_TOKEN=api-token", "TEST_GENERIC_TOKEN=generic-token"}

type incidentList struct {
	Incidents []struct {
		ID         int64  `json:"id"`
		Number     int64  `json:"number"`
		Title      string `json:"title"`
		Status     string `json:"status"`
		Severity   string `json:"severity"`
		AlertCount int    `json:"alert_count"`
	} `json:"incidents"`
}

func listIncidents(t *testing.T, p *proc, query string) incidentList {
	t.Helper()
	var out incidentList
	if code := do(t, "GET", p.url("/v1/incidents"+query), "api-token", "", &out); code != 200 {
		t.Fatalf("list incidents: %d", code)
	}
	return out
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

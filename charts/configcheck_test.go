package charts

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The rendered hotline.yaml is checked by Hotline itself: the real binary,
// built from this module, runs `hotline config check`, which refuses unknown
// keys and names every problem.
var hotlineBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func hotlineBinary(t *testing.T) string {
	t.Helper()
	hotlineBuild.once.Do(func() {
		hotlineBuild.dir, hotlineBuild.err = os.MkdirTemp("", "hotline-chart-test-")
		if hotlineBuild.err != nil {
			return
		}
		hotlineBuild.path = filepath.Join(hotlineBuild.dir, "hotline")
		goTool, err := exec.LookPath("go")
		if err != nil {
			hotlineBuild.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", hotlineBuild.path, "github.com/hotline-dev/hotline/cmd/hotline")
		cmd.Env = originalEnv
		hotlineBuild.out, hotlineBuild.err = cmd.CombinedOutput()
	})
	if hotlineBuild.err != nil {
		t.Fatalf("build hotline: %v\n%s", hotlineBuild.err, hotlineBuild.out)
	}
	return hotlineBuild.path
}

func removeHotlineBinary() {
	if hotlineBuild.dir != "" {
		os.RemoveAll(hotlineBuild.dir)
	}
}

// configCheck runs `hotline config check` on config with exactly env as the
// environment (and PATH), as the pod would: its environment is the Secret.
func configCheck(t *testing.T, config string, env map[string]string) (string, error) {
	t.Helper()
	bin := hotlineBinary(t)
	file := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "config", "check", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for name, value := range env {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	sort.Strings(cmd.Env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

func mustPassConfigCheck(t *testing.T, config string, env map[string]string) {
	t.Helper()
	out, err := configCheck(t, config, env)
	if err != nil {
		t.Fatalf("hotline config check: %v\n%s\n--- hotline.yaml:\n%s", err, out, config)
	}
	if !strings.Contains(out, ": OK (") {
		t.Fatalf("hotline config check said %q, want OK", out)
	}
	t.Log(out)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

func TestRunRefusesNonLoopbackURL(t *testing.T) {
	for _, u := range []string{
		"http://10.0.0.1:8080",
		"http://192.168.1.10",
		"http://example.com:8080",
		"http://127.0.0.1.nip.io:8080", // resolves to loopback, but names are not trusted
		"http://localhost.example.com",
		"http://[2001:db8::1]:8080",
		"http://0.0.0.0:8080",
		"ftp://127.0.0.1/",
		"127.0.0.1:8080", // no scheme
	} {
		t.Run(u, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-url", u, "-n", "1"}, noEnv, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), "-url") {
				t.Errorf("stderr does not say why: %q", stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestParseLoopbackURLAccepts(t *testing.T) {
	for _, u := range []string{
		"http://127.0.0.1:8080",
		"http://127.1.2.3",
		"https://localhost:8443/hotline",
		"http://LOCALHOST",
		"http://[::1]:8080",
		"http://[::ffff:127.0.0.1]:8080",
	} {
		if _, err := parseLoopbackURL(u); err != nil {
			t.Errorf("parseLoopbackURL(%q): %v", u, err)
		}
	}
}

func TestDialerRefusesNonLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080":   true,
		"[::1]:8080":       true,
		"10.0.0.1:8080":    false,
		"[2001:db8::1]:80": false,
		"not-an-address":   false,
	} {
		if err := loopbackOnly("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v, want allowed=%v", addr, err, ok)
		}
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "0"},
		{"-c", "-1"},
		{"-k", "0"},
		{"-severity", "sev9"},
		{"-duration", "-1s"},
		{"-bogus"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, noEnv, &stdout, &stderr); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (stderr %q)", args, code, stderr.String())
		}
	}
}

func TestRunReportsJSON(t *testing.T) {
	f := newFakeHotline(t)
	env := func(k string) string {
		if k == "HOTLINE_BENCH_TOKEN" {
			return testToken
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", f.srv.URL, "-n", "500", "-k", "10", "-c", "8", "-json"}, env, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}

	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode %q: %v", stdout.String(), err)
	}
	// The warm-up took the 503 of its own fingerprints; the timed run gets
	// one 503 per fingerprint of its own.
	if rep.WarmUp != 100 || rep.Sent != 500 || rep.Accepted != 490 || rep.Rejected[503] != 10 || rep.Errors != 0 {
		t.Errorf("warm-up %d sent %d accepted %d rejected %v errors %d; want 100, 500, 490, {503: 10}, 0",
			rep.WarmUp, rep.Sent, rep.Accepted, rep.Rejected, rep.Errors)
	}
	if rep.DistinctIncidents != 10 {
		t.Errorf("distinct incidents = %d, want 10", rep.DistinctIncidents)
	}
	if rep.AcceptedPerSecond <= 0 || rep.RequestLatency == nil || rep.RequestLatency.Max < rep.RequestLatency.P99 || rep.RequestLatency.P99 < rep.RequestLatency.P50 {
		t.Errorf("throughput %v, request latency %+v", rep.AcceptedPerSecond, rep.RequestLatency)
	}
	cl := rep.CommitLatency
	if cl == nil {
		t.Fatalf("no commit latency: %s", rep.CommitLatencyError)
	}
	// Only the timed run's commits, all at 3ms in the (1ms, 5ms] bucket.
	if cl.Observations != 490 || math.Abs(cl.P50-0.003) > 1e-9 || math.Abs(cl.P99-0.00496) > 1e-9 {
		t.Errorf("commit latency = %+v, want 490 observations, p50 0.003, p99 0.00496", *cl)
	}
	if rep.ServerReceived["accepted"] != 490 || rep.ServerReceived["unavailable"] != 10 {
		t.Errorf("server received = %v, want accepted 490, unavailable 10", rep.ServerReceived)
	}
}

func TestRunFailsWhenNothingAccepted(t *testing.T) {
	f := newFakeHotline(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", f.srv.URL, "-n", "50", "-token", "wrong"}, noEnv, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "401") {
		t.Errorf("stderr does not say why: %q", stderr.String())
	}
}

func TestRunText(t *testing.T) {
	f := newFakeHotline(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", f.srv.URL, "-n", "200", "-k", "5", "-c", "4", "-token", testToken}, noEnv, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"alerts sent", "accepted (202)", "195", "503: 5", "distinct incidents", "p99", "(hotline_ingest_commit_seconds, 195 commits)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)
}

// Command hotline-bench fires alerts over loopback HTTP at a running Hotline
// server and reports throughput, request latency and the server's own
// alert-to-job-enqueued latency. It refuses any server but this machine.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usageLine = "usage: hotline-bench [-url http://127.0.0.1:8080] [-integration generic] [-token T] [-n 20000] [-k 100] [-c 64] [-duration 2m] [-severity sev4] [-json]"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	base         *url.URL
	integration  string
	token        string
	total        int
	fingerprints int
	concurrency  int
	duration     time.Duration // 0: no cap
	severity     string
	jsonOut      bool
}

// errUsage marks a bad command line: exit status 2.
var errUsage = errors.New("usage")

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var (
		c       config
		rawURL  string
		fs      = flag.NewFlagSet("hotline-bench", flag.ContinueOnError)
		problem []string
	)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usageLine)
		fs.PrintDefaults()
	}
	fs.StringVar(&rawURL, "url", "http://127.0.0.1:8080", "Hotline server base `URL`; must be a loopback address")
	fs.StringVar(&c.integration, "integration", "generic", "integration `id` to post alerts to")
	fs.StringVar(&c.token, "token", "", "integration bearer `token` (default $HOTLINE_BENCH_TOKEN)")
	fs.IntVar(&c.total, "n", 20000, "total alerts in the timed run")
	fs.IntVar(&c.fingerprints, "k", 100, "distinct fingerprints, hence incidents opened")
	fs.IntVar(&c.concurrency, "c", 64, "concurrent senders")
	fs.DurationVar(&c.duration, "duration", 2*time.Minute, "cap on run time, warm-up included; 0 for none")
	fs.StringVar(&c.severity, "severity", "sev4", "`severity` of every alert, sev1..sev4; low by default so a server wired to real phones does not page anyone")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage // the flag package has already said why
	}
	if fs.NArg() > 0 {
		problem = append(problem, fmt.Sprintf("unexpected arguments: %q", fs.Args()))
	}
	if c.token == "" {
		c.token = getenv("HOTLINE_BENCH_TOKEN")
	}
	if c.total < 1 {
		problem = append(problem, "-n: must be > 0")
	}
	if c.fingerprints < 1 {
		problem = append(problem, "-k: must be > 0")
	}
	if c.concurrency < 1 {
		problem = append(problem, "-c: must be > 0")
	}
	if c.duration < 0 {
		problem = append(problem, "-duration: must be >= 0")
	}
	if c.integration == "" {
		problem = append(problem, "-integration: must not be empty")
	}
	if !slices.Contains([]string{"sev1", "sev2", "sev3", "sev4"}, c.severity) {
		problem = append(problem, "-severity: must be one of sev1, sev2, sev3, sev4")
	}
	u, err := parseLoopbackURL(rawURL)
	if err != nil {
		problem = append(problem, "-url: "+err.Error())
	}
	c.base = u
	if len(problem) > 0 {
		for _, p := range problem {
			fmt.Fprintln(stderr, "hotline-bench:", p)
		}
		fmt.Fprintln(stderr, usageLine)
		return c, errUsage
	}
	return c, nil
}

// parseLoopbackURL accepts only http(s) URLs naming this machine: localhost
// or a literal loopback address. Other names are refused without resolving
// them, since a resolver can point anywhere; the dialer checks the address
// again (see loopbackOnly) in case localhost itself does.
func parseLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return u, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return nil, fmt.Errorf("%q: host %q is not a loopback address (127.0.0.0/8, ::1, localhost); hotline-bench only loads this machine", raw, host)
	}
	return u, nil
}

// loopbackOnly is a net.Dialer Control hook refusing every connection whose
// resolved address is not loopback.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("refusing to connect to non-loopback address %s", address)
	}
	return nil
}

// newClient returns the one client every request shares: keep-alive with an
// idle connection per sender, no proxy and no redirects, so nothing leaves
// this machine.
func newClient(concurrency int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}

	client := newClient(cfg.concurrency)
	defer client.CloseIdleConnections()
	base := strings.TrimRight(cfg.base.String(), "/")
	spec := loadSpec{
		alertsURL:    base + "/v1/integrations/" + url.PathEscape(cfg.integration) + "/alerts",
		token:        cfg.token,
		severity:     cfg.severity,
		fingerprints: cfg.fingerprints,
		concurrency:  cfg.concurrency,
	}
	if cfg.duration > 0 {
		spec.deadline = time.Now().Add(cfg.duration)
	}
	stamp := strconv.FormatInt(time.Now().UnixMilli(), 36)

	// Warm-up: open connections and let the server settle, uncounted.
	warm := spec
	warm.runID, warm.total = stamp+"-warmup", max(cfg.total/100, 100)
	warmRes, err := sendAlerts(ctx, client, warm)
	if err != nil {
		fmt.Fprintln(stderr, "hotline-bench:", err)
		return 1
	}
	if warmRes.Accepted == 0 {
		fmt.Fprintf(stderr, "hotline-bench: warm-up: no alert accepted out of %d sent (%s)\n", warmRes.Sent, describeFailures(warmRes))
		return 1
	}

	metricsURL := base + "/metrics"
	before, beforeErr := scrapeServer(ctx, client, metricsURL, cfg.integration)

	timed := spec
	timed.runID, timed.total = stamp, cfg.total
	res, err := sendAlerts(ctx, client, timed)
	if err != nil {
		fmt.Fprintln(stderr, "hotline-bench:", err)
		return 1
	}

	rep := newReport(cfg, warm.total, res)
	if beforeErr != nil {
		rep.CommitLatencyError = beforeErr.Error()
	} else {
		// Still report if the run was interrupted: the scrape gets its own
		// short deadline.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		rep.addServerCounts(before, scrapeAfter(sctx, client, metricsURL, cfg.integration, before, res.Accepted))
		cancel()
	}

	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "hotline-bench:", err)
			return 1
		}
	} else {
		rep.writeText(stdout)
	}
	if res.Accepted == 0 {
		fmt.Fprintf(stderr, "hotline-bench: no alert accepted (%s)\n", describeFailures(res))
		return 1
	}
	return 0
}

// Command hotline is the incident bot: `hotline serve` runs it; the other
// commands migrate the database, check a config file and verify the audit
// trail.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

const usage = `hotline — chat-ops incident bot with phone escalation

Usage:
  hotline serve [--config FILE] [--listen ADDR]
                                         run Hotline (no config: SQLite, console chat, dry-run phone)
  hotline demo [--locale en|ja]          the whole story in ~20 s: alert → chat → no ack → calls → press 1 → resolved
  hotline migrate [--config FILE]        apply database migrations and exit
  hotline config check FILE              validate a config file, naming every problem
  hotline audit verify [--config FILE]   check every incident's timeline hash chain
  hotline version                        print version, commit and build date

The config file may also be named by HOTLINE_CONFIG.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stdout, stderr)
	case "demo":
		err = demoCmd(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = migrateCmd(ctx, args[1:], stderr)
	case "config":
		if len(args) != 3 || args[1] != "check" {
			fmt.Fprint(stderr, "usage: hotline config check FILE\n")
			return 2
		}
		err = configCheckCmd(args[2], stdout)
	case "audit":
		if len(args) < 2 || args[1] != "verify" {
			fmt.Fprint(stderr, "usage: hotline audit verify [--config FILE]\n")
			return 2
		}
		err = auditVerifyCmd(ctx, args[2:], stdout)
	case "version", "--version":
		fmt.Fprintf(stdout, "hotline %s (commit %s, built %s)\n", version, commit, date)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "hotline: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(stderr, "hotline %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// configFlag parses --config (default $HOTLINE_CONFIG) for a subcommand.
func configFlag(name string, args []string) (string, error) {
	fs := flag.NewFlagSet("hotline "+name, flag.ContinueOnError)
	path := fs.String("config", os.Getenv("HOTLINE_CONFIG"), "config file (YAML)")
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	return *path, nil
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// loadConfig reads the named file, or returns the zero-setup config.
func loadConfig(path string) (cfg *Config, fromFile bool, err error) {
	if path == "" {
		return DefaultConfig(), false, nil
	}
	cfg, err = LoadConfig(path)
	return cfg, true, err
}

func configCheckCmd(path string, stdout io.Writer) error {
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: OK (%d services, %d integrations, %d contacts, %d policies)\n",
		path, len(cfg.Services), len(cfg.Integrations), len(cfg.Contacts), len(cfg.Policies))
	return nil
}

// openConfiguredStore is the start of the one-shot commands: read
// --config, open (and migrate) the database it names.
func openConfiguredStore(ctx context.Context, name string, args []string) (store, *Config, error) {
	path, err := configFlag(name, args)
	if err != nil {
		return nil, nil, err
	}
	cfg, _, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg.Database.URL, storeOptions{})
	return st, cfg, err
}

func migrateCmd(ctx context.Context, args []string, stderr io.Writer) error {
	st, cfg, err := openConfiguredStore(ctx, "migrate", args)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stderr, "database %s is up to date\n", redactURL(cfg.Database.URL))
	return nil
}

//go:build mailwip

package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/hotline-dev/hotline/adapters/mail"
	"github.com/hotline-dev/hotline/bot"
)

// runIMAP polls the alert mailbox on whichever replica holds its lease,
// while ctx lives; the channel closes when it has stopped.
func runIMAP(ctx context.Context, cfg *Config, intake *mail.Intake, st store, ttl time.Duration, log *slog.Logger) (<-chan struct{}, error) {
	done := make(chan struct{})
	ic := cfg.Mail.IMAP
	if ic == nil || intake == nil {
		close(done)
		return done, nil
	}
	p, err := mail.NewPoller(mail.IMAPConfig{Addr: ic.Addr, TLS: ic.TLS, Username: ic.Username, Password: ic.Password,
		Mailbox: ic.Mailbox, After: ic.After, Intake: intake, Dedup: st, Logger: log})
	if err != nil {
		return nil, err
	}
	go func() {
		defer close(done)
		bot.RunLeader(ctx, st, bot.LeaderConfig{Name: imapLease, Holder: workerName(), TTL: ttl, Logger: log,
			OnChange: func(leader bool) { log.Info("imap poller lease", "held", leader) }}, p.Run)
	}()
	return done, nil
}

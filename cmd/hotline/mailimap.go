package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/hotline-dev/hotline/adapters/mail"
	"github.com/hotline-dev/hotline/bot"
)

// imapPoller builds the alert mailbox's poller when mail.imap is
// configured; nil otherwise.
func imapPoller(cfg *Config, intake *mail.Intake, st store, log *slog.Logger) (*mail.Poller, error) {
	ic := cfg.Mail.IMAP
	if ic == nil || intake == nil {
		return nil, nil
	}
	return mail.NewPoller(mail.IMAPConfig{Addr: ic.Addr, TLS: ic.TLS, Username: ic.Username, Password: ic.Password,
		Mailbox: ic.Mailbox, After: ic.After, Intake: intake, Dedup: st, Logger: log})
}

// runIMAP polls the alert mailbox on whichever replica holds its lease,
// while ctx lives; the channel closes when it has stopped and the lease is
// released.
func runIMAP(ctx context.Context, p *mail.Poller, st store, ttl time.Duration, log *slog.Logger, metric func(string, bool)) <-chan struct{} {
	done := make(chan struct{})
	if p == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		bot.RunLeader(ctx, st, bot.LeaderConfig{Name: imapLease, Holder: workerName(), TTL: ttl, Logger: log,
			OnChange: func(leader bool) {
				metric(imapLease, leader)
				log.Info("imap poller lease", "held", leader)
			}}, p.Run)
	}()
	return done
}

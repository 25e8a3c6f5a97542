package main

import (
	"log/slog"

	"github.com/hotline-dev/hotline/adapters/mail"
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

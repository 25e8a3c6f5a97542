package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/hotline-dev/hotline/adapters/mail"
	"github.com/hotline-dev/hotline/bot"
)

// imapLease names the lease whose holder polls the alert mailbox.
const imapLease = "mail.imap"

// mailRules compiles an email integration's rules; none: the defaults.
func mailRules(in IntegrationConfig) (*mail.RuleSet, error) {
	var rules []mail.Rule
	for _, r := range in.Rules {
		rules = append(rules, mail.Rule{
			Match: mail.Match{Subject: r.Match.Subject, Body: r.Match.Body, From: r.Match.From,
				SubjectRegex: r.Match.SubjectRegex, BodyRegex: r.Match.BodyRegex, FromRegex: r.Match.FromRegex},
			Action: mail.Action(r.Action), Severity: r.Severity, Key: r.Key,
		})
	}
	return mail.CompileRules(rules)
}

// mailIntake turns the email integrations into the intake both the SMTP
// listener and the IMAP poller deliver to; nil when there are none.
func mailIntake(cfg *Config, b *bot.Bot, log *slog.Logger) (*mail.Intake, error) {
	var igs []mail.Integration
	for i, in := range cfg.Integrations {
		if in.Kind != "email" {
			continue
		}
		rs, err := mailRules(in)
		if err != nil {
			return nil, fmt.Errorf("integrations[%d].%w", i, err)
		}
		igs = append(igs, mail.Integration{ID: in.ID, Service: in.Service, Address: in.Address, Rules: rs})
	}
	if len(igs) == 0 {
		return nil, nil
	}
	return mail.NewIntake(mail.IntakeConfig{Integrations: igs, Ingest: b, Logger: log})
}

// startSMTP listens for alert mail when mail.smtp is configured; the
// returned stop shuts the listener down.
func startSMTP(cfg *Config, intake *mail.Intake, log *slog.Logger) (stop func(context.Context), err error) {
	sc := cfg.Mail.SMTP
	if sc == nil || intake == nil {
		return func(context.Context) {}, nil
	}
	c := mail.SMTPConfig{Domain: sc.Domain, MaxMessageBytes: sc.MaxBytes, Username: sc.Username, Password: sc.Password,
		Intake: intake, Logger: log}
	if sc.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(sc.TLSCert, sc.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("mail.smtp.tls_cert: %w", err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := mail.NewSMTPServer(c)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", sc.Listen)
	if err != nil {
		return nil, fmt.Errorf("mail.smtp.listen: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error("smtp listener stopped", "err", err)
		}
	}()
	log.Info("smtp listener ready", "listen", ln.Addr().String())
	return func(ctx context.Context) {
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("smtp shutdown", "err", err)
		}
	}, nil
}

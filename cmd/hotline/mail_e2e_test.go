package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"

	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
)

// alertMailbox is the email integration's address in the mail e2e tests;
// the sample mails under adapters/mail/testdata are addressed to it.
const alertMailbox = "ops@example.co.jp"

// mailSample reads one of the mail adapter's sample alert mails.
func mailSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "adapters", "mail", "testdata", "decode", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startMailServe runs serve with the SMTP listener on dbURL, and the IMAP
// poller of the mailbox at imapAddr unless it is "".
func startMailServe(t *testing.T, dir, dbURL, imapAddr string) (*proc, string) {
	t.Helper()
	smtpAddr := freeAddr(t)
	imap := ""
	if imapAddr != "" {
		imap = fmt.Sprintf("  imap: {addr: %q, username: alerts, password: pw, tls: none}\n", imapAddr)
	}
	cfg := fmt.Sprintf(`database:
  url: %q
http:
  api_token: api-token
mail:
  smtp: {listen: %q, domain: alerts.example.co.jp, max_bytes: 1048576}
%sservices:
  - {id: web, name: Web shop}
integrations:
  - {id: ops-mail, kind: email, service: web, address: %s}
`, dbURL, smtpAddr, imap, alertMailbox)
	path := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServe(t, dir, []string{"HOTLINE_LEADER_LEASE=2s"}, "--config", path), smtpAddr
}

func sendMail(addr, to string, raw []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail("monitor@example.co.jp", []string{to}, bytes.NewReader(raw))
}

func TestMailOverSMTPEndToEnd(t *testing.T) {
	stores(t, func(t *testing.T, dir, dbURL string) {
		p, smtpAddr := startMailServe(t, dir, dbURL, "")

		// Japanese appliance mail in three charsets, multipart with an
		// attachment, HTML only: each becomes an incident titled by its
		// decoded subject.
		for _, name := range []string{"zabbix_iso2022jp.eml", "storage_shiftjis_qp.eml", "mixed_attachments.eml", "html_only_japanese.eml"} {
			if err := sendMail(smtpAddr, alertMailbox, mailSample(t, name)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		list := listIncidents(t, p, "?status=all")
		titles := map[string]string{}
		for _, inc := range list.Incidents {
			titles[fmt.Sprintf("INC-%d", inc.Number)] = inc.Title
		}
		for ref, want := range map[string]string{"INC-1": "web01", "INC-2": "storage01 RAID", "INC-3": "日次ディスク使用量レポート", "INC-4": "db01 応答なし"} {
			if !strings.Contains(titles[ref], want) {
				t.Errorf("%s titled %q, want it to contain %q (all: %v)", ref, titles[ref], want, titles)
			}
		}

		// The recovery mail resolves the problem it recovers.
		if err := sendMail(smtpAddr, alertMailbox, mailSample(t, "zabbix_recovery_iso2022jp.eml")); err != nil {
			t.Fatal(err)
		}
		if got := getIncident(t, p, "INC-1"); got.Status != "resolved" {
			t.Errorf("INC-1 %s after the recovery mail, want resolved", got.Status)
		}

		// Not a relay; too big; nothing changes.
		var se *smtp.SMTPError
		if err := sendMail(smtpAddr, "someone@gmail.com", mailSample(t, "nagios_problem.eml")); !errors.As(err, &se) || se.Code != 550 {
			t.Errorf("mail to another address: %v, want 550", err)
		}
		c, err := smtp.Dial(smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Mail("monitor@example.co.jp", &smtp.MailOptions{Size: 10 << 20}); !errors.As(err, &se) || se.Code != 552 {
			t.Errorf("10 MB mail: %v, want 552", err)
		}
		c.Close()
		if n := len(listIncidents(t, p, "?status=all").Incidents); n != 4 {
			t.Errorf("%d incidents after refused mail, want 4", n)
		}
	})
}

// startMailbox runs an IMAP server on loopback (go-imap's in-memory one)
// with an INBOX for alerts/pw; it returns its address.
func startMailbox(t *testing.T) string {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("alerts", "pw")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true, // loopback only
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// appendMail puts a mail into the INBOX, as the mail system delivering to
// the alert mailbox does.
func appendMail(t *testing.T, addr string, raw []byte) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alerts", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// The alert mailbox is read by one of two replicas; after a restart
// nothing in it is taken twice, and the recovery mail resolves.
func TestMailFromIMAPEndToEnd(t *testing.T) {
	box := startMailbox(t)
	dbURL := pgtest.NewDatabase(t)
	a, _ := startMailServe(t, t.TempDir(), dbURL, box)
	b, _ := startMailServe(t, t.TempDir(), dbURL, box)

	appendMail(t, box, mailSample(t, "zabbix_iso2022jp.eml"))
	waitFor(t, "INC-1 from the mailbox", func() bool { return len(listIncidents(t, a, "?status=all").Incidents) == 1 })
	holder := leaseHolder(t, dbURL, "mail.imap")
	if !strings.HasSuffix(holder, "-"+strconv.Itoa(a.cmd.Process.Pid)) && !strings.HasSuffix(holder, "-"+strconv.Itoa(b.cmd.Process.Pid)) {
		t.Errorf("mail.imap lease held by %q, not by a replica", holder)
	}

	// Both replicas restart; the mail already taken stays taken.
	a.stop()
	b.stop()
	a, _ = startMailServe(t, t.TempDir(), dbURL, box)
	appendMail(t, box, mailSample(t, "zabbix_recovery_iso2022jp.eml"))
	waitFor(t, "the recovery from the mailbox", func() bool { return getIncident(t, a, "INC-1").Status == "resolved" })
	time.Sleep(500 * time.Millisecond) // room for a wrongful second take
	if inc := listIncidents(t, a, "?status=all"); len(inc.Incidents) != 1 || inc.Incidents[0].AlertCount != 2 {
		t.Errorf("incidents %+v, want INC-1 with the problem and the recovery, once each", inc.Incidents)
	}
}

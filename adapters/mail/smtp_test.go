package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/hotline-dev/hotline/adapters/postgres"
	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
	"github.com/hotline-dev/hotline/adapters/sqlite"
	"github.com/hotline-dev/hotline/bot"
)

const webAlerts = "web-alerts@alerts.example.com"

// recorder is the bot's Ingest with the alerts it was given remembered, and
// an outage to switch on.
type recorder struct {
	bot  *bot.Bot
	down atomic.Bool

	mu     sync.Mutex
	alerts []bot.Alert
}

func (r *recorder) Ingest(ctx context.Context, a bot.Alert) (bot.IngestResult, error) {
	if r.down.Load() {
		return bot.IngestResult{}, fmt.Errorf("ingest: %w", bot.ErrUnavailable)
	}
	res, err := r.bot.Ingest(ctx, a)
	if err == nil {
		r.mu.Lock()
		r.alerts = append(r.alerts, a)
		r.mu.Unlock()
	}
	return res, err
}

func (r *recorder) seen() []bot.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Alert(nil), r.alerts...)
}

// smtpStore is a store the rig reads incidents back from.
type smtpStore interface {
	bot.Store
	Close() error
}

type smtpRig struct {
	t     *testing.T
	addr  string
	store smtpStore
	rec   *recorder
}

// startSMTP runs the listener on loopback in front of a real bot on SQLite.
func startSMTP(t testing.TB, mutate func(*SMTPConfig)) *smtpRig {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return startSMTPOn(t, st, mutate)
}

// startSMTPOn is startSMTP on a store of the caller's.
func startSMTPOn(t testing.TB, st smtpStore, mutate func(*SMTPConfig)) *smtpRig {
	t.Helper()
	b := bot.New(bot.Config{Store: st, Services: []bot.Service{{ID: "web", Name: "Web shop"}}})
	t.Cleanup(func() { b.Close(); st.Close() })
	rec := &recorder{bot: b}
	intake, err := NewIntake(IntakeConfig{Ingest: rec, Integrations: []Integration{{ID: "mail", Service: "web", Address: webAlerts}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := SMTPConfig{Domain: "alerts.example.com", Intake: intake}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := NewSMTPServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	tt, _ := t.(*testing.T)
	return &smtpRig{t: tt, addr: ln.Addr().String(), store: st, rec: rec}
}

// send delivers one mail and returns the server's refusal, if any.
func (r *smtpRig) send(to string, raw []byte) error {
	c, err := smtp.Dial(r.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail("zabbix@monitor.example.com", []string{to}, bytes.NewReader(raw))
}

func (r *smtpRig) incident(n int64) bot.Incident {
	r.t.Helper()
	inc, err := r.store.IncidentByNumber(context.Background(), n)
	if err != nil {
		r.t.Fatalf("INC-%d: %v", n, err)
	}
	return inc
}

func (r *smtpRig) count() int {
	r.t.Helper()
	incs, err := r.store.Incidents(context.Background(), bot.IncidentFilter{})
	if err != nil {
		r.t.Fatal(err)
	}
	return len(incs)
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// iso2022jp builds a Zabbix-style Japanese alert mail: subject and body in
// ISO-2022-JP, as Japanese mailers still send them.
func iso2022jp(t testing.TB, subject, body string) []byte {
	t.Helper()
	enc := func(s string) string {
		out, _, err := transform.String(japanese.ISO2022JP.NewEncoder(), s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Zabbix <zabbix@monitor.example.com>\r\nTo: %s\r\n", webAlerts)
	fmt.Fprintf(&b, "Subject: =?ISO-2022-JP?B?%s?=\r\n", b64(enc(subject)))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n")
	fmt.Fprintf(&b, "Message-ID: <%d@monitor.example.com>\r\n\r\n", time.Now().UnixNano())
	b.WriteString(strings.ReplaceAll(enc(body), "\n", "\r\n") + "\r\n")
	return b.Bytes()
}

func shiftJIS(t testing.TB, subject, body string) []byte {
	t.Helper()
	enc := func(s string) string {
		out, _, err := transform.String(japanese.ShiftJIS.NewEncoder(), s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: nas01 <nas01@example.com>\r\nTo: %s\r\n", webAlerts)
	fmt.Fprintf(&b, "Subject: =?Shift_JIS?B?%s?=\r\n", b64(enc(subject)))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(b64(enc(body)) + "\r\n")
	return b.Bytes()
}

func TestSMTPOpensAndResolvesJapaneseMail(t *testing.T) {
	r := startSMTP(t, nil)
	if err := r.send(webAlerts, iso2022jp(t, "【障害】web01 ディスク使用率 95%", "ホスト: web01\nディスク使用率が 95% を超えました。")); err != nil {
		t.Fatalf("problem mail: %v", err)
	}
	inc := r.incident(1)
	if inc.Status != bot.StatusTriggered || !strings.Contains(inc.Title, "web01 ディスク使用率 95%") {
		t.Fatalf("INC-1 %s %q, want an open incident titled from the subject", inc.Status, inc.Title)
	}
	alerts := r.rec.seen()
	if a := alerts[0]; a.Source != "email" || !strings.Contains(a.Body, "ディスク使用率が 95% を超えました") || len(a.Raw) == 0 {
		t.Errorf("alert source %q body %q raw %d bytes", a.Source, a.Body, len(a.Raw))
	}
	if err := r.send(webAlerts, iso2022jp(t, "【復旧】web01 ディスク使用率 95%", "ホスト: web01\n正常に戻りました。")); err != nil {
		t.Fatalf("recovery mail: %v", err)
	}
	if inc := r.incident(1); inc.Status != bot.StatusResolved {
		t.Errorf("INC-1 %s after the recovery mail, want resolved", inc.Status)
	}
	if n := r.count(); n != 1 {
		t.Errorf("%d incidents, want the one", n)
	}
}

func TestSMTPShiftJISAndSubAddress(t *testing.T) {
	r := startSMTP(t, nil)
	to := "web-alerts+nas01@alerts.example.com"
	if err := r.send(to, shiftJIS(t, "【異常】nas01 RAID 縮退", "ディスク 3 が故障しました")); err != nil {
		t.Fatal(err)
	}
	if a := r.rec.seen()[0]; a.Fingerprint != "nas01" || !strings.Contains(a.Title, "RAID 縮退") {
		t.Errorf("alert fingerprint %q title %q, want the +key and the decoded subject", a.Fingerprint, a.Title)
	}
	// A recovery with another subject to the same +key resolves it.
	if err := r.send(to, shiftJIS(t, "【復旧】nas01 リビルド完了", "正常")); err != nil {
		t.Fatal(err)
	}
	if inc := r.incident(1); inc.Status != bot.StatusResolved {
		t.Errorf("INC-1 %s, want resolved by the mail to the same +key", inc.Status)
	}
}

func TestSMTPRefusals(t *testing.T) {
	r := startSMTP(t, func(c *SMTPConfig) { c.MaxMessageBytes = 1 << 20 })
	mail := iso2022jp(t, "【障害】db01 停止", "db01 が応答しません")

	// Never a relay: any address that is no integration's gets 550.
	for _, to := range []string{"someone@gmail.com", "other@alerts.example.com", "not an address"} {
		if err := r.send(to, mail); smtpCode(err) != 550 && smtpCode(err) != 501 {
			t.Errorf("mail to %q: %v, want 550", to, err)
		}
	}
	// Too big: 552 at MAIL FROM when the sender declares the size, as MTAs
	// do; without it the transfer is cut off and nothing is stored.
	big := append(bytes.Clone(mail), bytes.Repeat([]byte("x"), 2<<20)...)
	c, err := smtp.Dial(r.addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("zabbix@monitor.example.com", &smtp.MailOptions{Size: int64(len(big))}); smtpCode(err) != 552 {
		t.Errorf("2 MiB mail declared: %v, want 552", err)
	}
	c.Close()
	if err := r.send(webAlerts, big); err == nil {
		t.Errorf("2 MiB mail undeclared was accepted")
	}
	if n := r.count(); n != 0 {
		t.Errorf("%d incidents from refused mail", n)
	}
	// Not a mail at all: 554 with why.
	if err := r.send(webAlerts, []byte("\x00\x01\x02")); smtpCode(err) != 554 || !strings.Contains(err.Error(), "not a mail") {
		t.Errorf("garbage: %v, want 554 saying it is not a mail", err)
	}
	before := r.count()

	// The database is down: 451, so the sender's MTA tries again; then it
	// goes through.
	r.rec.down.Store(true)
	if err := r.send(webAlerts, mail); smtpCode(err) != 451 {
		t.Errorf("database down: %v, want 451", err)
	}
	if n := r.count(); n != before {
		t.Errorf("a refused mail changed the incidents: %d → %d", before, n)
	}
	r.rec.down.Store(false)
	if err := r.send(webAlerts, mail); err != nil {
		t.Errorf("after the outage: %v", err)
	}
	if n := r.count(); n != before+1 {
		t.Errorf("%d incidents after the retry, want %d", n, before+1)
	}
}

func TestSMTPBrokenMIMEIsStoredWithWhatCouldBeRead(t *testing.T) {
	r := startSMTP(t, nil)
	raw := "From: a@example.com\r\nTo: " + webAlerts + "\r\nSubject: CRITICAL web02 down\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n--XYZ\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nweb02 is not answering\r\n"
	if err := r.send(webAlerts, []byte(raw)); err != nil {
		t.Fatalf("broken MIME: %v", err)
	}
	a := r.rec.seen()[0]
	if !strings.Contains(a.Title, "web02 down") || !strings.Contains(a.Body, "web02 is not answering") {
		t.Errorf("alert title %q body %q, want what could be read", a.Title, a.Body)
	}
}

func TestSMTPAuthAndSTARTTLS(t *testing.T) {
	cert := selfSigned(t)
	r := startSMTP(t, func(c *SMTPConfig) {
		c.Username, c.Password = "zabbix", "s3cret"
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	mail := iso2022jp(t, "【障害】web03 停止", "web03")
	// Without AUTH: refused.
	if err := r.send(webAlerts, mail); smtpCode(err) != 530 {
		t.Errorf("without AUTH: %v, want 530", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	dial := func() *smtp.Client {
		c, err := smtp.DialStartTLS(r.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	if err := dial().Auth(sasl.NewPlainClient("", "zabbix", "wrong")); smtpCode(err) != 535 {
		t.Errorf("wrong password: %v, want 535", err)
	}
	c := dial()
	if err := c.Auth(sasl.NewPlainClient("", "zabbix", "s3cret")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.SendMail("zabbix@monitor.example.com", []string{webAlerts}, bytes.NewReader(mail)); err != nil {
		t.Fatalf("authenticated mail: %v", err)
	}
	if n := r.count(); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}
}

// BenchmarkSMTPAccept measures mails accepted per second over loopback,
// each answered 250 after its alert is committed, on SQLite and (with
// HOTLINE_TEST_POSTGRES_URL) PostgreSQL.
func BenchmarkSMTPAccept(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchmarkSMTPAccept(b, startSMTP(b, nil)) })
	b.Run("postgres", func(b *testing.B) {
		st, err := postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		benchmarkSMTPAccept(b, startSMTPOn(b, st, nil))
	})
}

func benchmarkSMTPAccept(b *testing.B, r *smtpRig) {
	mails := make([][]byte, 100)
	for i := range mails {
		mails[i] = iso2022jp(b, fmt.Sprintf("【障害】web%02d ディスク使用率 95%%", i), "ディスク使用率が 95% を超えました。")
	}
	const senders = 16
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			c, err := smtp.Dial(r.addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := c.SendMail("zabbix@monitor.example.com", []string{webAlerts}, bytes.NewReader(mails[i%100])); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "mails/s")
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

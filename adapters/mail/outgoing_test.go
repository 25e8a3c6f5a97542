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
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/hotline-dev/hotline/bot"
)

// received is one message as the fake relay saw it on the wire.
type received struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Data []byte
	User string // AUTH PLAIN username; empty without AUTH
	TLS  bool   // the connection was TLS when DATA came
}

// fakeRelay is an SMTP relay (go-smtp's server) that records what it
// accepts. With username set it offers AUTH PLAIN (only over TLS, as go-smtp
// does) and refuses MAIL before a successful AUTH.
type fakeRelay struct {
	username, password string

	// failAt names the stage answered with failWith: "ehlo", "mail",
	// "rcpt" or "data".
	failAt   string
	failWith *smtp.SMTPError

	// holdData, when set, makes DATA announce itself on dataStarted and
	// then wait until holdData is closed: a relay stuck mid-transaction.
	holdData    chan struct{}
	dataStarted chan struct{}

	mu       sync.Mutex
	sessions int
	got      []received
}

func (r *fakeRelay) NewSession(c *smtp.Conn) (smtp.Session, error) {
	r.mu.Lock()
	r.sessions++
	r.mu.Unlock()
	if r.failAt == "ehlo" {
		return nil, r.failWith
	}
	return &fakeSession{relay: r, conn: c}, nil
}

func (r *fakeRelay) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *fakeRelay) sessionCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions
}

type fakeSession struct {
	relay *fakeRelay
	conn  *smtp.Conn
	user  string
	from  string
	to    []string
}

var _ smtp.AuthSession = (*fakeSession)(nil)

func (s *fakeSession) AuthMechanisms() []string {
	if s.relay.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *fakeSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.relay.username || password != s.relay.password {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *fakeSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.relay.username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	if s.relay.failAt == "mail" {
		return s.relay.failWith
	}
	s.from = from
	return nil
}

func (s *fakeSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.relay.failAt == "rcpt" {
		return s.relay.failWith
	}
	s.to = append(s.to, to)
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	if s.relay.holdData != nil {
		s.relay.dataStarted <- struct{}{}
		<-s.relay.holdData
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.relay.failAt == "data" {
		return s.relay.failWith
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.relay.mu.Lock()
	s.relay.got = append(s.relay.got, received{From: s.from, To: s.to, Data: data, User: s.user, TLS: isTLS})
	s.relay.mu.Unlock()
	return nil
}

func (s *fakeSession) Reset()        { s.from, s.to = "", nil }
func (s *fakeSession) Logout() error { return nil }

// startRelay serves r on loopback. mode is "none" (plain), "starttls"
// (STARTTLS offered) or "tls" (implicit TLS); cert is used for the last two.
func startRelay(t *testing.T, r *fakeRelay, mode string, cert tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(r)
	srv.Domain = "relay.test"
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch mode {
	case "starttls":
		srv.TLSConfig = tlsConf
	case "tls":
		srv.TLSConfig = tlsConf
		ln = tls.NewListener(ln, tlsConf)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// selfSignedCert makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "relay.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// silentListener accepts connections and never greets, like a relay that
// hangs.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func newTestSender(t *testing.T, cfg OutgoingConfig) *Sender {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "hotline@example.com"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

func requireRetryable(t *testing.T, err error) {
	t.Helper()
	var retry *bot.RetryableError
	if !errors.As(err, &retry) {
		t.Fatalf("error %v (%T) is not a *bot.RetryableError", err, err)
	}
}

// requirePermanent checks err is not retryable and carries an
// *bot.InvalidError whose reason contains each of texts.
func requirePermanent(t *testing.T, err error, texts ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("Send succeeded, want a permanent error")
	}
	var retry *bot.RetryableError
	if errors.As(err, &retry) {
		t.Fatalf("error %v is retryable, want permanent", err)
	}
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("error %v (%T) does not wrap a *bot.InvalidError", err, err)
	}
	for _, text := range texts {
		if !strings.Contains(invalid.Reason, text) {
			t.Errorf("reason %q does not contain %q", invalid.Reason, text)
		}
	}
}

// parsedMail is a received message decoded the way a mail client would.
type parsedMail struct {
	header  netmail.Header
	subject string
	body    string
}

func parseReceived(t *testing.T, data []byte) parsedMail {
	t.Helper()
	for i, b := range data {
		if b >= 0x80 {
			t.Fatalf("byte %d of the message is 0x%x: the message is not 7-bit clean", i, b)
		}
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	if mediaType != "text/plain" || !strings.EqualFold(params["charset"], "UTF-8") {
		t.Fatalf("Content-Type = %q, want text/plain; charset=UTF-8", msg.Header.Get("Content-Type"))
	}
	var bodyReader io.Reader
	switch cte := strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")); cte {
	case "quoted-printable":
		bodyReader = quotedprintable.NewReader(msg.Body)
	case "7bit", "":
		bodyReader = msg.Body
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	body, err := io.ReadAll(bodyReader)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return parsedMail{
		header:  msg.Header,
		subject: subject,
		body:    strings.ReplaceAll(string(body), "\r\n", "\n"),
	}
}

func TestSenderDeliversJapaneseMailInPlainText(t *testing.T) {
	relay := &fakeRelay{}
	addr := startRelay(t, relay, "none", tls.Certificate{})
	s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "none", From: "Hotline 通知 <hotline@example.com>"})

	// Long enough that the Subject needs several encoded words.
	subject := "【障害】INC-7 db01 ディスク使用率 95% — 電話エスカレーションの最終段に到達しました（管理者への通知）"
	body := "INC-7 db01 のディスク使用率が 95% を超えました。\n" +
		"担当者: 田中（未確認）、鈴木（不在）。誰も確認していないため、管理者の皆様にお知らせします。対応可能な方はチャットで確認してください。\n" +
		"\n" +
		"https://hotline.example.com/incidents/7\n"
	to := []string{"admin@example.com", "鈴木 <suzuki@example.com>"}
	before := time.Now().Add(-time.Minute)

	if err := s.Send(context.Background(), bot.Mail{To: to, Subject: subject, Body: body}); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := relay.messages()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	if got[0].From != "hotline@example.com" {
		t.Errorf("MAIL FROM = %q, want hotline@example.com", got[0].From)
	}
	if want := []string{"admin@example.com", "suzuki@example.com"}; !slices.Equal(got[0].To, want) {
		t.Errorf("RCPT TO = %q, want %q", got[0].To, want)
	}
	if got[0].TLS || got[0].User != "" {
		t.Errorf("tls none: TLS = %v, AUTH user = %q; want neither", got[0].TLS, got[0].User)
	}

	m := parseReceived(t, got[0].Data)
	from, err := m.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "hotline@example.com" || from[0].Name != "Hotline 通知" {
		t.Errorf("From = %q (%v), want Hotline 通知 <hotline@example.com>", m.header.Get("From"), err)
	}
	toHeader, err := m.header.AddressList("To")
	if err != nil {
		t.Fatalf("To %q: %v", m.header.Get("To"), err)
	}
	var toAddrs []string
	for _, a := range toHeader {
		toAddrs = append(toAddrs, a.Address)
	}
	if want := []string{"admin@example.com", "suzuki@example.com"}; !slices.Equal(toAddrs, want) {
		t.Errorf("To header = %q, want %q", toAddrs, want)
	}
	if m.subject != subject {
		t.Errorf("Subject = %q, want %q", m.subject, subject)
	}
	if m.body != body {
		t.Errorf("body = %q, want %q", m.body, body)
	}
	date, err := m.header.Date()
	if err != nil || date.Before(before) || date.After(time.Now().Add(time.Minute)) {
		t.Errorf("Date = %q (%v), want about now", m.header.Get("Date"), err)
	}
	if id := m.header.Get("Message-Id"); !regexp.MustCompile(`^<[^<>@\s]+@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID = %q, want <random@example.com>", id)
	}
	if got := m.header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", got)
	}
}

func TestSenderKeepsSubjectNewlinesOutOfHeaders(t *testing.T) {
	relay := &fakeRelay{}
	addr := startRelay(t, relay, "none", tls.Certificate{})
	s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "none"})

	subject := "DOWN web01\r\nBcc: evil@example.net"
	if err := s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: subject, Body: "x"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := relay.messages()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	if !slices.Equal(got[0].To, []string{"admin@example.com"}) {
		t.Errorf("RCPT TO = %q, want only admin@example.com", got[0].To)
	}
	m := parseReceived(t, got[0].Data)
	if bcc := m.header.Get("Bcc"); bcc != "" {
		t.Errorf("the Subject injected a Bcc header %q", bcc)
	}
	if m.subject != subject {
		t.Errorf("Subject = %q, want %q", m.subject, subject)
	}
}

func TestSenderAuthPlainOverSTARTTLS(t *testing.T) {
	cert, roots := selfSignedCert(t)
	relay := &fakeRelay{username: "hotline", password: "s3cret-パス"}
	addr := startRelay(t, relay, "starttls", cert)
	s := newTestSender(t, OutgoingConfig{
		Addr: addr, Username: "hotline", Password: "s3cret-パス",
		TLS: "starttls", TLSConfig: &tls.Config{RootCAs: roots},
	})

	if err := s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: "復旧", Body: "ok\n"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := relay.messages()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	if !got[0].TLS {
		t.Error("message came over a plain connection, want STARTTLS")
	}
	if got[0].User != "hotline" {
		t.Errorf("AUTH user = %q, want hotline", got[0].User)
	}
	if m := parseReceived(t, got[0].Data); m.subject != "復旧" || m.body != "ok\n" {
		t.Errorf("Subject, body = %q, %q; want 復旧, ok\\n", m.subject, m.body)
	}
}

func TestSenderImplicitTLS(t *testing.T) {
	cert, roots := selfSignedCert(t)
	relay := &fakeRelay{username: "hotline", password: "pw"}
	addr := startRelay(t, relay, "tls", cert)
	s := newTestSender(t, OutgoingConfig{
		Addr: addr, Username: "hotline", Password: "pw",
		TLS: "tls", TLSConfig: &tls.Config{RootCAs: roots},
	})

	if err := s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: "障害", Body: "db01"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := relay.messages()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	if !got[0].TLS || got[0].User != "hotline" {
		t.Errorf("TLS = %v, AUTH user = %q; want true, hotline", got[0].TLS, got[0].User)
	}
}

func TestSenderMapsRelayReplies(t *testing.T) {
	tests := []struct {
		name      string
		failAt    string
		failWith  *smtp.SMTPError
		retryable bool
		texts     []string // in the permanent error's reason: the server's reply
	}{
		{
			name: "451 on RCPT", failAt: "rcpt", retryable: true,
			failWith: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"},
		},
		{
			name: "550 on RCPT", failAt: "rcpt", texts: []string{"550", "5.1.1 mailbox unavailable", "RCPT"},
			failWith: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"},
		},
		{
			name: "452 on MAIL", failAt: "mail", retryable: true,
			failWith: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "insufficient storage"},
		},
		{
			name: "553 on MAIL", failAt: "mail", texts: []string{"553", "sender not allowed"},
			failWith: &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender not allowed"},
		},
		{
			name: "451 after DATA", failAt: "data", retryable: true,
			failWith: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "queue full"},
		},
		{
			name: "554 after DATA", failAt: "data", texts: []string{"554", "5.7.1 spam detected"},
			failWith: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "spam detected"},
		},
		{
			name: "421 to EHLO", failAt: "ehlo", retryable: true,
			failWith: &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := &fakeRelay{failAt: tt.failAt, failWith: tt.failWith}
			addr := startRelay(t, relay, "none", tls.Certificate{})
			s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "none"})

			err := s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: "障害", Body: "x"})
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if tt.retryable {
				requireRetryable(t, err)
			} else {
				requirePermanent(t, err, tt.texts...)
			}
			if n := len(relay.messages()); n != 0 {
				t.Errorf("relay accepted %d messages, want 0", n)
			}
		})
	}
}

func TestSenderConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "none"})

	err = s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: "x", Body: "x"})
	requireRetryable(t, err)
}

func TestSenderTimeoutIsRetryable(t *testing.T) {
	addr := silentListener(t)
	s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "none", Timeout: 100 * time.Millisecond})

	err := s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: "x", Body: "x"})
	requireRetryable(t, err)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error %v is not a timeout", err)
	}
}

func TestSenderHonoursContextCancellation(t *testing.T) {
	relay := &fakeRelay{holdData: make(chan struct{}), dataStarted: make(chan struct{}, 1)}
	addr := startRelay(t, relay, "none", tls.Certificate{})
	t.Cleanup(func() { close(relay.holdData) }) // runs before the relay closes
	// Far longer than the test: only ctx can end the wait for the reply to DATA.
	s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "none", Timeout: time.Minute})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-relay.dataStarted
		cancel()
	}()
	err := s.Send(ctx, bot.Mail{To: []string{"admin@example.com"}, Subject: "x", Body: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	requireRetryable(t, err)

	// An already cancelled ctx does not connect at all.
	idle := &fakeRelay{}
	s = newTestSender(t, OutgoingConfig{Addr: startRelay(t, idle, "none", tls.Certificate{}), TLS: "none"})
	err = s.Send(ctx, bot.Mail{To: []string{"admin@example.com"}, Subject: "x", Body: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := idle.sessionCount(); n != 0 {
		t.Errorf("relay saw %d sessions after ctx was cancelled, want 0", n)
	}
}

func TestSenderWrongPasswordIsPermanent(t *testing.T) {
	cert, roots := selfSignedCert(t)
	relay := &fakeRelay{username: "hotline", password: "right"}
	addr := startRelay(t, relay, "starttls", cert)
	const password = "wrong-password-7f3a"
	s := newTestSender(t, OutgoingConfig{
		Addr: addr, Username: "hotline", Password: password,
		TLSConfig: &tls.Config{RootCAs: roots}, // TLS defaults to starttls
	})

	err := s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: "x", Body: "x"})
	requirePermanent(t, err, "535", "Authentication failed")
	if msg := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(msg, password) {
		t.Errorf("error shows the password: %s", msg)
	}
	if n := len(relay.messages()); n != 0 {
		t.Errorf("relay accepted %d messages, want 0", n)
	}
}

func TestSenderRefusesUntrustedOrMissingTLS(t *testing.T) {
	t.Run("untrusted certificate", func(t *testing.T) {
		cert, _ := selfSignedCert(t)
		relay := &fakeRelay{}
		addr := startRelay(t, relay, "starttls", cert)
		s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "starttls"}) // system roots only

		err := s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: "x", Body: "x"})
		requirePermanent(t, err, "certificate")
		if n := len(relay.messages()); n != 0 {
			t.Errorf("relay accepted %d messages, want 0", n)
		}
	})
	t.Run("relay offers no STARTTLS", func(t *testing.T) {
		relay := &fakeRelay{}
		addr := startRelay(t, relay, "none", tls.Certificate{})
		s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "starttls"})

		err := s.Send(context.Background(), bot.Mail{To: []string{"admin@example.com"}, Subject: "x", Body: "x"})
		requirePermanent(t, err, "STARTTLS")
		if n := len(relay.messages()); n != 0 {
			t.Errorf("relay accepted %d messages in clear text, want 0", n)
		}
	})
}

func TestSenderRejectsBadRecipientsBeforeConnecting(t *testing.T) {
	tests := map[string][]string{
		"no recipients":   nil,
		"empty list":      {},
		"not an address":  {"admin@example.com", "tanaka"},
		"header smuggled": {"admin@example.com\r\nBcc: evil@example.net"},
	}
	for name, to := range tests {
		t.Run(name, func(t *testing.T) {
			relay := &fakeRelay{}
			addr := startRelay(t, relay, "none", tls.Certificate{})
			s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "none"})

			err := s.Send(context.Background(), bot.Mail{To: to, Subject: "x", Body: "x"})
			var invalid *bot.InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %v (%T), want *bot.InvalidError", err, err)
			}
			var retry *bot.RetryableError
			if errors.As(err, &retry) {
				t.Errorf("error %v is retryable", err)
			}
			if n := relay.sessionCount(); n != 0 {
				t.Errorf("relay saw %d sessions, want 0", n)
			}
		})
	}
}

func TestSenderConcurrentSends(t *testing.T) {
	relay := &fakeRelay{}
	addr := startRelay(t, relay, "none", tls.Certificate{})
	s := newTestSender(t, OutgoingConfig{Addr: addr, TLS: "none"})

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Send(context.Background(), bot.Mail{
				To: []string{"admin@example.com"}, Subject: fmt.Sprintf("障害 %d", i), Body: "x",
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Send %d: %v", i, err)
		}
	}
	var subjects []string
	for _, r := range relay.messages() {
		subjects = append(subjects, parseReceived(t, r.Data).subject)
	}
	slices.Sort(subjects)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("障害 %d", i))
	}
	if !slices.Equal(subjects, want) {
		t.Errorf("subjects = %q, want %q", subjects, want)
	}
}

func TestNewSenderValidatesConfig(t *testing.T) {
	valid := OutgoingConfig{Addr: "smtp.example.com:587", From: "hotline@example.com"}
	tests := []struct {
		name   string
		change func(*OutgoingConfig)
		want   []string // each in the error
	}{
		{"missing addr", func(c *OutgoingConfig) { c.Addr = "" }, []string{"mail.outgoing.addr: required"}},
		{"addr without port", func(c *OutgoingConfig) { c.Addr = "smtp.example.com" }, []string{"mail.outgoing.addr:"}},
		{"addr without host", func(c *OutgoingConfig) { c.Addr = ":587" }, []string{"mail.outgoing.addr:"}},
		{"port out of range", func(c *OutgoingConfig) { c.Addr = "smtp.example.com:70000" }, []string{"mail.outgoing.addr:"}},
		{"port not a number", func(c *OutgoingConfig) { c.Addr = "smtp.example.com:smtp" }, []string{"mail.outgoing.addr:"}},
		{"missing from", func(c *OutgoingConfig) { c.From = "" }, []string{"mail.outgoing.from: required"}},
		{"bad from", func(c *OutgoingConfig) { c.From = "hotline" }, []string{"mail.outgoing.from:"}},
		{"bad tls mode", func(c *OutgoingConfig) { c.TLS = "ssl" }, []string{`mail.outgoing.tls: "ssl"`}},
		{"negative timeout", func(c *OutgoingConfig) { c.Timeout = -time.Second }, []string{"mail.outgoing.timeout:"}},
		{"username without password", func(c *OutgoingConfig) { c.Username = "hotline" }, []string{"mail.outgoing.password:"}},
		{"password without username", func(c *OutgoingConfig) { c.Password = "pw" }, []string{"mail.outgoing.username:"}},
		{"every problem at once", func(c *OutgoingConfig) { *c = OutgoingConfig{TLS: "STARTTLS"} },
			[]string{"mail.outgoing.addr:", "mail.outgoing.from:", "mail.outgoing.tls:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.change(&cfg)
			s, err := NewSender(cfg)
			if err == nil {
				t.Fatalf("NewSender(%+v) = %v, want an error", cfg, s)
			}
			var invalid *bot.InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %v (%T), want *bot.InvalidError", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

	t.Run("valid with defaults", func(t *testing.T) {
		s, err := NewSender(valid)
		if err != nil {
			t.Fatalf("NewSender: %v", err)
		}
		if s.tlsMode != OutgoingSTARTTLS || s.timeout != 15*time.Second {
			t.Errorf("defaults: tls %q, timeout %v; want starttls, 15s", s.tlsMode, s.timeout)
		}
		if s.tlsConf.ServerName != "smtp.example.com" {
			t.Errorf("TLS ServerName = %q, want smtp.example.com", s.tlsConf.ServerName)
		}
	})
	t.Run("caller's TLS config is not modified", func(t *testing.T) {
		cfg := valid
		cfg.TLSConfig = &tls.Config{}
		s, err := NewSender(cfg)
		if err != nil {
			t.Fatalf("NewSender: %v", err)
		}
		if cfg.TLSConfig.ServerName != "" || s.tlsConf.ServerName != "smtp.example.com" {
			t.Errorf("ServerName: caller's %q, sender's %q; want empty, smtp.example.com",
				cfg.TLSConfig.ServerName, s.tlsConf.ServerName)
		}
	})
}

package mail

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkMessage asserts what holds for every decoded mail.
func checkMessage(t testing.TB, m Message) {
	t.Helper()
	if !utf8.ValidString(m.Text) || len(m.Text) > MaxText {
		t.Errorf("Text: valid UTF-8 %v, %d bytes (max %d)", utf8.ValidString(m.Text), len(m.Text), MaxText)
	}
	for name, v := range map[string]string{"Subject": m.Subject, "FromName": m.FromName, "From": m.From, "MessageID": m.MessageID} {
		if !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n") {
			t.Errorf("%s = %q: not one line of UTF-8", name, v)
		}
	}
	for _, list := range [][]string{m.To, m.Attachments, m.Problems} {
		for _, v := range list {
			if !utf8.ValidString(v) {
				t.Errorf("%q is not valid UTF-8", v)
			}
		}
	}
}

func checkProblems(t testing.TB, got, want []string) {
	t.Helper()
	if want == nil && len(got) > 0 {
		t.Errorf("Problems = %q; want none", got)
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("Problems = %q; want one containing %q", got, w)
		}
	}
}

// TestDecodeEdges covers mail too small or too odd to keep as a sample.
func TestDecodeEdges(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		subject  string
		from     string
		text     string // the whole Text
		problems []string
	}{
		{
			name:     "no header section",
			raw:      "web01 is down\nplease check\n",
			text:     "web01 is down\nplease check",
			problems: []string{"no header section"},
		},
		{
			name:    "header only",
			raw:     "Subject: ping\r\nFrom: a@b.example\r\n",
			subject: "ping", from: "a@b.example",
		},
		{
			name:     "header without blank line before the body",
			raw:      "Subject: web01 down\nthe body starts here\n",
			subject:  "web01 down",
			text:     "the body starts here",
			problems: []string{"header section ends without a blank line"},
		},
		{
			name:    "mbox envelope line",
			raw:     "From nagios@example.com Mon Jan 15 01:23:45 2024\nFrom: nagios@example.com\nSubject: x\n\nbody\n",
			subject: "x", from: "nagios@example.com", text: "body",
		},
		{
			name:    "encoded newline and tab folded into one line",
			raw:     "Subject: =?UTF-8?Q?line_one=0D=0Aline=09two?=\r\n  continued\r\n\r\n",
			subject: "line one line two continued",
		},
		{
			name:     "unknown transfer encoding",
			raw:      "Subject: x\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n",
			subject:  "x",
			text:     "begin 644 x",
			problems: []string{"unknown transfer encoding x-uuencode"},
		},
		{
			name:    "vendor charset label cp932",
			raw:     "Subject: x\nContent-Type: text/plain; charset=CP932\n\n" + toSJIS("①障害\n"),
			subject: "x",
			text:    "①障害",
		},
		{
			name:     "undecodable 8-bit body without charset",
			raw:      "Subject: x\n\nabc\xff\xfedef\n",
			subject:  "x",
			text:     "abc\uFFFDdef",
			problems: []string{"8-bit text without a charset"},
		},
		{
			name:     "raw 8-bit subject in no charset",
			raw:      "Subject: abc\xffdef\n\nbody\n",
			subject:  "abc\uFFFDdef",
			text:     "body",
			problems: []string{"Subject has unencoded 8-bit bytes in no known charset"},
		},
		{
			name:     "raw 8-bit subject is not in a 7-bit body charset",
			raw:      "Subject: " + toSJIS("障害") + "\nContent-Type: text/plain; charset=ISO-2022-JP\n\n" + toJIS("本文") + "\n",
			subject:  "\uFFFDQ", // the second byte of 害 is "Q"
			text:     "本文",
			problems: []string{"Subject has unencoded 8-bit bytes in no known charset"},
		},
		{
			name:     "missing closing boundary after a text part",
			raw:      "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecond, cut off",
			subject:  "x",
			text:     "first\n\nsecond, cut off",
			problems: []string{"ends without its closing boundary"},
		},
		{
			name:     "multipart without boundary",
			raw:      "Subject: x\nContent-Type: multipart/mixed\n\nplain words\n",
			subject:  "x",
			text:     "plain words",
			problems: []string{`has no part delimited by boundary ""`},
		},
		{
			name:     "truncated base64",
			raw:      "Subject: x\nContent-Transfer-Encoding: base64\n\nQUJDREVGR0",
			subject:  "x",
			text:     "ABCDEF",
			problems: []string{"truncated base64"},
		},
		{
			name:     "html with meta charset and no declared charset",
			raw:      "Subject: x\nContent-Type: text/html\n\n<html><head><meta charset=\"shift_jis\"></head><body>" + toSJIS("障害") + "</body></html>",
			subject:  "x",
			text:     "障害",
			problems: nil,
		},
		{
			name:     "JIS in an encoded-word labelled us-ascii",
			raw:      "Subject: " + bWord("us-ascii", toJIS("障害")) + "\n\n",
			subject:  "障害",
			problems: nil,
		},
		{
			name:    "inline text part with a file name is body",
			raw:     "Subject: x\nContent-Type: text/plain; name=alert.txt\nContent-Disposition: inline; filename=alert.txt\n\nCPU high\n",
			subject: "x",
			text:    "CPU high",
		},
		{
			name:     "unparsable From keeps the address",
			raw:      "From: Web Alert <ALERT@Example.com\nSubject: x\n\n",
			subject:  "x",
			from:     "alert@example.com",
			problems: []string{"unreadable From"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.raw))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkMessage(t, m)
			if m.Subject != tt.subject || m.From != tt.from || m.Text != tt.text {
				t.Errorf("Subject, From, Text = %q, %q, %q; want %q, %q, %q", m.Subject, m.From, m.Text, tt.subject, tt.from, tt.text)
			}
			checkProblems(t, m.Problems, tt.problems)
		})
	}
}

func TestDecodeNotMail(t *testing.T) {
	for _, raw := range []string{"", "\r\n\r\n", "   \n\t\n", "\x00\x01\x02\xff\xfe"} {
		_, err := Decode([]byte(raw))
		if !errors.Is(err, ErrNotMail) {
			t.Errorf("Decode(%q) error = %v; want ErrNotMail", raw, err)
		}
	}
}

func TestDecodeCapsPartsAndAttachments(t *testing.T) {
	images := "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nsee images\n" +
		strings.Repeat("--b\nContent-Type: image/png\n\nx\n", 200) + "--b--\n"
	m, err := Decode([]byte(images))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != maxAttachments || m.Text != "see images" {
		t.Errorf("%d attachments, Text %q; want %d, %q", len(m.Attachments), m.Text, maxAttachments, "see images")
	}
	checkProblems(t, m.Problems, []string{"more than 100 attachments"})

	parts := "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n\nx\n", 100000)
	start := time.Now()
	m, err = Decode([]byte(parts))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(m.Text, "x"); n != maxParts {
		t.Errorf("Text has %d parts' text; want the first %d", n, maxParts)
	}
	checkProblems(t, m.Problems, []string{"more than 500 MIME parts"})
	t.Logf("100000 parts: %v", time.Since(start))
}

func TestDecodeCapsTextOnRuneBoundary(t *testing.T) {
	body := strings.Repeat("障害", MaxText) // 3 bytes a rune: MaxText is not a boundary
	for _, cte := range []string{"8bit", "base64"} {
		raw := "Subject: big\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: " + cte + "\n\n"
		if cte == "base64" {
			raw += base64Lines(body)
		} else {
			raw += body
		}
		m, err := Decode([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		checkMessage(t, m)
		if len(m.Text) < MaxText-utf8.UTFMax || strings.ContainsRune(m.Text, utf8.RuneError) {
			t.Errorf("%s: Text is %d bytes, has U+FFFD %v; want just under %d and none", cte, len(m.Text), strings.ContainsRune(m.Text, utf8.RuneError), MaxText)
		}
	}
}

// TestDecodeTenMegabytes decodes mail at the SMTP size limit: a body, an
// attachment and an HTML part of that size each take well under a second.
func TestDecodeTenMegabytes(t *testing.T) {
	const size = 10 << 20
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	big := strings.Repeat(line, size/len(line))
	mails := map[string]string{
		"text body": "Subject: big\r\n\r\n" + big,
		"attachment": "Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsee the log\r\n" +
			"--b\r\nContent-Type: application/octet-stream; name=big.log\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			big + "--b--\r\n",
		"html": "Subject: big\r\nContent-Type: text/html\r\n\r\n<html><body>" +
			strings.Repeat("<div><span>"+line+"</span></div>", size/(len(line)+24)) + "</body></html>",
	}
	for name, raw := range mails {
		start := time.Now()
		m, err := Decode([]byte(raw))
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkMessage(t, m)
		if m.Text == "" {
			t.Errorf("%s: no text", name)
		}
		t.Logf("%s: %d bytes in %v", name, len(raw), elapsed)
		if limit := time.Second; elapsed > limit {
			t.Errorf("%s: Decode took %v; want well under %v", name, elapsed, limit)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, s := range decodeSamples {
		raw, err := os.ReadFile(filepath.Join(decodeSampleDir, s.file))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimSuffix(s.file, ".eml"), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

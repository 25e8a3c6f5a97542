// The header fields Decode reads (Content-Type and its parameters,
// unstructured text with its encoded-words, addresses, Message-ID, Date)
// and the charsets header and body text are converted from, with the
// aliases Japanese senders use.

package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	htmlcharset "golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
)

// charsetAliases are labels Japanese senders use that go-message's charset
// package does not know; each is close enough to a charset it does.
var charsetAliases = map[string]encoding.Encoding{
	"cp932":          japanese.ShiftJIS,
	"x-ms-cp932":     japanese.ShiftJIS,
	"shift_jisx0213": japanese.ShiftJIS,
	"shift_jis-2004": japanese.ShiftJIS,
	"iso-2022-jp-ms": japanese.ISO2022JP,
	"iso-2022-jp-1":  japanese.ISO2022JP,
	"iso-2022-jp-2":  japanese.ISO2022JP,
	"iso-2022-jp-3":  japanese.ISO2022JP,
	"cp50220":        japanese.ISO2022JP,
	"cp50221":        japanese.ISO2022JP,
	"cp50222":        japanese.ISO2022JP,
	"cp51932":        japanese.EUCJP,
	"eucjp-ms":       japanese.EUCJP,
	"euc-jis-2004":   japanese.EUCJP,
}

// openCharset returns a reader converting r from the named charset to UTF-8.
func openCharset(label string, r io.Reader) (io.Reader, error) {
	label = strings.ToLower(strings.TrimSpace(label))
	if e, ok := charsetAliases[label]; ok {
		return e.NewDecoder().Reader(r), nil
	}
	switch label {
	case "utf-8", "utf8", "us-ascii":
		return r, nil
	}
	return charset.Reader(label, r)
}

func decodeCharset(label string, data []byte) (string, bool) {
	r, err := openCharset(label, bytes.NewReader(data))
	if err != nil {
		return "", false
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", false
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), true
}

// isJIS reports whether b holds ISO-2022-JP: the escape sequences that switch
// to JIS X 0208 or JIS X 0201 are unambiguous, and the text is 7-bit.
func isJIS(b []byte) bool {
	if !bytes.Contains(b, []byte("\x1b$B")) && !bytes.Contains(b, []byte("\x1b$@")) && !bytes.Contains(b, []byte("\x1b(I")) {
		return false
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// metaCharset returns the charset an HTML part names in a <meta> tag, for
// parts whose Content-Type names none; "" when there is none to trust.
func metaCharset(data []byte) string {
	_, name, _ := htmlcharset.DetermineEncoding(data, "")
	if name == "windows-1252" { // the WHATWG fallback when nothing is found
		return ""
	}
	return name
}

// contentType parses Content-Type leniently: go-message and mime reject a
// whole field for one bad parameter, e.g. an unquoted boundary with "=".
func (d *decoder) contentType(h textproto.Header, where string) (string, map[string]string) {
	v := h.Get("Content-Type")
	if v == "" {
		return "text/plain", map[string]string{}
	}
	mediaType, params := mediaParams(v)
	if !strings.Contains(mediaType, "/") {
		d.problem("unreadable Content-Type %q%s; read as text/plain", clipValue(v), inPart(where))
		mediaType = "text/plain"
	}
	return mediaType, params
}

// mediaParams parses a field with parameters, RFC 2231 included, and falls
// back to looseParams when mime.ParseMediaType refuses it.
func mediaParams(v string) (string, map[string]string) {
	value, params, err := mime.ParseMediaType(v)
	if err != nil {
		return looseParams(v)
	}
	return value, params
}

// looseParams splits "value; k=v; k2="v 2"" without rejecting bad syntax.
func looseParams(v string) (string, map[string]string) {
	params := map[string]string{}
	fields := splitUnquoted(v, ';')
	for _, f := range fields[1:] {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		if _, seen := params[k]; !seen && k != "" {
			params[k] = val
		}
	}
	return strings.ToLower(strings.TrimSpace(fields[0])), params
}

func splitUnquoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// headerText decodes an unstructured header value to one line of UTF-8.
func (d *decoder) headerText(field, v string) string {
	if v == "" {
		return ""
	}
	d.field = field
	v = d.raw8bit(field, v)
	words := mime.WordDecoder{CharsetReader: d.wordCharset}
	s, err := words.DecodeHeader(d.joinWords(v))
	if err != nil {
		s = v
	}
	if isJIS([]byte(s)) { // encoded-words labelled us-ascii holding ISO-2022-JP
		s, _ = decodeCharset("iso-2022-jp", []byte(s))
	}
	return singleLine(s)
}

// raw8bit decodes header bytes sent without encoded-words: ISO-2022-JP by its
// escapes, else the body's charset, else UTF-8 with invalid bytes replaced.
func (d *decoder) raw8bit(field, v string) string {
	switch b := []byte(v); {
	case isJIS(b):
		d.problem("%s has unencoded ISO-2022-JP; read as ISO-2022-JP", field)
		s, _ := decodeCharset("iso-2022-jp", b)
		return s
	case utf8.Valid(b):
		return v
	case d.bodyCharset != "" && d.bodyCharset != "utf-8" && d.bodyCharset != "utf8" &&
		!strings.HasPrefix(d.bodyCharset, "iso-2022-jp"): // 7-bit: not what 8-bit bytes are in
		if s, ok := decodeCharset(d.bodyCharset, b); ok {
			d.problem("%s has unencoded 8-bit bytes; read as %s, the body's charset", field, d.bodyCharset)
			return s
		}
	}
	d.problem("%s has unencoded 8-bit bytes in no known charset; invalid bytes replaced", field)
	return strings.ToValidUTF8(v, "\uFFFD")
}

// wordCharset is the word decoder's charset callback. It never fails: an
// unknown charset is noted and its bytes kept, so one bad encoded-word does
// not cost the whole subject.
func (d *decoder) wordCharset(label string, r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if s, ok := decodeCharset(label, b); ok {
		return strings.NewReader(s), nil
	}
	if isJIS(b) {
		s, _ := decodeCharset("iso-2022-jp", b)
		d.problem("unknown charset %s in %s; read as ISO-2022-JP", strings.ToLower(label), d.field)
		return strings.NewReader(s), nil
	}
	d.problem("unknown charset %s in %s; invalid bytes replaced", strings.ToLower(label), d.field)
	return strings.NewReader(strings.ToValidUTF8(string(b), "\uFFFD")), nil
}

// joinWords merges runs of adjacent encoded-words in one multibyte charset
// before they are decoded. Encoders that split a subject into words mid
// character (Shift_JIS) or without returning to ASCII (ISO-2022-JP) leave
// words that only decode together; mime.WordDecoder decodes each alone.
func (d *decoder) joinWords(s string) string {
	var b strings.Builder
	pos := 0
	for {
		start, end, cs, ok := nextEncodedWord(s, pos)
		if !ok {
			break
		}
		runEnd, n := end, 1
		for {
			s2, e2, cs2, ok2 := nextEncodedWord(s, runEnd)
			if !ok2 || strings.Trim(s[runEnd:s2], " \t") != "" || !strings.EqualFold(cs, cs2) {
				break
			}
			runEnd, n = e2, n+1
		}
		b.WriteString(s[pos:start])
		pos = runEnd
		switch strings.ToLower(cs) {
		case "utf-8", "utf8", "us-ascii", "iso-8859-1":
			n = 1 // decoded byte-wise or single-byte: nothing to join
		}
		raw, err := rawWords.DecodeHeader(s[start:runEnd])
		if n == 1 || err != nil {
			b.WriteString(s[start:runEnd])
			continue
		}
		text, _ := d.wordCharset(cs, strings.NewReader(raw))
		joined, _ := io.ReadAll(text)
		b.WriteString("=?utf-8?b?" + base64.StdEncoding.EncodeToString(joined) + "?=")
	}
	b.WriteString(s[pos:])
	return b.String()
}

// rawWords decodes encoded-words to their bytes, leaving the charset alone.
var rawWords = mime.WordDecoder{CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil }}

// nextEncodedWord finds the first "=?charset?B|Q?text?=" at or after from.
func nextEncodedWord(s string, from int) (start, end int, cs string, ok bool) {
	for from < len(s) {
		i := strings.Index(s[from:], "=?")
		if i < 0 {
			return 0, 0, "", false
		}
		start = from + i
		rest := s[start+2:]
		q := strings.IndexByte(rest, '?')
		if q <= 0 || len(rest) < q+3 || rest[q+2] != '?' || strings.ContainsAny(rest[:q], " \t") ||
			!strings.ContainsRune("bBqQ", rune(rest[q+1])) {
			from = start + 2
			continue
		}
		t := strings.Index(rest[q+3:], "?=")
		if t < 0 {
			return 0, 0, "", false
		}
		cs, _, _ = strings.Cut(rest[:q], "*") // RFC 2231 language suffix
		return start, start + 2 + q + 3 + t + 2, cs, true
	}
	return 0, 0, "", false
}

// addresses parses address fields, falling back to anything that looks like
// an address when net/mail rejects the field.
func (d *decoder) addresses(field string, values []string) []*netmail.Address {
	var out []*netmail.Address
	parser := netmail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: d.wordCharset}}
	for _, v := range values {
		d.field = field
		v = d.joinWords(d.raw8bit(field, v))
		list, err := parser.ParseList(v)
		if err != nil {
			d.problem("unreadable %s %q; addresses picked out of it", field, clipValue(v))
			list = looseAddresses(v)
		}
		for _, a := range list {
			a.Address = strings.ToLower(strings.ToValidUTF8(a.Address, ""))
			// net/mail leaves encoded-words in a quoted display name as they
			// are; Japanese mailers quote them all the time.
			a.Name = d.headerText(field, a.Name)
			if a.Address != "" {
				out = append(out, a)
			}
		}
	}
	return out
}

func looseAddresses(v string) []*netmail.Address {
	var out []*netmail.Address
	for _, f := range splitUnquoted(v, ',') {
		addr := ""
		if i := strings.LastIndexByte(f, '<'); i >= 0 {
			addr, _, _ = strings.Cut(f[i+1:], ">")
		} else {
			for _, w := range strings.Fields(f) {
				if strings.Contains(w, "@") {
					addr = w
					break
				}
			}
		}
		if addr = strings.Trim(addr, " \t\"'()[]"); addr != "" && !strings.ContainsAny(addr, " \t") {
			out = append(out, &netmail.Address{Address: addr})
		}
	}
	return out
}

func messageID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	return singleLine(strings.Trim(v, " \t<>"))
}

// zoneOffsets fixes zone names time.Parse only records: "10:00:00 JST"
// parses as 10:00 UTC otherwise, and Japanese appliances send just that.
var zoneOffsets = map[string]int{"JST": 9 * 3600, "KST": 9 * 3600}

func (d *decoder) date(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := netmail.ParseDate(v)
	if err != nil {
		d.problem("unreadable Date %q", clipValue(v))
		return time.Time{}
	}
	if name, offset := t.Zone(); offset == 0 {
		if real, ok := zoneOffsets[name]; ok {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.FixedZone(name, real))
		}
	}
	return t
}

// singleLine makes header text one line of valid UTF-8: control characters
// (folding left by encoded newlines, tabs) become single spaces.
func singleLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || r == ' ' || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func clipValue(s string) string {
	const n = 80
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	return string(trimPartialRune([]byte(s[:n]))) + "…"
}

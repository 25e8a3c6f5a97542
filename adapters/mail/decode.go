package mail

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// ErrNotMail is returned, wrapped, by Decode when the input has neither a
// header section nor any readable body.
var ErrNotMail = errors.New("not a mail message")

const (
	// maxHeaderBytes bounds the header section that is parsed into fields;
	// real headers, Received chains included, stay far below it.
	maxHeaderBytes = 256 << 10
	// maxHTMLBytes bounds how much of an HTML part is read: markup is larger
	// than the text it yields, but MaxText of text comes long before this.
	maxHTMLBytes = 2 << 20
	// textBudget bounds the body text read over all parts, so a mail of many
	// text parts is not held in memory whole.
	textBudget     = 4 * MaxText
	maxNesting     = 16
	maxParts       = 500 // alert mail has a handful; each costs a header parse
	maxAttachments = 100
	maxProblems    = 20
)

// Decode reads an alert mail: its addresses, subject and date, and its body
// as text in UTF-8. Mail that is only partly readable is not an error: what
// could be read is returned and Problems names the rest. Decode returns an
// error wrapping ErrNotMail only when raw has no header field and no text.
func Decode(raw []byte) (Message, error) {
	d := &decoder{}
	hdr, body := d.splitHeader(raw)
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(hdr)))
	if err != nil {
		d.problem("malformed header section: %v", err)
	}
	pieces := d.entity(h, bytes.NewReader(body), "", 0)

	var m Message
	m.Text = joinPieces(pieces)
	if h.Len() == 0 {
		if !hasVisibleText(m.Text) && len(d.attachments) == 0 {
			return Message{}, fmt.Errorf("%w: no header field and no readable body", ErrNotMail)
		}
		d.problem("no header section; the whole input read as body")
	}

	m.MessageID = messageID(h.Get("Message-Id"))
	if from := d.addresses("From", h.Values("From")); len(from) > 0 {
		m.From, m.FromName = from[0].Address, from[0].Name
	}
	for _, a := range d.addresses("To", slices.Concat(h.Values("To"), h.Values("Cc"))) {
		if !slices.Contains(m.To, a.Address) {
			m.To = append(m.To, a.Address)
		}
	}
	m.Subject = d.headerText("Subject", h.Get("Subject"))
	m.Date = d.date(h.Get("Date"))
	m.Attachments = d.attachments
	m.Problems = d.problems
	return m, nil
}

// decoder collects what Decode finds while it walks one message.
type decoder struct {
	problems    []string
	attachments []string
	// bodyCharset is the first charset a text part declares; raw 8-bit
	// header bytes are most likely in it.
	bodyCharset string
	textRead    int
	parts       int
	// field names the header being decoded, for problems found by the
	// word decoder's charset callback.
	field string
}

func (d *decoder) problem(format string, args ...any) {
	p := fmt.Sprintf(format, args...)
	switch {
	case len(d.problems) >= maxProblems || slices.Contains(d.problems, p):
	case len(d.problems) == maxProblems-1:
		d.problems = append(d.problems, "more problems, not listed")
	default:
		d.problems = append(d.problems, p)
	}
}

func (d *decoder) attach(name string) {
	switch {
	case len(d.attachments) < maxAttachments:
		d.attachments = append(d.attachments, name)
	case len(d.attachments) == maxAttachments:
		d.problem("more than %d attachments; the rest not listed", maxAttachments)
	}
}

// splitHeader finds the header section and the body. textproto.ReadHeader
// stops at the first line that is not a field and does not say where that
// was, so the boundary is found here and the body kept from that line on.
func (d *decoder) splitHeader(raw []byte) (hdr, body []byte) {
	pos := 0
	// An mbox "From " envelope line, as left by some local delivery agents.
	if bytes.HasPrefix(raw, []byte("From ")) {
		if l, _ := lineAt(raw, 0); !isFieldLine(l) {
			_, pos = lineAt(raw, 0)
		}
	}
	start, cut := pos, -1
	for pos < len(raw) {
		line, next := lineAt(raw, pos)
		switch {
		case len(line) == 0:
			return raw[start:headerCut(cut, pos)], raw[next:]
		case line[0] == ' ' || line[0] == '\t':
			if pos == start {
				return nil, raw[start:]
			}
		case !isFieldLine(line):
			if pos > start {
				d.problem("header section ends without a blank line")
			}
			return raw[start:headerCut(cut, pos)], raw[pos:]
		}
		if cut < 0 && next-start > maxHeaderBytes {
			d.problem("header section longer than %d KiB; the rest of it ignored", maxHeaderBytes>>10)
			cut = pos
		}
		pos = next
	}
	return raw[start:headerCut(cut, pos)], nil
}

func headerCut(cut, pos int) int {
	if cut >= 0 {
		return cut
	}
	return pos
}

// lineAt returns the line at pos without its line ending, and where the
// next line starts.
func lineAt(b []byte, pos int) (line []byte, next int) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return bytes.TrimSuffix(b[pos:], []byte("\r")), len(b)
	}
	return bytes.TrimSuffix(b[pos:pos+i], []byte("\r")), pos + i + 1
}

// isFieldLine reports whether textproto.ReadHeader accepts line as a field.
func isFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return false
	}
	for _, c := range bytes.Trim(line[:i], " \t") {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// bodyPiece is body text from one part; html tells alternatives apart.
type bodyPiece struct {
	text string
	html bool
}

func (d *decoder) entity(h textproto.Header, body io.Reader, where string, depth int) []bodyPiece {
	mediaType, params := d.contentType(h, where)
	if !strings.HasPrefix(mediaType, "multipart/") {
		return d.leaf(h, mediaType, params, body, where)
	}
	if depth >= maxNesting {
		d.problem("multipart nested deeper than %d%s; inner parts skipped", maxNesting, inPart(where))
		return nil
	}
	return d.multipart(mediaType, params["boundary"], body, where, depth)
}

// multipart reads the parts of a multipart body. Parts read before the
// structure breaks are kept; a body in which no part can be found is kept as
// text, since it is then most likely not multipart at all.
func (d *decoder) multipart(mediaType, boundary string, body io.Reader, where string, depth int) []bodyPiece {
	src := &prefixReader{r: body, max: MaxText + utf8.UTFMax}
	mr := textproto.NewMultipartReader(src, boundary)
	var children [][]bodyPiece
	truncated := false
	for i := 1; ; i++ {
		if d.parts++; d.parts > maxParts {
			d.problem("more than %d MIME parts; the rest not read", maxParts)
			break
		}
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			switch {
			case truncated:
				d.problem("%s%s ends without its closing boundary", mediaType, inPart(where))
			case i == 1:
				d.problem("%s%s has no part delimited by boundary %q; its body read as text", mediaType, inPart(where), boundary)
				return []bodyPiece{{text: d.plainText(src.fill(), "", "", where)}}
			default:
				d.problem("%s%s is malformed after part %d: %v", mediaType, inPart(where), i-1, err)
			}
			break
		}
		children = append(children, d.entity(part.Header, part, partPath(where, i), depth+1))
		// NextPart would discard the rest too; reading it here tells a
		// part cut off by the end of input from a well-formed one.
		if _, err := io.Copy(io.Discard, part); errors.Is(err, io.ErrUnexpectedEOF) {
			truncated = true
		}
	}
	if mediaType == "multipart/alternative" {
		return bestAlternative(children)
	}
	var all []bodyPiece
	for _, c := range children {
		all = append(all, c...)
	}
	return all
}

// bestAlternative prefers plain text, then HTML, then whatever has text.
func bestAlternative(children [][]bodyPiece) []bodyPiece {
	best, bestRank := -1, 0
	for i, c := range children {
		rank := 0
		for _, p := range c {
			switch {
			case strings.TrimSpace(p.text) == "":
			case !p.html:
				rank = max(rank, 3)
			default:
				rank = max(rank, 2)
			}
		}
		if rank > bestRank {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return nil
	}
	return children[best]
}

func partPath(parent string, i int) string {
	if parent == "" {
		return fmt.Sprint(i)
	}
	return fmt.Sprintf("%s.%d", parent, i)
}

func inPart(where string) string {
	if where == "" {
		return ""
	}
	return " in part " + where
}

// leaf reads a part that is not multipart: text/plain and text/html that are
// not attachments become body text, anything else is listed by file name.
func (d *decoder) leaf(h textproto.Header, mediaType string, params map[string]string, body io.Reader, where string) []bodyPiece {
	disposition, dispParams := mediaParams(h.Get("Content-Disposition"))
	name := dispParams["filename"]
	if name == "" {
		name = params["name"]
	}
	isHTML := mediaType == "text/html"
	// As go-message's mail.Reader has it: text is body unless it is an
	// attachment; a file name alone makes it one unless it is marked inline.
	isBody := (mediaType == "text/plain" || isHTML) && disposition != "attachment" &&
		(name == "" || disposition == "inline")
	if !isBody {
		if name = d.headerText("file name", name); name == "" {
			name = mediaType // a part without a file name is listed by its type
		}
		d.attach(name)
		return nil
	}
	cs := strings.ToLower(strings.TrimSpace(params["charset"]))
	if d.bodyCharset == "" && cs != "" && cs != "us-ascii" {
		d.bodyCharset = cs
	}
	if d.textRead >= textBudget {
		return nil
	}

	// A fresh header carries only what go-message needs, normalised.
	rec := &errReader{r: body}
	var src io.Reader = rec
	var mh message.Header
	ct := map[string]string{}
	badLabel := cs != "" && !isMIMEToken(cs) // would not survive go-message's parsing
	if cs != "" && !badLabel {
		ct["charset"] = cs
	}
	mh.SetContentType(mediaType, ct)
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	if cte == "quoted-printable" {
		// mime/quotedprintable stops at the first raw control byte, and
		// ISO-2022-JP text declared quoted-printable often carries raw ESC.
		src = quotedprintable.NewReader(&controlEscaper{r: rec})
	} else {
		mh.Set("Content-Transfer-Encoding", cte)
	}
	e, err := message.New(mh, src)
	if message.IsUnknownEncoding(err) || (err != nil && !knownTransferEncoding(cte)) {
		d.problem("unknown transfer encoding %s%s; body read as sent", cte, inPart(where))
	}
	unknownCharset := badLabel || message.IsUnknownCharset(err)

	limit := MaxText + utf8.UTFMax
	if isHTML {
		limit = maxHTMLBytes
	}
	data, rerr := io.ReadAll(io.LimitReader(e.Body, int64(limit)))
	if rerr != nil && !errors.Is(rec.err, io.ErrUnexpectedEOF) {
		// An early end of the part itself is reported once by multipart.
		d.readProblem(rerr, where)
	}
	if len(data) == limit {
		if isHTML {
			d.problem("HTML part longer than %d MiB%s; only its start read", maxHTMLBytes>>20, inPart(where))
		}
		data = trimPartialRune(data)
	}

	var text string
	switch {
	case unknownCharset:
		text = d.unknownCharset(cs, data, where)
	case cs == "" || cs == "us-ascii" || cs == "utf-8" || cs == "utf8":
		declared := cs
		if isHTML && cs == "" {
			declared = metaCharset(data)
		}
		text = d.plainText(data, declared, cs, where)
	default:
		text = string(data) // converted by go-message
	}
	if isHTML {
		text = htmlToText(text)
	}
	d.textRead += len(text)
	return []bodyPiece{{text: text, html: isHTML}}
}

func isMIMEToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

func knownTransferEncoding(cte string) bool {
	switch cte {
	case "", "7bit", "8bit", "binary", "base64", "quoted-printable":
		return true
	}
	return false
}

func (d *decoder) readProblem(err error, where string) {
	var corrupt base64.CorruptInputError
	switch {
	case errors.As(err, &corrupt):
		d.problem("corrupt base64 at byte %d%s; kept what decoded before it", int64(corrupt), inPart(where))
	case errors.Is(err, io.ErrUnexpectedEOF):
		d.problem("truncated base64%s; kept what decoded", inPart(where))
	case strings.HasPrefix(err.Error(), "quotedprintable:"):
		d.problem("malformed quoted-printable%s (%v); kept what decoded before it", inPart(where), err)
	default:
		d.problem("unreadable body%s: %v", inPart(where), err)
	}
}

// plainText turns bytes said to be in declared (a charset label or "") into
// UTF-8. Text without a useful label is sniffed for ISO-2022-JP escapes,
// which old Japanese appliances send unlabelled; what is still not UTF-8
// has its invalid bytes replaced. label is the charset as the mail named it.
func (d *decoder) plainText(data []byte, declared, label, where string) string {
	if declared != "" && declared != "us-ascii" && declared != "utf-8" && declared != "utf8" {
		if s, ok := decodeCharset(declared, data); ok {
			return s
		}
	}
	if isJIS(data) {
		d.problem("ISO-2022-JP text without that charset declared%s; read as ISO-2022-JP", inPart(where))
		s, _ := decodeCharset("iso-2022-jp", data)
		return s
	}
	if utf8.Valid(data) {
		return string(data)
	}
	if label == "" {
		d.problem("8-bit text without a charset%s; invalid bytes replaced", inPart(where))
	} else {
		d.problem("text is not valid %s%s; invalid bytes replaced", label, inPart(where))
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

func (d *decoder) unknownCharset(cs string, data []byte, where string) string {
	if s, ok := decodeCharset(cs, data); ok { // a Japanese vendor label go-message lacks
		return s
	}
	if isJIS(data) {
		d.problem("unknown charset %s%s; read as ISO-2022-JP", cs, inPart(where))
		s, _ := decodeCharset("iso-2022-jp", data)
		return s
	}
	d.problem("unknown charset %s%s; invalid bytes replaced", cs, inPart(where))
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// joinPieces makes the body text: pieces separated by a blank line, line
// endings as "\n", valid UTF-8, at most MaxText bytes cut on a rune boundary.
func joinPieces(pieces []bodyPiece) string {
	var b strings.Builder
	for _, p := range pieces {
		t := strings.ReplaceAll(p.text, "\r\n", "\n")
		t = strings.Trim(strings.ReplaceAll(t, "\r", "\n"), "\n")
		if strings.TrimSpace(t) == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(t)
		if b.Len() > MaxText {
			break
		}
	}
	s := strings.ToValidUTF8(b.String(), "\uFFFD")
	if len(s) > MaxText {
		s = cutRunes(s, MaxText)
	}
	return s
}

// cutRunes returns the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b, as left
// by a read cut at a byte limit.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// hasVisibleText reports whether s has any visible character that is not a
// replacement for bytes that could not be read.
func hasVisibleText(s string) bool {
	for _, r := range s {
		if unicode.IsGraphic(r) && !unicode.IsSpace(r) && r != utf8.RuneError {
			return true
		}
	}
	return false
}

// prefixReader keeps the first max bytes read through it, so a multipart body
// that turns out not to be multipart can still be read as text.
type prefixReader struct {
	r      io.Reader
	max    int
	prefix []byte
}

func (p *prefixReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if room := p.max - len(p.prefix); room > 0 {
		p.prefix = append(p.prefix, b[:min(n, room)]...)
	}
	return n, err
}

// fill reads on until the prefix is full or the input ends, and returns it.
func (p *prefixReader) fill() []byte {
	if room := p.max - len(p.prefix); room > 0 {
		_, _ = io.Copy(io.Discard, io.LimitReader(p, int64(room)))
	}
	return p.prefix
}

// errReader remembers the error its reader returned, so a part cut short by
// a missing boundary is told apart from one that fails to decode.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// controlEscaper rewrites raw control bytes as =XX escapes so that
// mime/quotedprintable, which rejects them, decodes them to themselves.
type controlEscaper struct {
	r       io.Reader
	pending []byte
	buf     [512]byte
}

func (c *controlEscaper) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		n, err := c.r.Read(c.buf[:])
		if n == 0 {
			return 0, err
		}
		c.pending = c.pending[:0]
		for _, ch := range c.buf[:n] {
			if (ch < ' ' && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f {
				c.pending = append(c.pending, '=', "0123456789ABCDEF"[ch>>4], "0123456789ABCDEF"[ch&15])
			} else {
				c.pending = append(c.pending, ch)
			}
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

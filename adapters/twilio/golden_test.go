package twilio

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.xml from the current output")

// node is a parsed XML element; TwiML is compared parsed, never as raw text,
// so attribute order and whitespace do not matter.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func parseTwiML(t *testing.T, doc string) node {
	t.Helper()
	var n node
	if err := xml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatalf("TwiML does not parse: %v\n%s", err, doc)
	}
	if n.XMLName.Local != "Response" {
		t.Fatalf("root is <%s>, want <Response>", n.XMLName.Local)
	}
	return n
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// children returns the direct children named name.
func (n node) children(name string) []node {
	var out []node
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

func (n node) names() []string {
	var out []string
	for _, c := range n.Nodes {
		out = append(out, c.XMLName.Local)
	}
	return out
}

// canonical renders a parsed document one element per line, attributes
// sorted: the golden files' form.
func canonical(n node) string {
	var b strings.Builder
	b.WriteString(xml.Header)
	writeNode(&b, n, 0)
	return b.String()
}

func writeNode(b *strings.Builder, n node, depth int) {
	indent := strings.Repeat("  ", depth)
	attrs := slices.Clone(n.Attrs)
	slices.SortFunc(attrs, func(x, y xml.Attr) int { return strings.Compare(x.Name.Local, y.Name.Local) })
	b.WriteString(indent + "<" + n.XMLName.Local)
	for _, a := range attrs {
		b.WriteString(" " + a.Name.Local + `="`)
		xml.EscapeText(b, []byte(a.Value))
		b.WriteString(`"`)
	}
	text := strings.TrimSpace(n.Text)
	if text == "" && len(n.Nodes) == 0 {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">\n")
	if text != "" {
		b.WriteString(indent + "  ")
		xml.EscapeText(b, []byte(text))
		b.WriteString("\n")
	}
	for _, c := range n.Nodes {
		writeNode(b, c, depth+1)
	}
	b.WriteString(indent + "</" + n.XMLName.Local + ">\n")
}

// golden compares doc, parsed, with testdata/name, parsed; -update rewrites
// the file.
func golden(t *testing.T, name, doc string) {
	t.Helper()
	got := canonical(parseTwiML(t, doc))
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if want := canonical(parseTwiML(t, string(raw))); got != want {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

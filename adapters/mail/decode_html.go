// HTML body parts reduced to text.

package mail

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// htmlToText reduces HTML to readable text: script, style and head dropped,
// block elements and <br> as line breaks, table cells separated by tabs,
// link targets kept after their text, whitespace collapsed outside <pre>.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	w := &textWriter{}
	skipText, inHead, pre := false, false, 0
	var href string
	linkStart := -1
	for w.b.Len() <= MaxText {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt == html.TextToken {
			if !skipText && !inHead {
				w.text(string(z.Text()), pre > 0)
			}
			continue
		}
		skipText = false
		if tt != html.StartTagToken && tt != html.EndTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		nameBytes, hasAttr := z.TagName()
		name := string(nameBytes)
		start := tt != html.EndTagToken
		switch name {
		case "script", "style", "title", "noscript", "noembed", "noframes", "iframe", "template":
			// The tokenizer reads their content as one raw text token.
			skipText = start
		case "head":
			inHead = start
		case "body":
			inHead = false
		case "br":
			w.br()
		case "pre":
			w.lineBreak(1)
			if start && tt != html.SelfClosingTagToken {
				pre++
			} else if !start && pre > 0 {
				pre--
			}
		case "td", "th":
			if start {
				w.cell()
			}
		case "li":
			w.lineBreak(1)
			if start {
				w.text("-", false)
				w.space = true
			}
		case "a":
			if start {
				href, linkStart = "", w.b.Len()
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "href" {
						href = strings.TrimSpace(string(v))
					}
				}
			} else if linkStart >= 0 {
				text := w.b.String()[linkStart:]
				if (strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://")) && !strings.Contains(text, href) {
					w.text(" ("+href+")", false)
				}
				linkStart = -1
			}
		default:
			if blockElements[name] {
				w.lineBreak(paragraphElements[name] + 1)
			}
		}
	}
	return strings.TrimSpace(w.b.String())
}

var blockElements = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "caption": true,
	"center": true, "dd": true, "div": true, "dl": true, "dt": true, "fieldset": true,
	"figcaption": true, "figure": true, "footer": true, "form": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "header": true, "hr": true, "main": true,
	"nav": true, "ol": true, "p": true, "section": true, "table": true, "tbody": true,
	"tfoot": true, "thead": true, "tr": true, "ul": true,
}

// paragraphElements are followed by a blank line rather than a line break.
var paragraphElements = map[string]int{
	"p": 1, "h1": 1, "h2": 1, "h3": 1, "h4": 1, "h5": 1, "h6": 1, "table": 1, "blockquote": 1,
}

type textWriter struct {
	b        strings.Builder
	space    bool // whitespace seen since the last character written
	newlines int  // line breaks at the end of b
}

func (w *textWriter) text(s string, verbatim bool) {
	for _, r := range s {
		switch {
		case verbatim && r == '\r':
		case verbatim && r == '\n':
			w.b.WriteByte('\n')
			w.newlines++
		case verbatim:
			w.b.WriteRune(r)
			w.newlines, w.space = 0, false
		case unicode.IsSpace(r) || r == '\u00a0':
			w.space = true
		case unicode.IsControl(r):
		default:
			if w.space && w.newlines == 0 && w.b.Len() > 0 {
				w.b.WriteByte(' ')
			}
			w.space = false
			w.b.WriteRune(r)
			w.newlines = 0
		}
	}
}

// lineBreak ends the current line and leaves n-1 blank lines, without
// stacking breaks from nested blocks.
func (w *textWriter) lineBreak(n int) {
	w.space = false
	for w.b.Len() > 0 && w.newlines < n {
		w.b.WriteByte('\n')
		w.newlines++
	}
}

func (w *textWriter) br() {
	w.space = false
	if w.b.Len() > 0 && w.newlines < 2 {
		w.b.WriteByte('\n')
		w.newlines++
	}
}

func (w *textWriter) cell() {
	w.space = false
	if w.newlines == 0 && w.b.Len() > 0 {
		w.b.WriteByte('\t')
	}
}

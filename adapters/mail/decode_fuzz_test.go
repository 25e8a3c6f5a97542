package mail

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds Decode mangled alert mail: it must never panic, and what
// it returns must hold the Message invariants whatever the input.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(decodeSampleDir, "*.eml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples in %s: %v", decodeSampleDir, err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Decode(raw)
		if err != nil {
			if !errors.Is(err, ErrNotMail) {
				t.Fatalf("error %v does not wrap ErrNotMail", err)
			}
			return
		}
		if !utf8.ValidString(m.Text) {
			t.Errorf("Text is not valid UTF-8: %q", m.Text)
		}
		if len(m.Text) > MaxText {
			t.Errorf("Text is %d bytes, over MaxText", len(m.Text))
		}
		if strings.ContainsAny(m.Subject, "\r\n") || !utf8.ValidString(m.Subject) {
			t.Errorf("Subject %q is not one line of UTF-8", m.Subject)
		}
		for _, s := range append([]string{m.From, m.FromName, m.MessageID}, append(m.To, m.Attachments...)...) {
			if !utf8.ValidString(s) {
				t.Errorf("%q is not valid UTF-8", s)
			}
		}
		if len(m.Attachments) > maxAttachments || len(m.Problems) > maxProblems {
			t.Errorf("%d attachments, %d problems: over the caps", len(m.Attachments), len(m.Problems))
		}
	})
}

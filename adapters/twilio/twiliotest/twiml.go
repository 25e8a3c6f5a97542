package twiliotest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// gatherVerb is the part of a <Gather> a callee's key needs.
type gatherVerb struct {
	action    string // absolute
	method    string
	numDigits int // 0: no limit
}

// checkTwiML accepts a well-formed document whose root is <Response>, as
// Twilio does before it runs one.
func checkTwiML(doc string) error {
	_, err := firstGather(doc, "")
	var noAction *missingActionError
	if errors.As(err, &noAction) {
		return nil // fine until a key is pressed
	}
	return err
}

type missingActionError struct{}

func (*missingActionError) Error() string {
	return "<Gather> has no action and the TwiML came from no URL"
}

// firstGather parses a TwiML document and returns its first <Gather>, nil
// when it has none. An action is resolved against docURL, the URL the
// document came from, which is also Twilio's default action.
func firstGather(doc, docURL string) (*gatherVerb, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	var (
		found *gatherVerb
		depth int
		root  bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("TwiML does not parse: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root || t.Name.Local != "Response" {
					return nil, fmt.Errorf("TwiML root is <%s>, want one <Response>", t.Name.Local)
				}
				root = true
			}
			depth++
			if t.Name.Local == "Gather" && found == nil {
				g, err := gatherOf(t, docURL)
				if err != nil {
					return nil, err
				}
				found = g
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(t)) != "" {
				return nil, errors.New("TwiML has text outside <Response>")
			}
		}
	}
	if !root {
		return nil, errors.New("TwiML has no <Response>")
	}
	return found, nil
}

func gatherOf(t xml.StartElement, docURL string) (*gatherVerb, error) {
	g := &gatherVerb{method: "POST"}
	var action string
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "action":
			action = a.Value
		case "method":
			g.method = strings.ToUpper(a.Value)
		case "numDigits":
			n, err := strconv.Atoi(a.Value)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("<Gather numDigits=%q>: want a positive number", a.Value)
			}
			g.numDigits = n
		}
	}
	if g.method != "POST" && g.method != "GET" {
		return nil, fmt.Errorf("<Gather method=%q>: want GET or POST", g.method)
	}
	base, err := url.Parse(docURL)
	if err != nil {
		return nil, fmt.Errorf("document URL %q: %w", docURL, err)
	}
	ref, err := url.Parse(action)
	if err != nil {
		return nil, fmt.Errorf("<Gather action=%q>: %w", action, err)
	}
	abs := base.ResolveReference(ref)
	if !abs.IsAbs() {
		return nil, &missingActionError{}
	}
	g.action = abs.String()
	return g, nil
}

// Package webhook ingests alerts over HTTP: it turns the JSON payloads of
// monitoring tools (a generic format, Prometheus Alertmanager, Grafana) into
// bot.Alert values.
package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"

	"github.com/hotline-dev/hotline/bot"
)

// Parser turns one request body into alerts. It fills everything the payload
// says (source, fingerprint, status, title, body, severity, labels, links,
// raw); the caller sets Integration, Service and ReceivedAt. Bad input yields
// a *bot.InvalidError whose reason can be sent back as the 400 body.
type Parser func(body []byte) ([]bot.Alert, error)

var parsers = map[string]Parser{
	"generic":      parseGeneric,
	"alertmanager": parseAlertmanager,
	"grafana":      parseGrafana,
}

// ParserFor returns the parser for an integration kind, false for a kind this
// package does not know.
func ParserFor(kind string) (Parser, bool) {
	p, ok := parsers[kind]
	return p, ok
}

// Kinds lists the integration kinds ParserFor knows, sorted, so config
// validation can name them.
func Kinds() []string {
	kinds := make([]string, 0, len(parsers))
	for k := range parsers {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// decodeObject reads body as exactly one JSON object. The sender gets the byte
// offset of a syntax error because that is what finds it in a large payload.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	// The object is found by peeking at its first byte, so a well-formed body
	// is scanned once by the decoder rather than once more to learn its type.
	if k := kindOf(body); k != "object" && json.Valid(body) {
		return nil, bot.Invalid("body must be a JSON object, got %s", article(k))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return nil, bot.Invalid("empty body: expected a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, bot.Invalid("invalid JSON at offset %d: unexpected end of input", len(body))
		case errors.As(err, &syn):
			return nil, bot.Invalid("invalid JSON at offset %d: %s", syn.Offset, syn.Error())
		default:
			return nil, bot.Invalid("invalid JSON: %s", err.Error())
		}
	}
	// Decode stops after the first value; anything but whitespace after it is
	// a broken sender (two payloads concatenated, a truncated retry...).
	if end := dec.InputOffset(); len(trimJSONSpace(body[end:])) > 0 {
		return nil, bot.Invalid("invalid JSON at offset %d: unexpected data after the top-level value", end)
	}
	return m, nil
}

// trimJSONSpace trims only what JSON calls whitespace: bytes.TrimSpace would
// also accept Unicode spaces that no JSON parser does.
func trimJSONSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

// kindOf names the JSON type of a valid raw value.
func kindOf(raw json.RawMessage) string {
	raw = trimJSONSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func article(kind string) string {
	switch kind {
	case "object", "array":
		return "an " + kind
	case "null", "nothing":
		return kind
	}
	return "a " + kind
}

// shortHash is a stable, compact dedup key for an arbitrary string.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

package discordtest

import (
	"fmt"
	"net/http"
	"strings"
)

// formErrors collects what is wrong with a request body and answers the
// way Discord does, every problem at once, nested by JSON path:
//
//	{"code": 50035, "message": "Invalid Form Body",
//	 "errors": {"embeds": {"0": {"title": {"_errors": [
//	   {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]}}}}}
type formErrors struct {
	tree   map[string]any
	n      int
	prefix string // "data" for an interaction response's message
}

type fieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// add records a problem at a dotted path ("embeds.0.title"); "" is the
// body itself.
func (f *formErrors) add(path, code, message string) {
	if f.tree == nil {
		f.tree = map[string]any{}
	}
	node := f.tree
	if f.prefix != "" {
		path = strings.TrimSuffix(f.prefix+"."+path, ".")
	}
	if path != "" {
		for _, key := range strings.Split(path, ".") {
			child, ok := node[key].(map[string]any)
			if !ok {
				child = map[string]any{}
				node[key] = child
			}
			node = child
		}
	}
	list, _ := node["_errors"].([]fieldError)
	node["_errors"] = append(list, fieldError{Code: code, Message: message})
	f.n++
}

func (f *formErrors) empty() bool { return f.n == 0 }

func (f *formErrors) reply() reply {
	return reply{status: http.StatusBadRequest, code: 50035, body: map[string]any{
		"code": 50035, "message": "Invalid Form Body", "errors": f.tree,
	}}
}

// Discord's wording for the usual problems.

func (f *formErrors) required(path string) {
	f.add(path, "BASE_TYPE_REQUIRED", "This field is required")
}

func (f *formErrors) maxLength(path string, limit int) {
	f.add(path, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", limit))
}

func (f *formErrors) badLength(path string, low, high int) {
	f.add(path, "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", low, high))
}

// length checks a string of runes against low..high, as Discord counts.
func (f *formErrors) length(path, s string, low, high int) {
	n := len([]rune(s))
	switch {
	case n == 0 && low > 0:
		f.required(path)
	case n < low || n > high:
		if low == 0 {
			f.maxLength(path, high)
		} else {
			f.badLength(path, low, high)
		}
	}
}

func path(parts ...any) string {
	s := make([]string, 0, len(parts))
	for _, p := range parts {
		if p == "" {
			continue
		}
		s = append(s, fmt.Sprint(p))
	}
	return strings.Join(s, ".")
}

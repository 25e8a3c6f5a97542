package twiliotest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// listCalls answers GET Calls.json like Twilio: To, From, Status and
// StartTime filters, newest first, paged with next_page_uri.
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pageSize, page := 50, 0
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			twilioError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("PageSize %q: want 1 to 1000.", v))
			return
		}
		pageSize = n
	}
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			twilioError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("Page %q: want 0 or more.", v))
			return
		}
		page = n
	}
	var filters []func(*call) bool
	for _, key := range []string{"StartTime", "StartTime>", "StartTime<"} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		f, err := startFilter(key, v)
		if err != nil {
			twilioError(w, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		filters = append(filters, f)
	}
	for _, key := range []string{"To", "From", "Status"} {
		if v := q.Get(key); v != "" {
			filters = append(filters, func(c *call) bool {
				switch key {
				case "To":
					return c.rec.To == v
				case "From":
					return c.rec.From == v
				}
				return c.rec.Status == v
			})
		}
	}

	s.mu.Lock()
	var matched []map[string]any
	for _, c := range slices.Backward(s.calls) { // newest first, as Twilio lists
		if !slices.ContainsFunc(filters, func(f func(*call) bool) bool { return !f(c) }) {
			matched = append(matched, s.callJSON(c))
		}
	}
	s.mu.Unlock()

	start := min(page*pageSize, len(matched))
	end := min(start+pageSize, len(matched))
	pageURI := func(p int) string {
		v := cloneValues(q)
		v.Set("PageSize", strconv.Itoa(pageSize))
		v.Set("Page", strconv.Itoa(p))
		if p > 0 {
			v.Set("PageToken", fmt.Sprintf("PT%d", p*pageSize))
		} else {
			v.Del("PageToken")
		}
		return r.URL.Path + "?" + v.Encode()
	}
	var next, prev any
	if end < len(matched) {
		next = pageURI(page + 1)
	}
	if page > 0 {
		prev = pageURI(page - 1)
	}
	calls := matched[start:end]
	if calls == nil {
		calls = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"calls":             calls,
		"end":               max(end-1, 0),
		"first_page_uri":    pageURI(0),
		"next_page_uri":     next,
		"page":              page,
		"page_size":         pageSize,
		"previous_page_uri": prev,
		"start":             start,
		"uri":               pageURI(page),
	})
}

// startFilter reads StartTime, StartTime> (on or after) and StartTime< (on
// or before): a date (YYYY-MM-DD, by UTC day) or an RFC 3339 time. A call
// starts when it is created here.
func startFilter(key, v string) (func(*call) bool, error) {
	if day, err := time.Parse(time.DateOnly, v); err == nil {
		dayOf := func(c *call) time.Time { return c.rec.CreatedAt.UTC().Truncate(24 * time.Hour) }
		switch key {
		case "StartTime>":
			return func(c *call) bool { return !dayOf(c).Before(day) }, nil
		case "StartTime<":
			return func(c *call) bool { return !dayOf(c).After(day) }, nil
		}
		return func(c *call) bool { return dayOf(c).Equal(day) }, nil
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("%s %q: want a date (YYYY-MM-DD) or an RFC 3339 time", key, v)
	}
	at = at.UTC()
	switch key {
	case "StartTime>":
		return func(c *call) bool { return !c.rec.CreatedAt.Before(at) }, nil
	case "StartTime<":
		return func(c *call) bool { return !c.rec.CreatedAt.After(at) }, nil
	}
	day := at.Truncate(24 * time.Hour)
	return func(c *call) bool { return c.rec.CreatedAt.UTC().Truncate(24 * time.Hour).Equal(day) }, nil
}

func (s *Server) fetchCall(w http.ResponseWriter, r *http.Request, sid string) {
	s.mu.Lock()
	c, ok := s.bySID[sid]
	var body map[string]any
	if ok {
		body = s.callJSON(c)
	}
	s.mu.Unlock()
	if !ok {
		notFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// Package api serves Hotline's own HTTP API: the incident read API behind a
// bearer token, and the health, readiness and metrics endpoints that
// orchestrators and Prometheus poll.
package api

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hotline-dev/hotline/bot"
)

// MaxLimit caps one listing.
const MaxLimit = 10000

// Config is what New needs.
type Config struct {
	Store interface {
		bot.Reader
		Ping(context.Context) error
	}
	// Actions changes incidents (POST .../ack, .../resolve, .../escalate);
	// nil: the API is read-only.
	Actions  Actions
	Token    string // empty: the incident API refuses every request
	Logger   *slog.Logger
	Gatherer prometheus.Gatherer // nil: no /metrics
}

// Actions is what the API's POST routes do to an incident.
type Actions interface {
	Acknowledge(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error)
	Resolve(ctx context.Context, number int64, summary string, by bot.Actor) (bot.Incident, error)
	// CallNow starts the phone escalation now (skips the chat window).
	CallNow(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error)
}

// API serves the routes.
type API struct {
	cfg Config
	log *slog.Logger
}

// New returns the API.
func New(cfg Config) *API {
	a := &API{cfg: cfg, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.ready)
	if a.cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.Handle("GET /v1/incidents", a.authorized(a.list))
	mux.Handle("GET /v1/incidents/{id}", a.authorized(a.show))
	if a.cfg.Actions != nil {
		mux.Handle("POST /v1/incidents/{id}/{action}", a.authorized(a.act))
	}
}

func (a *API) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.cfg.Store.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "database unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *API) authorized(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if a.cfg.Token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong API token: send Authorization: Bearer <http.api_token>")
			return
		}
		next(w, r)
	})
}

// Incident is the API's view of an incident.
type Incident struct {
	ID             int64        `json:"id"`
	Number         int64        `json:"number"`
	Ref            string       `json:"ref"`
	Service        string       `json:"service"`
	Title          string       `json:"title"`
	Status         bot.Status   `json:"status"`
	Severity       bot.Severity `json:"severity"`
	Impact         bot.Level    `json:"impact,omitempty"`
	Urgency        bot.Level    `json:"urgency,omitempty"`
	Priority       bot.Priority `json:"priority,omitempty"`
	Owner          string       `json:"owner,omitempty"`
	AlertCount     int          `json:"alert_count"`
	CreatedAt      time.Time    `json:"created_at"`
	AcknowledgedAt *time.Time   `json:"acknowledged_at"`
	ResolvedAt     *time.Time   `json:"resolved_at"`
	Timeline       []bot.Event  `json:"timeline,omitempty"`
}

func view(inc bot.Incident) Incident {
	return Incident{
		ID: inc.ID, Number: inc.Number, Ref: inc.Ref(), Service: inc.Service, Title: inc.Title,
		Status: inc.Status, Severity: inc.Severity, Impact: inc.Impact, Urgency: inc.Urgency, Priority: inc.Priority,
		Owner: inc.Owner, AlertCount: inc.AlertCount, CreatedAt: inc.CreatedAt,
		AcknowledgedAt: inc.AcknowledgedAt, ResolvedAt: inc.ResolvedAt,
	}
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := q.Get("status")
	if status == "" {
		status = "all"
	}
	if status != "open" && status != "resolved" && status != "all" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q: must be open, resolved or all", status))
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: must be a number from 1 to %d", s, MaxLimit))
			return
		}
		limit = n
	}
	list, err := a.cfg.Store.Incidents(r.Context(), bot.IncidentFilter{Status: status, Limit: limit})
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]Incident, 0, len(list))
	for _, inc := range list {
		out = append(out, view(inc))
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out})
}

// show takes the numeric id or the incident's name, INC-<n>.
func (a *API) show(w http.ResponseWriter, r *http.Request) {
	inc, ok := a.incident(w, r)
	if !ok {
		return
	}
	events, err := a.cfg.Store.Timeline(r.Context(), inc.ID, 0)
	if err != nil {
		a.fail(w, err)
		return
	}
	v := view(inc)
	v.Timeline = events
	if v.Timeline == nil {
		v.Timeline = []bot.Event{}
	}
	writeJSON(w, http.StatusOK, v)
}

// incident reads the {id} of the path: the numeric id or INC-<n>.
func (a *API) incident(w http.ResponseWriter, r *http.Request) (bot.Incident, bool) {
	raw := r.PathValue("id")
	var inc bot.Incident
	var err error
	if strings.HasPrefix(strings.ToUpper(raw), "INC-") {
		n, perr := bot.ParseRef(raw)
		if perr != nil {
			writeError(w, http.StatusBadRequest, perr.Error())
			return inc, false
		}
		inc, err = a.cfg.Store.IncidentByNumber(r.Context(), n)
	} else {
		id, perr := strconv.ParseInt(raw, 10, 64)
		if perr != nil || id <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not an incident id: use the number or INC-<n>", raw))
			return inc, false
		}
		inc, err = a.cfg.Store.Incident(r.Context(), id)
	}
	if err != nil {
		a.fail(w, err)
		return inc, false
	}
	return inc, true
}

// actionBody is the optional JSON body of a POST action.
type actionBody struct {
	By      string `json:"by"`      // who acts: a contact id or a name; default "api"
	Summary string `json:"summary"` // resolve only
}

// act acknowledges, resolves or escalates an incident: POST
// /v1/incidents/{id}/ack | resolve | escalate, with an optional body
// {"by": "tanaka", "summary": "..."}.
func (a *API) act(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != "ack" && action != "resolve" && action != "escalate" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no action %q: use ack, resolve or escalate", action))
		return
	}
	var body actionBody
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body over 64 KiB")
		return
	}
	if len(strings.TrimSpace(string(raw))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "body: "+err.Error()+` (want {"by": "...", "summary": "..."})`)
			return
		}
	}
	inc, ok := a.incident(w, r)
	if !ok {
		return
	}
	by := bot.Actor{ID: cmp.Or(strings.TrimSpace(body.By), "api"), Source: "api"}
	switch action {
	case "ack":
		inc, err = a.cfg.Actions.Acknowledge(r.Context(), inc.Number, by)
	case "resolve":
		inc, err = a.cfg.Actions.Resolve(r.Context(), inc.Number, body.Summary, by)
	case "escalate":
		inc, err = a.cfg.Actions.CallNow(r.Context(), inc.Number, by)
	}
	if errors.Is(err, bot.ErrConflict) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view(inc))
}

func (a *API) fail(w http.ResponseWriter, err error) {
	var invalid *bot.InvalidError
	switch {
	case errors.Is(err, bot.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such incident")
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, invalid.Reason)
	case errors.Is(err, bot.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, "the database is unavailable; retry later")
	default:
		a.log.Error("api", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

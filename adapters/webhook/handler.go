package webhook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-dev/hotline/bot"
)

// Integration is one configured alert source.
type Integration struct {
	ID      string
	Kind    string // generic, alertmanager, grafana
	Service string
	Token   string
}

// Ingester is the part of bot.Bot the handler needs.
type Ingester interface {
	Ingest(ctx context.Context, a bot.Alert) (bot.IngestResult, error)
}

// Config is what NewHandler needs.
type Config struct {
	Integrations []Integration
	Bot          Ingester
	Clock        bot.Clock
	Logger       *slog.Logger
	MaxBodyBytes int64 // default 1 MiB
	Metrics      prometheus.Registerer
}

// Handler serves POST /v1/integrations/{id}/alerts.
type Handler struct {
	integrations map[string]integration
	bot          Ingester
	clock        bot.Clock
	log          *slog.Logger
	maxBody      int64
	received     *prometheus.CounterVec
}

type integration struct {
	Integration
	parse Parser
}

// NewHandler checks that every integration's kind has a parser.
func NewHandler(cfg Config) (*Handler, error) {
	h := &Handler{
		integrations: map[string]integration{},
		bot:          cfg.Bot,
		clock:        cfg.Clock,
		log:          cfg.Logger,
		maxBody:      cfg.MaxBodyBytes,
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_alerts_received_total",
			Help: "Alerts received over webhooks, by integration and outcome.",
		}, []string{"integration", "outcome"}),
	}
	if h.clock == nil {
		h.clock = bot.SystemClock
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody <= 0 {
		h.maxBody = 1 << 20
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(h.received); err != nil {
			return nil, err
		}
	}
	for _, in := range cfg.Integrations {
		p, ok := ParserFor(in.Kind)
		if !ok {
			return nil, fmt.Errorf("integration %s: kind %q has no webhook parser", in.ID, in.Kind)
		}
		h.integrations[in.ID] = integration{Integration: in, parse: p}
	}
	return h, nil
}

// Register adds the handler's route to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1/integrations/{id}/alerts", h)
}

// Accepted is the 202 answer: the alert is committed.
type Accepted struct {
	IncidentID int64            `json:"incident_id,omitempty"`
	Incident   string           `json:"incident,omitempty"`
	Action     bot.IngestAction `json:"action"`
	Alerts     int              `json:"alerts"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := h.clock.Now()
	id := r.PathValue("id")
	in, ok := h.integrations[id]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown integration %q", id))
		return
	}
	outcome := func(o string) { h.received.WithLabelValues(id, o).Inc() }
	if !authorized(r, in.Token) {
		outcome("unauthorized")
		w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer <token> or ?token=")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			outcome("too_large")
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", h.maxBody))
			return
		}
		outcome("error")
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	alerts, err := in.parse(body)
	if err != nil {
		outcome("invalid")
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var res Accepted
	for i, a := range alerts {
		a.Integration, a.Service, a.ReceivedAt = in.ID, in.Service, received
		r, err := h.bot.Ingest(r.Context(), a)
		if err != nil {
			status, msg, o := errorStatus(err)
			outcome(o)
			if status >= 500 {
				h.log.Warn("ingest alert", "integration", in.ID, "service", in.Service, "status", status, "err", err)
				w.Header().Set("Retry-After", "5")
			}
			writeError(w, status, msg)
			return
		}
		if i == 0 || r.Action == bot.IngestOpened {
			res.Action = r.Action
			if r.Incident.ID != 0 {
				res.IncidentID, res.Incident = r.Incident.ID, r.Incident.Ref()
			}
		}
		res.Alerts++
	}
	outcome("accepted")
	writeJSON(w, http.StatusAccepted, res)
}

// authorized compares in constant time so the token cannot be guessed byte
// by byte from response times.
func authorized(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		got = r.URL.Query().Get("token")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// errorStatus maps a domain error to an HTTP status, a message for the
// sender and the metric's outcome. An unavailable store is 503 so the sender
// retries.
func errorStatus(err error) (status int, msg, outcome string) {
	var invalid *bot.InvalidError
	switch {
	case errors.As(err, &invalid):
		return http.StatusBadRequest, invalid.Reason, "invalid"
	case errors.Is(err, bot.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "the database is unavailable; retry later", "unavailable"
	}
	return http.StatusInternalServerError, "internal error; retry later", "error"
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

package twilio

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/hotline-dev/hotline/bot"
)

// Engine is what the callbacks drive (the escalation engine implements it).
type Engine interface {
	Keypress(ctx context.Context, ev bot.CallEvent) (bot.KeypressReply, error)
	CallStatus(ctx context.Context, ev bot.CallEvent) error
}

// maxCallbackBody is far above what Twilio posts (a few hundred bytes).
const maxCallbackBody = 64 << 10

// NewHandler serves Twilio's callbacks, POST /v1/twilio/gather and POST
// /v1/twilio/status (full paths: mount it at "/v1/twilio/"). A request is
// believed only with a valid X-Twilio-Signature over cfg.PublicURL plus the
// request URI; anything else is 403 and the engine never hears of it.
func NewHandler(cfg Config, eng Engine) http.Handler {
	h := &handler{
		eng:       eng,
		validator: client.NewRequestValidator(cfg.AuthToken),
		haveToken: cfg.AuthToken != "",
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		log:       cfg.Logger,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

type handler struct {
	eng       Engine
	validator client.RequestValidator
	haveToken bool
	publicURL string
	log       *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var keypress bool
	switch r.URL.Path {
	case GatherPath:
		keypress = true
	case StatusPath:
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "malformed form: "+err.Error(), http.StatusBadRequest)
		return
	}
	// Twilio signs the URL it was given, query included, and the POST fields.
	fullURL := h.publicURL + r.URL.RequestURI()
	if !h.signed(r, fullURL) {
		h.log.WarnContext(r.Context(), "twilio callback refused: bad or missing signature",
			"platform", "twilio", "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "invalid X-Twilio-Signature", http.StatusForbidden)
		return
	}
	ev := bot.CallEvent{
		AttemptID:  r.URL.Query().Get("attempt"),
		CallID:     r.PostForm.Get("CallSid"),
		Digits:     r.PostForm.Get("Digits"),
		Status:     bot.CallStatus(r.PostForm.Get("CallStatus")),
		AnsweredBy: r.PostForm.Get("AnsweredBy"),
	}
	if ev.AttemptID == "" {
		http.Error(w, "the callback URL has no attempt", http.StatusBadRequest)
		return
	}

	if !keypress {
		if err := h.eng.CallStatus(r.Context(), ev); err != nil {
			h.fail(w, r, ev, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	reply, err := h.eng.Keypress(r.Context(), ev)
	if err != nil {
		h.fail(w, r, ev, err)
		return
	}
	doc, err := replyTwiML(reply, fullURL)
	if err != nil {
		h.fail(w, r, ev, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, doc)
}

func (h *handler) signed(r *http.Request, fullURL string) bool {
	sig := r.Header.Get("X-Twilio-Signature")
	if !h.haveToken || sig == "" {
		return false // an empty token would make every signature forgeable
	}
	params := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		params[k] = v[0]
	}
	return h.validator.Validate(fullURL, params, sig)
}

// fail answers an engine error: 404 for a call Hotline does not know, 503
// when the store is down (Twilio's request fails; the next event carries
// the state), 500 otherwise.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, ev bot.CallEvent, err error) {
	switch {
	case errors.Is(err, bot.ErrNotFound):
		http.Error(w, "unknown call", http.StatusNotFound)
	case errors.Is(err, bot.ErrUnavailable):
		http.Error(w, "unavailable; try again later", http.StatusServiceUnavailable)
	default:
		h.log.ErrorContext(r.Context(), "twilio callback failed", "platform", "twilio", "path", r.URL.Path,
			"attempt", ev.AttemptID, "call", ev.CallID, "status", string(ev.Status), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

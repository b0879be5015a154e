package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/sentence"
	"github.com/multiline/onboarding/internal/store"
)

// Error is an API error: an HTTP status and the JSON body of SPEC.md. Its message is
// composed like a Go error, lower case, and starts with a capital once it is written (see
// readable).
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details,omitempty"`
}

// textDetail is a detail that is a sentence for a person, such as one of the specifics of a
// refused file; it is capitalised like the message. A plain string detail is a value (an id,
// an address, a number the client sent) and is answered exactly as it is.
type textDetail string

// readable is e as a person reads it: its message, its text details, the "message" of its
// detail objects and the reason of each account a move refused start with a capital (see
// sentence.Capitalize). Every *Error that is answered, in JSON (writeError) or on a page, is
// written through it.
func (e *Error) readable() *Error {
	out := *e
	out.Message = sentence.Capitalize(e.Message)
	if e.Details == nil {
		return &out
	}
	out.Details = make([]any, len(e.Details))
	for i, d := range e.Details {
		switch d := d.(type) {
		case textDetail:
			out.Details[i] = sentence.Capitalize(string(d))
		case map[string]string:
			if m, ok := d["message"]; ok {
				d = maps.Clone(d)
				d["message"] = sentence.Capitalize(m)
			}
			out.Details[i] = d
		case store.MoveProblem:
			d.Reason = sentence.Capitalize(d.Reason)
			out.Details[i] = d
		default:
			out.Details[i] = d
		}
	}
	return &out
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) with(details ...any) *Error {
	e.Details = append(e.Details, details...)
	return e
}

// handlerFunc is an HTTP handler that returns its error for handle to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h, turning its error into the JSON error of SPEC.md. Every path value the
// API reads comes through here: a path that is not storable text (see storableText) names
// nothing, so it is answered 404 before h runs.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !storableText(r.URL.Path) {
			s.writeError(w, r, errPathNotText())
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *Error
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &maxErr):
		apiErr = tooLarge("the request body", maxErr.Limit)
	case errors.Is(err, store.ErrNotFound):
		apiErr = errorf(http.StatusNotFound, "not_found", "nothing with that id exists")
	case errors.Is(err, store.ErrConflict):
		apiErr = errorf(http.StatusConflict, "conflict", "%s", strings.TrimPrefix(err.Error(), "conflict: "))
	default:
		if !store.IsTransient(err) || errors.Is(err, r.Context().Err()) {
			zerolog.Ctx(r.Context()).Error().Err(err).Msg("request failed")
		} else {
			zerolog.Ctx(r.Context()).Warn().Err(err).Msg("request failed on a dependency")
		}
		s.metrics.DBErrors.Inc()
		apiErr = errorf(http.StatusInternalServerError, "internal_error",
			"something went wrong on our side; try again, and quote request id %s if it persists", w.Header().Get("X-Request-ID"))
	}
	writeJSON(w, apiErr.Status, map[string]*Error{"error": apiErr.readable()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON body into v, refusing unknown fields, trailing data and strings
// that cannot be stored as text (see jsonTextProblem). Every JSON body the API reads comes
// through here.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the body as JSON with Content-Type: application/json, not %q", ct)
	}
	raw, err := io.ReadAll(r.Body) // bounded by limitBody
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		// Both: the 413 that names the JSON body, and the cause, for callers with a limit of
		// their own to say more (see postActivation).
		return errors.Join(tooLarge("the JSON body", maxErr.Limit), err)
	case err != nil:
		return errorf(http.StatusBadRequest, "invalid_json", "the body could not be read: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			return errorf(http.StatusBadRequest, "invalid_json", "field %q must be a %s", typeErr.Field, typeErr.Type)
		case errors.As(err, &syntaxErr):
			return errorf(http.StatusBadRequest, "invalid_json", "the body is not valid JSON (at byte %d)", syntaxErr.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errorf(http.StatusBadRequest, "invalid_json", "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		case err.Error() == "EOF":
			return errorf(http.StatusBadRequest, "invalid_json", "the body is empty; send a JSON object")
		default:
			return errorf(http.StatusBadRequest, "invalid_json", "the body is not valid JSON: %v", err)
		}
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "invalid_json", "the body holds more than one JSON value")
	}
	if problem := jsonTextProblem(raw); problem != "" {
		return errorf(http.StatusUnprocessableEntity, "invalid_text",
			"a string in the body holds %s, which cannot be stored; send text in UTF-8 without it", problem)
	}
	return nil
}

// tooLarge is the 413 for what (the file, the form field "invite", the JSON body) when it
// is over limit bytes.
func tooLarge(what string, limit int64) *Error {
	return errorf(http.StatusRequestEntityTooLarge, "too_large", "%s is larger than the limit of %s", what, humanBytes(limit)).
		with(map[string]int64{"limit_bytes": limit})
}

// humanBytes writes n in the largest binary unit it reaches: "5 MiB", "5.1 MiB", "4 KiB".
func humanBytes(n int64) string {
	unit := func(v float64, name string) string {
		return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + " " + name
	}
	switch {
	case n >= 1<<20:
		return unit(float64(n)/(1<<20), "MiB")
	case n >= 1<<10:
		return unit(float64(n)/(1<<10), "KiB")
	case n == 1:
		return "1 byte"
	default:
		return strconv.FormatInt(n, 10) + " bytes"
	}
}

package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/rs/zerolog"
)

// asynqmon answers its errors with http.Error: plain text, and 500 for most of them, a
// client's mistakes included (a queue that does not exist, resuming a queue that is not
// paused). serveAsynqmon lets asynqmon answer and writes its error answers again in the
// API's JSON error shape, with a 4xx for what the client can fix and 500 only for the rest
// (Redis unreachable, say), which is logged like any internal error.
//
// One client keeps plain text, with the corrected status: asynqmon's own page. Its React
// code renders the body of an error answer as a string ({props.error}); a JSON object there
// throws and blanks the whole console, say when a task shown on the page completes and its
// next poll finds it gone. The page's calls are the browser's same-origin fetches
// (Sec-Fetch-Dest: empty, Sec-Fetch-Site: same-origin); scripts send neither header.

// asynqmonErrors maps the text of asynqmon's (and Asynq's) error answers to a status and a
// code; the first entry whose text the answer contains wins.
var asynqmonErrors = []struct {
	text   string
	status int
	code   string
}{
	{"is not paused", http.StatusConflict, "queue_not_paused"},
	{"is already paused", http.StatusConflict, "queue_paused_already"},
	{"is not empty", http.StatusConflict, "queue_not_empty"},
	{"FAILED_PRECONDITION", http.StatusConflict, "task_state_conflict"}, // running, archived already...
	{"task not found", http.StatusNotFound, "task_not_found"},
	{"cannot find task", http.StatusNotFound, "task_not_found"},
	{"queue not found", http.StatusNotFound, "queue_not_found"},
	{"does not exist", http.StatusNotFound, "queue_not_found"},
	{"queue name must contain", http.StatusBadRequest, "invalid_queue_name"},
}

// asynqmonPrefixes are what Asynq puts before its messages: "asynq: ", "NOT_FOUND: "...
var asynqmonPrefixes = regexp.MustCompile(`^(?:asynq: |[A-Z_]+: )+`)

// maxAsynqmonError bounds how much of an error answer is kept; asynqmon's are one line.
const maxAsynqmonError = 4 << 10

// serveAsynqmon serves r with asynqmon, rewriting its error answers.
func (s *Server) serveAsynqmon(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == queueUIRoot+"/api/metrics" {
		// The queue UI runs without Prometheus: asynqmon would try to query "" and answer 500.
		s.writeError(w, r, errorf(http.StatusNotFound, "queue_metrics_disabled",
			"the queue UI is served without Prometheus; see the queue metrics on /metrics"))
		return
	}
	cw := &errorCatcher{ResponseWriter: w}
	s.cfg.QueueUI.h.ServeHTTP(cw, r)
	if !cw.caught {
		return
	}
	err := asynqmonError(cw.status, cw.body.String())
	if !fromAsynqmonPage(r) {
		s.writeError(w, r, err)
		return
	}
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("request failed")
		apiErr = errorf(http.StatusInternalServerError, "internal_error", "%s", err)
	}
	http.Error(w, apiErr.readable().Message, apiErr.Status)
}

// fromAsynqmonPage reports whether r is a call of asynqmon's page in a browser.
func fromAsynqmonPage(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Dest") == "empty" && r.Header.Get("Sec-Fetch-Site") == "same-origin"
}

// asynqmonError is the API error for asynqmon's error answer status with text body.
func asynqmonError(status int, body string) error {
	msg := asynqmonPrefixes.ReplaceAllString(strings.TrimSpace(body), "")
	for _, e := range asynqmonErrors {
		if strings.Contains(body, e.text) {
			return errorf(e.status, e.code, "%s", msg)
		}
	}
	switch {
	case status == http.StatusMethodNotAllowed:
		return errorf(status, "method_not_allowed", "the queue UI's API does not take this method here")
	case status == http.StatusNotFound:
		return errorf(status, "not_found", "the queue UI's API has nothing here")
	case status < 500:
		if msg == "" || msg == "EOF" {
			msg = "the request body is empty or not what the queue UI's API expects"
		}
		return errorf(http.StatusBadRequest, "invalid_request", "%s", msg)
	default:
		return errors.New("queue ui: " + msg) // 500, logged
	}
}

// errorCatcher passes a response through unless its status is 400 or more and it is not
// JSON already; such an answer is held back (status and body) for serveAsynqmon to rewrite.
type errorCatcher struct {
	http.ResponseWriter
	status int
	caught bool
	body   bytes.Buffer
}

func (c *errorCatcher) WriteHeader(code int) {
	if c.status != 0 {
		return
	}
	c.status = code
	h := c.Header()
	if code >= 400 && !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		c.caught = true
		h.Del("Content-Type")
		h.Del("Content-Length")
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *errorCatcher) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.caught {
		if room := maxAsynqmonError - c.body.Len(); room > 0 {
			c.body.Write(b[:min(len(b), room)])
		}
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

func (c *errorCatcher) Unwrap() http.ResponseWriter { return c.ResponseWriter }

package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/store"
)

// The batch's progress as Server-Sent Events. The API never settles rows, so it learns of
// progress the way a poller would: it reads the batch from PostgreSQL every eventsPoll and
// sends it when anything changed. One read per stream per tick is the cost of a client
// polling ten times a second, without the client's connections and requests.
const (
	eventsPoll = 150 * time.Millisecond
	// eventsKeepAlive is how long a stream stays silent at most: a comment line then tells a
	// proxy that the connection is alive and tells the server that the client is gone.
	eventsKeepAlive = 15 * time.Second
	// eventsWriteWindow is each write's deadline. The server's WriteTimeout
	// (config.HTTPServer, two minutes) is counted from the request's start and would cut a
	// longer batch's stream; every write pushes the deadline this far ahead instead.
	eventsWriteWindow = 30 * time.Second
	// eventsMaxDuration ends a stream of a batch still running, so a shutdown never waits for
	// one for long; the client opens a new stream (or polls).
	eventsMaxDuration = 10 * time.Minute
)

// wantsEvents is whether the client asks GET /v1/batches/{id} for the event stream. The page
// asks that way: some browsers' filter lists block URLs ending in /events, as tracking.
func wantsEvents(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// batchEvents streams GET /v1/batches/{id}/events (and GET /v1/batches/{id} asked for
// text/event-stream): an event "batch" with the batch's JSON (as
// GET /v1/batches/{id} answers it) at once and at every change, ending after the event of
// the finished batch.
func (s *Server) batchEvents(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	b, err := s.batchInScope(r, admin)
	if err != nil {
		return err
	}
	id, ctx := b.ID, r.Context()
	log := zerolog.Ctx(ctx)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on as it comes
	w.WriteHeader(http.StatusOK)

	send := func(frame []byte) bool {
		if err := rc.SetWriteDeadline(time.Now().Add(eventsWriteWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		if _, err := w.Write(frame); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send([]byte("retry: 1000\n\n")) {
		return nil
	}
	ticker := time.NewTicker(eventsPoll)
	defer ticker.Stop()
	end := time.NewTimer(eventsMaxDuration)
	defer end.Stop()
	var last []byte
	quiet := time.Now()
	for {
		data, err := json.Marshal(s.batchJSON(b))
		if err != nil {
			return fmt.Errorf("batch events: %w", err)
		}
		switch {
		case !bytes.Equal(data, last):
			if !send(fmt.Appendf(nil, "event: batch\ndata: %s\n\n", data)) {
				return nil
			}
			last, quiet = data, time.Now()
		case time.Since(quiet) >= eventsKeepAlive:
			if !send([]byte(": keep-alive\n\n")) {
				return nil
			}
			quiet = time.Now()
		}
		if b.FinishedAt != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		case <-ticker.C:
		}
		if b, err = s.store.Batch(ctx, id); err != nil {
			if ctx.Err() == nil {
				log.Error().Err(err).Str("batch_id", id).Msg("batch events: read batch")
				send([]byte("event: error\ndata: {\"message\":\"The batch could not be read; poll GET /v1/batches/{id}\"}\n\n"))
			}
			return nil
		}
	}
}

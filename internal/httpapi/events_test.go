package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

type sseEvent struct {
	name string
	data string
}

// readEvents reads the stream's events until it ends and sends each on the channel.
func readEvents(resp *http.Response, out chan<- sseEvent) {
	defer close(out)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestBatchEvents(t *testing.T) {
	s := stacktest.New(t)
	orgID, groupID := s.Org("Events Org", 100, 40)
	otherID, _ := s.Org("Other Org", 900, 1)
	const rows = 30
	resp := s.Upload(s.RootToken, orgID, groupID, stacktest.CSV("acme.example", 1, rows), map[string]string{"invite": "true"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d, want 202: %s", resp.Status, resp.Body)
	}
	var created store.Batch
	resp.JSON(t, &created)

	t.Run("streams until the batch finishes", func(t *testing.T) {
		// A server whose WriteTimeout is shorter than the batch: the stream outlives it only
		// because each write extends its deadline.
		srv := httptest.NewUnstartedServer(s.API.Config.Handler)
		srv.Config.WriteTimeout = 400 * time.Millisecond
		srv.Start()
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/batches/"+created.ID+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+s.RootToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("got %d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := make(chan sseEvent)
		go readEvents(resp, events)

		time.Sleep(time.Second) // past the WriteTimeout, with the batch at 0 (no worker yet)
		s.StartWorker(4)
		var got []store.Batch
		timeout := time.After(60 * time.Second)
	read:
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					break read
				}
				if ev.name != "batch" {
					t.Fatalf("event %q (%s), want batch", ev.name, ev.data)
				}
				var b store.Batch
				if err := json.Unmarshal([]byte(ev.data), &b); err != nil {
					t.Fatalf("event data %q: %v", ev.data, err)
				}
				got = append(got, b)
			case <-timeout:
				t.Fatalf("the stream did not end in 60 s; %d events", len(got))
			}
		}
		if len(got) < 2 {
			t.Fatalf("got %d events, want the first state and at least the final one", len(got))
		}
		if got[0].ID != created.ID || got[0].Processed != 0 {
			t.Errorf("first event: got batch %s processed %d, want %s processed 0", got[0].ID, got[0].Processed, created.ID)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Processed < got[i-1].Processed {
				t.Errorf("event %d: processed went from %d to %d", i, got[i-1].Processed, got[i].Processed)
			}
		}
		last := got[len(got)-1]
		if last.FinishedAt == nil || last.Processed != rows || last.Succeeded != rows {
			t.Errorf("last event: got finished %v, %d processed, %d succeeded; want finished, %d and %d",
				last.FinishedAt, last.Processed, last.Succeeded, rows, rows)
		}
		if want := s.WaitBatch(created.ID, time.Second); last.Status != want.Status {
			t.Errorf("last event status: got %s, want %s", last.Status, want.Status)
		}
	})

	t.Run("finished batch: one event", func(t *testing.T) {
		r := s.Do(http.MethodGet, "/v1/batches/"+created.ID+"/events", s.RootToken, nil)
		if r.Status != http.StatusOK || strings.Count(string(r.Body), "event: batch") != 1 {
			t.Errorf("got %d %q, want 200 and one batch event", r.Status, r.Body)
		}
	})

	t.Run("GET /v1/batches/{id} asked for text/event-stream", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.API.URL+"/v1/batches/"+created.ID, nil)
		req.Header.Set("Authorization", "Bearer "+s.RootToken)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || strings.Count(string(b), "event: batch") != 1 {
			t.Errorf("got %q %q, want text/event-stream and one batch event", ct, b)
		}
		plain := s.Do(http.MethodGet, "/v1/batches/"+created.ID, s.RootToken, nil)
		for _, h := range []http.Header{resp.Header, plain.Header} {
			if got := h.Get("Vary"); got != "Accept" {
				t.Errorf("%s answer: Vary %q, want Accept (the answer depends on it)", h.Get("Content-Type"), got)
			}
		}
	})

	t.Run("same auth and scope as the batch", func(t *testing.T) {
		other := s.NewAdmin("other@test.example", []string{otherID}, string(store.PrivAccounts))
		for _, tc := range []struct {
			name, tok, id string
			status        int
		}{
			{"no token", "", created.ID, http.StatusUnauthorized},
			{"another organization's admin", other, created.ID, http.StatusForbidden},
			{"unknown batch", s.RootToken, "00000000-0000-0000-0000-000000000000", http.StatusNotFound},
		} {
			if r := s.Do(http.MethodGet, "/v1/batches/"+tc.id+"/events", tc.tok, nil); r.Status != tc.status {
				t.Errorf("%s: got %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
			}
		}
	})
}

// handled is how many GET requests of route the API has answered with 200, as its /metrics
// counts them: once each, when the handler returns.
func handled(t *testing.T, s *stacktest.Stack, route string) int {
	t.Helper()
	prefix := fmt.Sprintf(`multiline_http_requests_total{code="200",method="GET",route=%q} `, route)
	for _, line := range strings.Split(string(s.Do(http.MethodGet, "/metrics", "", nil).Body), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			return int(n)
		}
	}
	return 0
}

// TestBatchEventsClientGone opens the stream of a batch that no worker runs, reads its first
// event and goes away: the handler returns at once, not at its next write (the keep-alive,
// 15 s later), and so stops reading the batch from PostgreSQL. The API's request counter
// is the handler's signal: it counts a request when its handler has returned.
func TestBatchEventsClientGone(t *testing.T) {
	s := stacktest.New(t)
	orgID, groupID := s.Org("Gone Org", 100, 10)
	resp := s.Upload(s.RootToken, orgID, groupID, stacktest.CSV("acme.example", 1, 5), map[string]string{"invite": "true"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d, want 202: %s", resp.Status, resp.Body)
	}
	var created store.Batch
	resp.JSON(t, &created)

	for _, tc := range []struct {
		name, path, accept, route string
	}{
		{"GET /v1/batches/{id}/events", "/v1/batches/" + created.ID + "/events", "", "GET /v1/batches/{id}/events"},
		{"GET /v1/batches/{id} asked for text/event-stream", "/v1/batches/" + created.ID, "text/event-stream", "GET /v1/batches/{id}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := handled(t, s, tc.route)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.API.URL+tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+s.RootToken)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			events := make(chan sseEvent)
			go readEvents(resp, events)
			select {
			case ev := <-events:
				if ev.name != "batch" {
					t.Fatalf("first event: got %q (%s), want batch", ev.name, ev.data)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no first event in 10 s")
			}
			if got := handled(t, s, tc.route); got != before {
				t.Fatalf("requests handled while the stream is open: got %d, want %d (the handler still streaming)", got, before)
			}

			cancel() // the client goes away mid-stream, the batch still at 0
			deadline := time.Now().Add(5 * time.Second)
			for handled(t, s, tc.route) != before+1 {
				if time.Now().After(deadline) {
					t.Fatalf("the handler did not return within 5 s of the client going away")
				}
				time.Sleep(20 * time.Millisecond)
			}
			for range events { // readEvents ends with the body
			}
		})
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
)

// proxy is a reverse proxy (net/http/httputil) in front of the API that does to a batch's
// event stream what its mode says, and counts the requests for GET /v1/batches/{id}:
//
//	pass    forwards the stream
//	refuse  answers 406, as a proxy that filters event streams
//	strip   drops the Accept header, as a proxy or an older API that does not stream: JSON
//	drop    forwards the first event, then cuts the connection
//	silent  forwards the first event, then holds the stream without a byte (a buffering
//	        proxy, or a connection gone dead without a reset)
type proxy struct {
	*httptest.Server
	mode    string
	streams atomic.Int32  // asked for text/event-stream
	polls   atomic.Int32  // asked for the JSON
	opened  chan struct{} // closed once the stream was answered (and its first event forwarded)
	once    sync.Once
}

func startProxy(t *testing.T, api, mode string) *proxy {
	t.Helper()
	target, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{mode: mode, opened: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the cuts are on purpose
	rp.ModifyResponse = func(resp *http.Response) error {
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			resp.Body = &firstEvent{r: bufio.NewReader(resp.Body), body: resp.Body, p: p, ctx: resp.Request.Context()}
		}
		return nil
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/batches/") && strings.Count(r.URL.Path, "/") == 3 {
			if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
				p.polls.Add(1)
			} else {
				p.streams.Add(1)
				switch mode {
				case "refuse":
					http.Error(w, "event streams are not allowed here", http.StatusNotAcceptable)
					p.open()
					return
				case "strip":
					r.Header.Del("Accept")
					defer p.open()
				}
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) open() { p.once.Do(func() { close(p.opened) }) }

// firstEvent is the body of a proxied stream: it passes the stream on up to the end of its
// first event, then, by the proxy's mode, the rest (pass), an error that makes the proxy
// abort the connection (drop), or nothing until the client goes away (silent).
type firstEvent struct {
	r       *bufio.Reader
	body    io.Closer
	p       *proxy
	ctx     context.Context
	pending []byte // read from the API, not passed on yet
	in      bool   // inside the first event
	seen    bool   // the first event has been passed on whole
}

func (f *firstEvent) Read(b []byte) (int, error) {
	if len(f.pending) > 0 {
		n := copy(b, f.pending)
		f.pending = f.pending[n:]
		if len(f.pending) == 0 && f.seen {
			f.p.open()
		}
		return n, nil
	}
	if f.seen {
		switch f.p.mode {
		case "drop":
			return 0, io.ErrUnexpectedEOF
		case "silent":
			<-f.ctx.Done()
			return 0, f.ctx.Err()
		}
		return f.r.Read(b)
	}
	line, err := f.r.ReadString('\n')
	switch {
	case strings.HasPrefix(line, "event: batch"):
		f.in = true
	case line == "\n" && f.in:
		f.seen = true
	}
	f.pending = []byte(line)
	if len(line) > 0 {
		return f.Read(b)
	}
	return 0, err
}

func (f *firstEvent) Close() error { return f.body.Close() }

// TestWaitFollowsEvents waits for batches through each kind of proxy, on a terminal: the
// stream carries the batch to its end when it can, polling takes over when the stream is
// refused, answered as JSON, cut or silent; either way the bar is drawn over itself and
// the line ends once, with the finished bar alone on it.
func TestWaitFollowsEvents(t *testing.T) {
	s := stacktest.New(t)
	org, group := s.Org("Acme", 100, 50)
	const rows = 6
	for _, tc := range []struct {
		mode   string
		polled bool
	}{
		{"pass", false},
		{"refuse", true},
		{"strip", true},
		{"drop", true},
		{"silent", true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			p := startProxy(t, s.API.URL, tc.mode)
			var bt batch
			s.Upload(s.RootToken, org, group, stacktest.CSV(tc.mode+".example", 1, rows), map[string]string{"invite": "true"}).JSON(t, &bt)
			c := newClient(p.URL, s.RootToken)
			if tc.mode == "silent" {
				c.streamIdle = time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out bytes.Buffer
			type result struct {
				b   batch
				err error
			}
			done := make(chan result, 1)
			go func() {
				b, err := waitBatch(ctx, c, bt, 20*time.Millisecond, &out, true)
				done <- result{b, err}
			}()
			select { // no worker yet: the stream opens on a batch at 0
			case <-p.opened:
			case <-time.After(10 * time.Second):
				t.Fatal("the stream was not opened in 10 s")
			}
			w := s.StartWorker(4)
			defer w.Stop() // the next case's batch waits for its stream
			var r result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("waitBatch did not return in 30 s; drawn so far: %q", out.String())
			}
			if r.err != nil || r.b.FinishedAt == nil || r.b.Succeeded != rows {
				t.Fatalf("waitBatch: got %+v, %v; want the finished batch with %d succeeded", r.b, r.err, rows)
			}
			streams, polls := p.streams.Load(), p.polls.Load()
			if streams != 1 || (polls > 0) != tc.polled {
				t.Errorf("requests: got %d for the stream and %d polls, want 1 and polls %v", streams, polls, tc.polled)
			}
			got := out.String()
			if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
				t.Errorf("output: got %q, want one line, ended once at the end", got)
			}
			draws := strings.Split(strings.TrimSuffix(got, "\n"), "\r")
			if draws[0] != "" || len(draws) < 3 {
				t.Fatalf("output: got %q, want the bar drawn with \\r at 0 and again at the end", got)
			}
			for _, d := range draws[1:] {
				if !strings.HasPrefix(d, clearLine+"[") || strings.HasSuffix(d, " ") {
					t.Errorf("draw: got %q, want the line cleared, then the bar alone", d)
				}
			}
			if first := draws[1]; first != clearLine+fmt.Sprintf("[..............................]   0%%  0/%d  ok 0  failed 0", rows) {
				t.Errorf("first draw: got %q, want the bar at 0", first)
			}
			if last := draws[len(draws)-1]; last != clearLine+fmt.Sprintf("[##############################] 100%%  %d/%d  ok %d  failed 0", rows, rows, rows) {
				t.Errorf("last draw: got %q, want the bar at 100 %% alone", last)
			}
		})
	}

	t.Run("upload --wait through a proxy that refuses the stream", func(t *testing.T) {
		p := startProxy(t, s.API.URL, "refuse")
		s.StartWorker(4)
		file := writeFile(t, "accounts.csv", stacktest.CSV("cli.example", 1, rows))
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		code := run(ctx, []string{"upload", file, "--url", p.URL, "--token", s.RootToken, "--org", org, "--permission-group", group,
			"--invite", "--wait", "--poll", "50ms", "--report", filepath.Join(t.TempDir(), "r.csv")}, &stdout, &stderr)
		if code != exitOK || !strings.Contains(stdout.String(), fmt.Sprintf("%d/%d processed", rows, rows)) ||
			!strings.Contains(stdout.String(), fmt.Sprintf("%d succeeded, 0 failed, 0 canceled of %d", rows, rows)) {
			t.Errorf("upload --wait: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant 0, the progress lines and the summary", code, &stdout, &stderr)
		}
		if p.streams.Load() != 1 || p.polls.Load() == 0 {
			t.Errorf("requests: got %d for the stream and %d polls, want 1 and some", p.streams.Load(), p.polls.Load())
		}
	})
}

package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/jobs"
)

// syncBuffer is a bytes.Buffer safe for the goroutines go-redis logs from.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// go-redis's own log lines (here: a pool that cannot dial) come out as zerolog JSON, not as
// plain text on stderr.
func TestRedisLogsAreJSON(t *testing.T) {
	var buf syncBuffer
	jobs.RouteRedisLogs(zerolog.New(&buf))
	t.Cleanup(func() { jobs.RouteRedisLogs(zerolog.Nop()) })
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err == nil {
		t.Fatal("a ping of a closed port answered")
	}
	out := strings.TrimSpace(buf.String())
	if out == "" {
		t.Fatal("go-redis logged nothing through zerolog")
	}
	for _, line := range strings.Split(out, "\n") {
		var entry struct{ Component, Message string }
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry.Component != "redis" || !strings.Contains(entry.Message, "dial") {
			t.Errorf("got log line %q, want JSON with component redis about the dial", line)
		}
	}
}

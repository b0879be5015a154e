package testenv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/multiline/onboarding/internal/testenv"
)

// TestRedisServerRestartsEmpty kills a private server and starts it again on the same port:
// it answers at the same URL and has forgotten every key.
func TestRedisServerRestartsEmpty(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedisServer(t)
	r := srv.Redis()
	ctx := context.Background()
	if r.Prefix != "" {
		t.Errorf("Redis().Prefix: got %q, want empty", r.Prefix)
	}
	if err := r.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if got, err := r.Client.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("get before the kill: got %q, %v; want v", got, err)
	}
	addr := srv.Addr()

	srv.Kill()
	if err := r.Client.Ping(ctx).Err(); err == nil {
		t.Fatalf("ping a killed server: got no error, want one")
	}
	srv.Start()
	if srv.Addr() != addr {
		t.Errorf("address after Start: got %s, want %s", srv.Addr(), addr)
	}
	if got, err := r.Client.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("get after the restart: got %q, %v; want redis.Nil", got, err)
	}

	if err := r.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	srv.FlushAll()
	if n, err := r.Client.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("keys after FlushAll: got %d, %v; want 0", n, err)
	}
	srv.Stop()
	srv.Start()
	if err := r.Client.Ping(ctx).Err(); err != nil {
		t.Errorf("ping after Stop and Start: %v", err)
	}
}

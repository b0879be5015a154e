package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/config"
	"github.com/multiline/onboarding/internal/testenv"
)

// TestServeRefusesUnfitRedis: the api does not start on a Redis that evicts keys, nor on one
// node of a Redis Cluster reached by a plain redis:// URL, and says what to change.
func TestServeRefusesUnfitRedis(t *testing.T) {
	t.Parallel()
	_, dbURL := testenv.DB(t)
	cases := []struct {
		name string
		srv  *testenv.RedisServer
		want string
	}{
		{"evicting", testenv.StartRedisServer(t, "--maxmemory", "5mb", "--maxmemory-policy", "allkeys-lru"), "set maxmemory-policy noeviction"},
		{"cluster node", testenv.StartRedisServer(t, "--cluster-enabled", "yes"), "redis-cluster://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse(func(k string) string {
				return map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": c.srv.URL(), "API_ADDR": "127.0.0.1:0"}[k]
			})
			if err != nil {
				t.Fatal(err)
			}
			// A serve that does not refuse runs until the context ends, and returns nil.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := serve(ctx, cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("serve: got %v, want a refusal saying %q", err, c.want)
			}
		})
	}
}

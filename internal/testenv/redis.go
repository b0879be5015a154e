package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// RedisURL is the Redis server tests use.
func RedisURL() string {
	if v := os.Getenv("TEST_REDIS_URL"); v != "" {
		return v
	}
	return "redis://127.0.0.1:6379/0"
}

// Redis is a test's share of the Redis server: Asynq keys live under "asynq:{<queue>}", so
// queue names that start with Prefix keep one test's tasks apart from every other test's.
type Redis struct {
	URL    string
	Prefix string
	Opt    asynq.RedisConnOpt
	Client redis.UniversalClient
}

// NewRedis returns a Redis key space of the test's own; its keys are deleted when the test ends.
func NewRedis(t testing.TB) Redis {
	t.Helper()
	opt, err := asynq.ParseRedisURI(RedisURL())
	if err != nil {
		t.Fatalf("parse TEST_REDIS_URL: %v", err)
	}
	ropt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("parse TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(ropt)
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", RedisURL(), err)
	}
	r := Redis{URL: RedisURL(), Prefix: "t" + randomHex(5), Opt: opt, Client: client}
	t.Cleanup(func() {
		r.Flush(t)
		client.Close()
	})
	return r
}

// Flush deletes every key of this test's queues, as a FLUSHDB would for a real deployment,
// without touching other tests' keys.
func (r Redis) Flush(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var keys []string
	iter := r.Client.Scan(ctx, 0, "asynq:{"+r.Prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan redis keys: %v", err)
		return
	}
	// The queue set lists queue names; remove ours.
	queues, _ := r.Client.SMembers(ctx, "asynq:queues").Result()
	for _, q := range queues {
		if len(q) >= len(r.Prefix) && q[:len(r.Prefix)] == r.Prefix {
			r.Client.SRem(ctx, "asynq:queues", q)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := r.Client.Del(ctx, keys[:n]...).Err(); err != nil {
			t.Errorf("delete redis keys: %v", err)
			return
		}
		keys = keys[n:]
	}
}

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

// Flush deletes every key of this test's queues at once, as a FLUSHDB would for a real
// deployment, without touching other tests' keys. One script does it, so that no task
// enqueued meanwhile is half deleted (its hash kept, its place in the pending list gone),
// which a real FLUSHDB never does.
func (r Redis) Flush(t testing.TB) {
	t.Helper()
	const script = `local n = 0
for _, k in ipairs(redis.call("KEYS", ARGV[1])) do n = n + redis.call("DEL", k) end
for _, q in ipairs(redis.call("SMEMBERS", "asynq:queues")) do
	if string.sub(q, 1, #ARGV[2]) == ARGV[2] then redis.call("SREM", "asynq:queues", q) end
end
return n`
	if err := r.Client.Eval(context.Background(), script, nil, "asynq:{"+r.Prefix+"*", r.Prefix).Err(); err != nil {
		t.Errorf("flush this test's redis keys: %v", err)
	}
}

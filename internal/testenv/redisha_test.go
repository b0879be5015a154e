package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/testenv"
)

// A private cluster takes keys through its cluster client, and NodeOf names the node that
// holds a key: asked directly, that node has it.
func TestRedisClusterNodeOf(t *testing.T) {
	t.Parallel()
	c := testenv.StartRedisCluster(t, 3)
	ctx := context.Background()
	for _, key := range []string{"a", "b", "asynq:{rows}:x", "asynq:{finalize}:y"} {
		if err := c.Redis().Client.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
		if n, err := c.NodeOf(t, key).Redis().Client.Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Errorf("%s on the node NodeOf names: got %d, %v, want it there", key, n, err)
		}
	}
}

// A private Sentinel deployment fails over to the replica when the master is killed.
func TestRedisSentinelFailsOver(t *testing.T) {
	t.Parallel()
	s := testenv.StartRedisSentinel(t)
	if got, want := s.MasterAddr(), s.Master.Addr(); got != want {
		t.Fatalf("master: got %s, want %s", got, want)
	}
	s.Master.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for s.MasterAddr() != s.Replica.Addr() {
		if time.Now().After(deadline) {
			t.Fatalf("no failover to %s within 20s: master is %s", s.Replica.Addr(), s.MasterAddr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Redis().Client.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Errorf("write through the failover client after the failover: %v", err)
	}
}

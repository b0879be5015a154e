package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the sentinels of RedisSentinel know the master by.
const SentinelMaster = "mymaster"

// RedisSentinel is a Sentinel deployment of a test's own: a master, a replica of it and three
// sentinels (quorum 2) that fail over to the replica a second after the master stops
// answering. The sentinels are redis-server in sentinel mode (`redis-server CONF
// --sentinel`), so redis-server is the only binary needed.
type RedisSentinel struct {
	Master, Replica *RedisServer
	Sentinels       []*RedisServer
	client          *redis.Client
}

// StartRedisSentinel starts the master, the replica and the sentinels, and waits until the
// replica is in sync and every sentinel knows the replica and the other sentinels.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	ctx := context.Background()
	s := &RedisSentinel{Master: StartRedisServer(t)}
	s.Replica = StartRedisServer(t, "--replicaof", "127.0.0.1", fmt.Sprint(s.Master.port))
	waitFor(t, 20*time.Second, "the replica to sync", func() (bool, string) {
		info, err := s.Replica.client.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up"), info
	})
	for i := range 3 {
		// A sentinel rewrites its configuration file, so each has one of its own.
		conf := filepath.Join(t.TempDir(), fmt.Sprintf("sentinel-%d.conf", i))
		body := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 10000\n"+
			"sentinel parallel-syncs %[1]s 1\n", SentinelMaster, s.Master.port)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		s.Sentinels = append(s.Sentinels, startServer(t, conf, "--sentinel"))
	}
	for _, sn := range s.Sentinels {
		waitFor(t, 30*time.Second, "sentinel "+sn.Addr()+" to know the replica and the other sentinels", func() (bool, string) {
			m, err := sn.client.Do(ctx, "SENTINEL", "MASTER", SentinelMaster).Result()
			text := fmt.Sprint(m, err)
			return err == nil && strings.Contains(text, "num-slaves:1") && strings.Contains(text, "num-other-sentinels:2"), text
		})
	}
	s.client = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: s.SentinelAddrs()})
	t.Cleanup(func() { s.client.Close() })
	return s
}

// SentinelAddrs returns the sentinels' host:port.
func (s *RedisSentinel) SentinelAddrs() []string { return addrs(s.Sentinels) }

// URL returns the deployment's redis-sentinel:// URL.
func (s *RedisSentinel) URL() string {
	return "redis-sentinel://" + strings.Join(s.SentinelAddrs(), ",") + "?master=" + SentinelMaster
}

// Redis returns the deployment as a test's Redis, with an empty Prefix (see
// RedisServer.Redis); its client follows the master.
func (s *RedisSentinel) Redis() Redis {
	return Redis{URL: s.URL(), Opt: asynq.RedisFailoverClientOpt{MasterName: SentinelMaster, SentinelAddrs: s.SentinelAddrs()}, Client: s.client}
}

// MasterAddr returns the address the first sentinel that answers gives for the master.
func (s *RedisSentinel) MasterAddr() string {
	for _, sn := range s.Sentinels {
		addr, err := sn.client.Do(context.Background(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster).StringSlice()
		if err == nil && len(addr) == 2 {
			return addr[0] + ":" + addr[1]
		}
	}
	return ""
}

// waitFor polls cond every 50 ms until it holds, failing the test with what it last said
// after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, said := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: waited %s for %s: %s", timeout, what, said)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of a test's own: masters redis-server processes on free
// loopback ports, the 16384 slots split evenly between them, no replicas.
type RedisCluster struct {
	Nodes  []*RedisServer
	client *redis.ClusterClient
}

// StartRedisCluster starts a cluster of masters nodes and waits until every node says the
// cluster is ok; it is stopped when the test ends.
func StartRedisCluster(t testing.TB, masters int) *RedisCluster {
	t.Helper()
	c := &RedisCluster{}
	for range masters {
		c.Nodes = append(c.Nodes, startNode(t, "", true, "--cluster-node-timeout", "2000"))
	}
	ctx := context.Background()
	for i, n := range c.Nodes {
		lo, hi := slotRange(i, masters)
		if err := n.client.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatalf("testenv: cluster node %s: add slots %d-%d: %v", n.Addr(), lo, hi, err)
		}
		if i > 0 {
			first := c.Nodes[0]
			if err := n.client.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", first.port, first.busPort).Err(); err != nil {
				t.Fatalf("testenv: cluster node %s: meet: %v", n.Addr(), err)
			}
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range c.Nodes {
		for {
			info, err := n.client.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", masters)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("testenv: cluster node %s not ok within 20s: %v\n%s", n.Addr(), err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	c.client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { c.client.Close() })
	return c
}

// Addrs returns the nodes' host:port.
func (c *RedisCluster) Addrs() []string { return addrs(c.Nodes) }

// URL returns the cluster's redis-cluster:// URL.
func (c *RedisCluster) URL() string { return "redis-cluster://" + strings.Join(c.Addrs(), ",") }

// Redis returns the whole cluster as a test's Redis, with an empty Prefix (see
// RedisServer.Redis); its client is a cluster client.
func (c *RedisCluster) Redis() Redis {
	return Redis{URL: c.URL(), Opt: asynq.RedisClusterClientOpt{Addrs: c.Addrs()}, Client: c.client}
}

// NodeOf returns the node that holds the slot of key.
func (c *RedisCluster) NodeOf(t testing.TB, key string) *RedisServer {
	t.Helper()
	slot, err := c.client.ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("testenv: CLUSTER KEYSLOT %s: %v", key, err)
	}
	for i := range c.Nodes {
		if lo, hi := slotRange(i, len(c.Nodes)); int(slot) >= lo && int(slot) <= hi {
			return c.Nodes[i]
		}
	}
	t.Fatalf("testenv: no node holds slot %d", slot)
	return nil
}

// slotRange returns the first and last slot of node i of n.
func slotRange(i, n int) (lo, hi int) { return i * 16384 / n, (i+1)*16384/n - 1 }

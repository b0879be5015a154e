package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

// uploadInvite uploads n Import & Invite rows for domain and returns the batch.
func uploadInvite(t *testing.T, s *stacktest.Stack, org, group, domain string, n int) store.Batch {
	t.Helper()
	got := s.Upload(s.RootToken, org, group, stacktest.CSV(domain, 0, n), map[string]string{"invite": "true"})
	if got.Status != http.StatusAccepted {
		t.Fatalf("upload: got %d %s, want 202", got.Status, got.Body)
	}
	var b store.Batch
	got.JSON(t, &b)
	return b
}

// checkCompleted fails the test unless batch b finished completed with n rows succeeded.
func checkCompleted(t *testing.T, b store.Batch, n int) {
	t.Helper()
	if b.FinishedAt == nil || b.Status != store.BatchCompleted || b.Succeeded != n {
		t.Errorf("batch %s: got status %s, %d/%d processed, %d succeeded, %d failed; want completed with %d succeeded",
			b.ID, b.Status, b.Processed, b.Total, b.Succeeded, b.Failed, n)
	}
}

// checkEmailsOnce fails the test unless each of n recipients per domain got exactly one email.
func checkEmailsOnce(t *testing.T, s *stacktest.Stack, n int, domains ...string) {
	t.Helper()
	for _, d := range domains {
		lost, twice, more := emailsTo(s, d, n)
		if len(lost)+len(twice)+len(more) > 0 {
			t.Errorf("%s: %d recipients got no email, %d got two, %d more; want one each (e.g. %v %v %v)",
				d, len(lost), len(twice), len(more), lost[:min(3, len(lost))], twice[:min(3, len(twice))], more[:min(3, len(more))])
		}
	}
}

// TestWorkerOnRedisCluster runs a worker process on a 3-master Redis Cluster through a
// redis-cluster:// URL: two batches complete, each person gets one email, and the keys of
// each queue, the watch's markers among them, are on the node their hash tag names. A plain
// URL to one node, or a redis:// URL with several hosts, is refused at start.
func TestWorkerOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs a Redis Cluster")
	}
	t.Parallel()
	c := testenv.StartRedisCluster(t, 3)
	s := stacktest.NewOn(t, c.Redis())
	s.SMTP.SetDelay(2 * time.Millisecond)
	org, group := s.Org("Cluster Ltd", 0, 500)
	w := startWorkerProcess(t, workerBinary(t), workerEnv(s, c.URL(), 64), "cluster")

	start := time.Now()
	a, b := uploadInvite(t, s, org, group, "a.test", 200), uploadInvite(t, s, org, group, "b.test", 200)
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range []string{a.ID, b.ID} {
		checkCompleted(t, waitFinished(t, s, id, deadline), 200)
	}
	t.Logf("two 200-row batches finished on the cluster in %.1fs", time.Since(start).Seconds())
	checkEmailsOnce(t, s, 200, "a.test", "b.test")
	checkAccounts(t, s, org, 400)

	ctx := context.Background()
	nodes := map[string]bool{}
	for _, q := range (jobs.Queues{}).Names() {
		marker := "asynq:{" + q + "}:multiline_marker"
		home := c.NodeOf(t, marker)
		nodes[home.Addr()] = true
		if n, err := home.Redis().Client.Exists(ctx, marker).Result(); err != nil || n != 1 {
			t.Errorf("marker %s on %s, the node of its slot: got %d, %v, want it there", marker, home.Addr(), n, err)
		}
		// Every key of the queue is on that node, and no other node has one.
		for _, node := range c.Nodes {
			keys, err := node.Redis().Client.Keys(ctx, "asynq:{"+q+"}:*").Result()
			if err != nil {
				t.Fatalf("keys on %s: %v", node.Addr(), err)
			}
			if node == home && len(keys) == 0 {
				t.Errorf("queue %s: its node %s holds none of its keys", q, node.Addr())
			}
			if node != home && len(keys) > 0 {
				t.Errorf("queue %s: node %s, not the queue's, holds %v", q, node.Addr(), keys)
			}
		}
	}
	t.Logf("the 4 queues live on %d of the 3 nodes", len(nodes))
	if body := get(t, "http://"+w.addr+"/metrics"); !strings.Contains(body, "\nmultiline_redis_up 1\n") {
		t.Errorf("worker metrics on the cluster lack multiline_redis_up 1")
	}

	for _, url := range []string{"redis://" + c.Nodes[0].Addr() + "/0", "redis://" + strings.Join(c.Addrs(), ",") + "/0"} {
		if log := refusedStart(t, workerEnv(s, url, 8)); !strings.Contains(log, "redis-cluster://") {
			t.Errorf("REDIS_URL=%s: got log\n%s\nwant a refusal naming redis-cluster://", url, log)
		}
	}
}

// TestWorkerRefusesEvictingRedis: a worker does not start on a Redis with maxmemory and
// allkeys-lru, and one that runs reports not ready when its Redis is made to evict.
func TestWorkerRefusesEvictingRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker")
	}
	t.Parallel()
	evicting := testenv.StartRedisServer(t, "--maxmemory", "5mb", "--maxmemory-policy", "allkeys-lru")
	s := stacktest.NewOn(t, evicting.Redis())
	log := refusedStart(t, workerEnv(s, evicting.URL(), 8))
	if !strings.Contains(log, "allkeys-lru") || !strings.Contains(log, "set maxmemory-policy noeviction") {
		t.Errorf("on an evicting Redis: got log\n%s\nwant a refusal naming allkeys-lru and saying to set noeviction", log)
	}

	srv := testenv.StartRedisServer(t)
	w := startWorkerProcess(t, workerBinary(t), workerEnv(s, srv.URL(), 8), "ready")
	ctx := context.Background()
	srv.Redis().Client.ConfigSet(ctx, "maxmemory", "5mb")
	srv.Redis().Client.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru")
	resp, err := http.Get("http://" + w.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "noeviction") {
		t.Errorf("/readyz after the Redis was made to evict: got %d %s, want 503 saying to set noeviction", resp.StatusCode, body)
	}
}

// TestWorkerThroughSentinelFailover runs two worker processes through Sentinel
// (redis-sentinel://) and kills the master while they send a 1000-row batch. The sentinels
// promote the replica; an upload made meanwhile answers 202; both batches complete with no
// account, number or email twice.
func TestWorkerThroughSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and runs a Sentinel deployment")
	}
	t.Parallel()
	sn := testenv.StartRedisSentinel(t)
	s := stacktest.NewOn(t, sn.Redis())
	s.SMTP.SetDelay(20 * time.Millisecond)
	org, group := s.Org("Sentinel Ltd", 0, 1100)
	env := workerEnv(s, sn.URL(), 16)
	startWorkerProcess(t, workerBinary(t), env, "first")
	startWorkerProcess(t, workerBinary(t), env, "second")

	big := uploadInvite(t, s, org, group, "big.test", 1000)
	s.SMTP.WaitForCount(t, 200, 60*time.Second)
	mid, _ := s.Store.Batch(context.Background(), big.ID)
	sn.Master.Kill()
	killed := time.Now()
	small := uploadInvite(t, s, org, group, "small.test", 20)
	t.Logf("killed the master at %d of 1000 rows; an upload then answered 202 in %.1fs", mid.Processed, time.Since(killed).Seconds())

	deadline := killed.Add(90 * time.Second)
	for sn.MasterAddr() != sn.Replica.Addr() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	failedOver := time.Since(killed)
	for {
		b, err := s.Store.Batch(context.Background(), big.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b.Processed > mid.Processed+50 || b.FinishedAt != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	resumed := time.Since(killed)
	bigDone, smallDone := waitFinished(t, s, big.ID, deadline), waitFinished(t, s, small.ID, deadline)
	t.Logf("sentinels promoted the replica %.1fs after the kill; rows moved again %.1fs after it; the batches finished %.1fs and %.1fs after it",
		failedOver.Seconds(), resumed.Seconds(), bigDone.FinishedAt.Sub(killed).Seconds(), smallDone.FinishedAt.Sub(killed).Seconds())
	checkCompleted(t, bigDone, 1000)
	checkCompleted(t, smallDone, 20)
	waitQueuesIdle(t, s, time.Now().Add(10*time.Second))
	checkEmailsOnce(t, s, 1000, "big.test")
	checkEmailsOnce(t, s, 20, "small.test")
	checkAccounts(t, s, org, 1020)
}

// get returns the body of a GET of url.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/smtptest"
	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/testenv"
)

// BenchmarkWorkerProcesses runs Import & Invite batches through 1, 2 and 3 real worker
// processes (WORKER_CONCURRENCY 512, the default) sharing one PostgreSQL and a private Redis:
// one 1000-row batch alone (seconds to its report), then ten at once into one pool (rows/s).
// It reports the workers' CPU per row (all processes together), Redis's CPU and commands
// per row, and how busy the machine was: the inputs of deploy/README.md's scaling model.
//
//	go test -run '^$' -bench WorkerProcesses -benchtime 1x ./cmd/worker
func BenchmarkWorkerProcesses(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			srv := testenv.StartRedisServer(b)
			s := stacktest.NewOn(b, srv.Redis())
			org, group := s.Org("Scale Ltd", 0, 11000*b.N)
			// A sink that accepts and forgets, as in internal/pipebench: the stack's server keeps
			// and parses every message, which costs this process more than the workers.
			env := append(workerEnv(s, srv.URL(), 512), "SMTP_URL="+smtptest.StartSink(b).URL())
			var workers []*workerProcess
			for i := range n {
				workers = append(workers, startWorkerProcess(b, workerBinary(b), env, fmt.Sprint("w", i)))
			}
			var one, ten time.Duration
			before := markScale(b, srv, workers)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				id := uploadBatch(b, s, org, group, fmt.Sprintf("one%d.test", i), 1000)
				waitFinished(b, s, id, time.Now().Add(2*time.Minute))
				one += time.Since(start)

				start = time.Now()
				var ids []string
				for j := range 10 {
					ids = append(ids, uploadBatch(b, s, org, group, fmt.Sprintf("ten%d-%d.test", i, j), 1000))
				}
				for _, id := range ids {
					if bt := waitFinished(b, s, id, time.Now().Add(5*time.Minute)); bt.FinishedAt == nil || bt.Succeeded != 1000 {
						b.Fatalf("batch %s: got %s with %d succeeded, want completed with 1000", id, bt.Status, bt.Succeeded)
					}
				}
				ten += time.Since(start)
			}
			b.StopTimer()
			after := markScale(b, srv, workers)
			rows := float64(11000 * b.N)
			b.ReportMetric(one.Seconds()/float64(b.N), "s_one_batch")
			b.ReportMetric(10000*float64(b.N)/ten.Seconds(), "rows/s")
			b.ReportMetric(float64((after.workers-before.workers).Microseconds())/rows, "worker_cpu_us/row")
			b.ReportMetric(float64((after.redis-before.redis).Microseconds())/rows, "redis_cpu_us/row")
			b.ReportMetric(float64(after.commands-before.commands)/rows, "redis_cmds/row")
			b.ReportMetric(100*float64(after.busy-before.busy)/float64(after.at.Sub(before.at))/float64(runtime.NumCPU()), "machine_busy_%")
		})
	}
}

// uploadBatch uploads an Import & Invite file of n rows and returns its batch id.
func uploadBatch(b *testing.B, s *stacktest.Stack, org, group, domain string, n int) string {
	b.Helper()
	got := s.Upload(s.RootToken, org, group, stacktest.CSV(domain, 0, n), map[string]string{"invite": "true"})
	if got.Status != 202 {
		b.Fatalf("upload: got %d %s", got.Status, got.Body)
	}
	var bt struct{ ID string }
	got.JSON(b, &bt)
	return bt.ID
}

// scaleMark is where the benchmark's processes stand at one moment.
type scaleMark struct {
	at             time.Time
	workers, redis time.Duration // CPU used so far
	busy           time.Duration // CPU the whole machine used so far
	commands       int64         // commands Redis processed so far
}

func markScale(b *testing.B, srv *testenv.RedisServer, workers []*workerProcess) scaleMark {
	m := scaleMark{at: time.Now(), busy: testenv.MachineBusy()}
	for _, w := range workers {
		m.workers += testenv.ProcessCPU(w.cmd.Process.Pid)
	}
	info, err := srv.Redis().Client.Info(context.Background(), "cpu", "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	sys, _ := strconv.ParseFloat(infoValue(info, "used_cpu_sys"), 64)
	user, _ := strconv.ParseFloat(infoValue(info, "used_cpu_user"), 64)
	m.redis = time.Duration((sys + user) * float64(time.Second))
	m.commands, _ = strconv.ParseInt(infoValue(info, "total_commands_processed"), 10, 64)
	return m
}

func infoValue(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

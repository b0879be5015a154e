package pipebench

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkFairShare is the multi-tenant case: a 10-row Import & Invite batch of one
// organization uploaded just after another organization's ten 1000-row batches. It reports
// the small batch's seconds from upload to report alone and behind the big ones, and the big
// batches' rows per second alone and with the small one beside them, all in one run; the
// targets are a small batch within 3 × its time alone and big batches losing at most 10 %.
func BenchmarkFairShare(b *testing.B) { fairShare(b, nil, 10) }

// BenchmarkFairShareRateLimited is BenchmarkFairShare with the send rate limited to 200
// emails a second (SMTP_RATE), so sending is what the rows wait for, behind three 1000-row
// batches (15 s at that rate).
func BenchmarkFairShareRateLimited(b *testing.B) {
	fairShare(b, map[string]string{"SMTP_RATE": "200"}, 3)
}

func fairShare(b *testing.B, settings map[string]string, bigBatches int) {
	e := setupWith(b, service, settings)
	warm, warmGroup := e.org(1000)
	e.batch(warm, warmGroup, "warm.test")

	var smallAlone, smallBehind, bigAlone, bigWith time.Duration
	for i := 0; i < b.N; i++ {
		small, smallGroup := e.org(100)
		smallAlone += e.smallBatch(small, smallGroup, fmt.Sprintf("alone%d.small.test", i))

		big, bigGroup := e.org(20000)
		bigAlone += e.bigBatches(big, bigGroup, fmt.Sprintf("alone%d", i), bigBatches, nil)

		var behind time.Duration
		bigWith += e.bigBatches(big, bigGroup, fmt.Sprintf("with%d", i), bigBatches, func() {
			behind = e.smallBatch(small, smallGroup, fmt.Sprintf("behind%d.small.test", i))
		})
		smallBehind += behind
	}
	n := float64(b.N)
	b.ReportMetric(smallAlone.Seconds()/n, "s_small_alone")
	b.ReportMetric(smallBehind.Seconds()/n, "s_small_behind")
	b.ReportMetric(smallBehind.Seconds()/smallAlone.Seconds(), "small_behind_vs_alone")
	b.ReportMetric(float64(1000*bigBatches)*n/bigAlone.Seconds(), "big_rows/s_alone")
	b.ReportMetric(float64(1000*bigBatches)*n/bigWith.Seconds(), "big_rows/s_with_small")
	b.ReportMetric(bigAlone.Seconds()/bigWith.Seconds(), "big_with_vs_alone")
}

// smallBatch uploads a 10-row Import & Invite batch and returns the time from upload to report.
func (e *env) smallBatch(org, group, domain string) time.Duration {
	start := time.Now()
	id := e.upload(org, group, domain, 10)
	if got := e.wait(id, 10*time.Millisecond); got != 10 {
		e.b.Fatalf("small batch: got %d succeeded, want 10", got)
	}
	took := time.Since(start)
	e.sent += 10
	e.phases(id, start)
	return took
}

// bigBatches uploads n 1000-row Import & Invite batches into org one after another, then
// runs beside (when not nil) while they work, and returns the time from the first upload to
// the last report. It waits for every email and row task before returning.
func (e *env) bigBatches(org, group, prefix string, n int, beside func()) time.Duration {
	start := time.Now()
	ids := make([]string, n)
	for j := range ids {
		ids[j] = e.upload(org, group, fmt.Sprintf("%s-%d.big.test", prefix, j), 1000)
	}
	var wg sync.WaitGroup
	if beside != nil {
		wg.Add(1)
		go func() { defer wg.Done(); beside() }()
	}
	for _, id := range ids {
		if got := e.wait(id, 100*time.Millisecond); got != 1000 {
			e.b.Fatalf("big batch: got %d succeeded, want 1000", got)
		}
	}
	took := time.Since(start)
	wg.Wait()
	e.sent += 1000 * n
	e.smtp.WaitForCount(e.b, e.sent, 2*time.Minute)
	e.drain(2 * time.Minute)
	return took
}

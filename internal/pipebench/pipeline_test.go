package pipebench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/smtptest"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
	"github.com/multiline/onboarding/internal/token"
)

// consumer names what takes the row tasks off the queue in a benchmark.
type consumer string

const (
	service consumer = "service" // the worker binary
	literal consumer = "literal" // the textbook peer, in this process (literal_test.go)
)

// tokenSecret is the TOKEN_SECRET of the processes a benchmark starts (40 characters).
const tokenSecret = "pipebench-token-secret-0123456789abcdefg"

// env is a running api process and what consumes its row tasks: the worker process, or the
// literal peer when worker is nil.
type env struct {
	b       *testing.B
	queues  *asynq.Inspector
	st      *store.Store
	vars    map[string]string // the settings of the processes, over this process's environment
	apiURL  string
	token   string
	smtp    *smtptest.Server
	worker  *exec.Cmd
	api     *exec.Cmd
	orgs    int
	numbers int
	sent    int // emails of the batches run by batch
}

func setup(b *testing.B, c consumer) *env { return setupWith(b, c, nil) }

// setupWith is setup with settings of the processes beyond the benchmark's own.
func setupWith(b *testing.B, c consumer, settings map[string]string) *env {
	b.Helper()
	db, dbURL := testenv.DB(b)
	// A Redis server of its own: the binaries use the default queue names, and the shared
	// Redis of the other tests is never flushed.
	rsrv := testenv.StartRedisServer(b)
	e := &env{b: b, st: store.New(db), smtp: smtptest.StartSink(b),
		queues: asynq.NewInspector(rsrv.Redis().Opt)}
	b.Cleanup(func() { e.queues.Close() })
	plain, hash := token.New(httpapi.AdminTokenPrefix)
	if _, err := e.st.CreateAdmin(context.Background(), store.NewAdmin{Email: "bench@test.example",
		Privileges: []string{"accounts", "numbers", "organizations", "reports"}, TokenHash: hash}); err != nil {
		b.Fatal(err)
	}
	e.token = plain

	names := []string{"api"}
	if c == service {
		names = append(names, "worker")
	}
	bin := b.TempDir()
	for _, name := range names {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), "github.com/multiline/onboarding/cmd/"+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	apiAddr, workerAddr := freeAddr(b), freeAddr(b)
	e.vars = map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": rsrv.URL(), "SMTP_URL": e.smtp.URL(),
		"API_ADDR": apiAddr, "WORKER_ADDR": workerAddr, "LOG_LEVEL": "error", "PUBLIC_URL": "http://bench.test",
		"TOKEN_SECRET": tokenSecret}
	for k, v := range settings {
		e.vars[k] = v
	}
	envv := os.Environ()
	for k, v := range e.vars {
		envv = append(envv, k+"="+v)
	}
	start := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = envv
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatalf("start %s: %v", name, err)
		}
		b.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
		return cmd
	}
	e.api = start("api", "serve")
	e.apiURL = "http://" + apiAddr
	waitReady(b, e.apiURL+"/readyz")
	switch c {
	case service:
		e.worker = start("worker")
		waitReady(b, "http://"+workerAddr+"/readyz")
	case literal:
		startPeer(b, e.getenv)
	}
	return e
}

// getenv reads a setting as the processes of the benchmark see it.
func (e *env) getenv(key string) string {
	if v, ok := e.vars[key]; ok {
		return v
	}
	return os.Getenv(key)
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(b *testing.B, u string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s never became ready", u)
}

// org creates an organization with n numbers and a permission group.
func (e *env) org(n int) (orgID, groupID string) {
	ctx := context.Background()
	e.orgs++
	o, err := e.st.CreateOrganization(ctx, store.Admin{}, store.NewOrganization{Name: fmt.Sprintf("Bench %d", e.orgs)})
	if err != nil {
		e.b.Fatal(err)
	}
	if n > 0 {
		nums := make([]string, n)
		for i := range nums {
			nums[i] = fmt.Sprintf("+1555%07d", e.numbers+i)
		}
		e.numbers += n
		if _, err := e.st.AddNumbers(ctx, o.ID, nums); err != nil {
			e.b.Fatal(err)
		}
	}
	g, err := e.st.CreatePermissionGroup(ctx, o.ID, "Staff")
	if err != nil {
		e.b.Fatal(err)
	}
	return o.ID, g.ID
}

// upload posts an Import & Invite file of n rows and returns the batch id.
func (e *env) upload(org, group, domain string, n int) string {
	var csv strings.Builder
	csv.WriteString("firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms,Language\r\n")
	for i := range n {
		fmt.Fprintf(&csv, "User,%d,user%d@%s,No,,auto,on,English\r\n", i, i, domain)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("permission_group", group)
	_ = mw.WriteField("invite", "true")
	fw, _ := mw.CreateFormFile("file", "bench.csv")
	_, _ = fw.Write([]byte(csv.String()))
	mw.Close()
	req, _ := http.NewRequest("POST", e.apiURL+"/v1/organizations/"+org+"/batches", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.b.Fatal(err)
	}
	defer resp.Body.Close()
	var batch struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusAccepted || json.NewDecoder(resp.Body).Decode(&batch) != nil {
		e.b.Fatalf("upload: status %d", resp.StatusCode)
	}
	return batch.ID
}

// wait polls the API every poll until batch id has finished and returns its succeeded rows.
// Polling is part of the load: a browser polls once a second, the benchmark more often to
// see the end sooner.
func (e *env) wait(id string, poll time.Duration) (succeeded int) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", e.apiURL+"/v1/batches/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.b.Fatal(err)
		}
		var got struct {
			Status     string  `json:"status"`
			Succeeded  int     `json:"succeeded"`
			FinishedAt *string `json:"finished_at"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if got.FinishedAt != nil {
			return got.Succeeded
		}
		time.Sleep(poll)
	}
	e.b.Fatalf("batch %s did not finish in 5 minutes", id)
	return 0
}

// phases logs where the time of a batch went, from the database's timestamps.
func (e *env) phases(id string, start time.Time) {
	var p struct {
		Created, Started, FirstSettled, LastSettled, Finished time.Time
	}
	err := e.st.DB().QueryRow(`SELECT b.created_at, b.started_at, min(r.settled_at), max(r.settled_at), b.finished_at
		FROM batches b JOIN batch_rows r ON r.batch_id = b.id WHERE b.id = $1
		GROUP BY b.id`, id).Scan(&p.Created, &p.Started, &p.FirstSettled, &p.LastSettled, &p.Finished)
	if err != nil {
		e.b.Logf("phases: %v", err)
		return
	}
	ms := func(t time.Time) int64 { return t.Sub(start).Milliseconds() }
	e.b.Logf("ms after upload began: stored %d, first row started %d, first settled %d, last settled %d, finished %d",
		ms(p.Created), ms(p.Started), ms(p.FirstSettled), ms(p.LastSettled), ms(p.Finished))
}

// cpu returns the CPU time a process has used so far.
func cpu(cmd *exec.Cmd) time.Duration { return testenv.ProcessCPU(cmd.Process.Pid) }

// cpuMark is where the processes of the benchmark stand at one moment: the api, the worker,
// PostgreSQL's and Redis's processes, this process (the SMTP sink, the polling client and,
// without a worker, the literal peer), and the machine as a whole.
type cpuMark struct {
	api, worker, postgres, redis, self, busy time.Duration
}

func (e *env) mark() cpuMark {
	m := cpuMark{api: cpu(e.api), self: testenv.ProcessCPU(os.Getpid()), busy: testenv.MachineBusy()}
	if e.worker != nil {
		m.worker = cpu(e.worker)
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		switch strings.TrimSpace(string(comm)) {
		case "postgres":
			m.postgres += testenv.ProcessCPU(pid)
		case "redis-server":
			m.redis += testenv.ProcessCPU(pid)
		}
	}
	return m
}

// cpuPerRow reports each process's CPU per row since start, and how busy the machine was.
// PostgreSQL backends that exited meanwhile are not counted; the pools keep theirs open.
func (e *env) cpuPerRow(b *testing.B, start cpuMark, rows int, wall time.Duration) {
	end := e.mark()
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(rows) }
	b.ReportMetric(per(end.api-start.api), "api_cpu_us/row")
	if e.worker != nil {
		b.ReportMetric(per(end.worker-start.worker), "worker_cpu_us/row")
		b.ReportMetric(per(end.self-start.self), "sink_cpu_us/row")
	} else {
		// The literal peer shares this process with the sink and the poller, so its figure
		// includes theirs; the service's sink_cpu_us/row says how much that is.
		b.ReportMetric(per(end.self-start.self), "worker_cpu_us/row")
	}
	b.ReportMetric(per(end.postgres-start.postgres), "pg_cpu_us/row")
	b.ReportMetric(per(end.redis-start.redis), "redis_cpu_us/row")
	b.ReportMetric(100*float64(end.busy-start.busy)/float64(wall)/float64(runtime.NumCPU()), "machine_busy_%")
}

// reportPeakRSS reports the worker's high-water resident set size in MiB; the literal peer
// has no process of its own to measure.
func (e *env) reportPeakRSS(b *testing.B) {
	if e.worker != nil {
		b.ReportMetric(e.peakRSS(), "worker_peak_MiB")
	}
}

// peakRSS reads the worker's high-water resident set size in MiB.
func (e *env) peakRSS() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.worker.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// drain waits until the worker has run every row task, so that CPU figures count them all
// (each row's task settles its row, so there is little left once the reports are ready).
func (e *env) drain(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		info, err := e.queues.GetQueueInfo("rows")
		if errors.Is(err, asynq.ErrQueueNotFound) || (err == nil && info.Size == 0) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.b.Fatalf("row tasks still queued after %v", timeout)
}

// BenchmarkOneBatch1000 is one 1000-row Import & Invite batch: seconds from upload to report
// ready and to the last email accepted by the SMTP server, for the literal peer and then the
// service, whose line also has its time to the report over the peer's.
func BenchmarkOneBatch1000(b *testing.B) {
	var peer float64
	b.Run(string(literal), func(b *testing.B) { peer = oneBatch(b, literal) })
	b.Run(string(service), func(b *testing.B) {
		if s := oneBatch(b, service); peer > 0 {
			b.ReportMetric(s/peer, "s_vs_literal")
		}
	})
}

// oneBatch runs BenchmarkOneBatch1000 on c and returns the mean seconds to the report.
func oneBatch(b *testing.B, c consumer) float64 {
	e := setup(b, c)
	sent := 0
	var toReport, toMail, toDrain time.Duration
	for i := 0; i < b.N; i++ {
		org, group := e.org(1000)
		start := time.Now()
		mark := e.mark()
		id := e.upload(org, group, fmt.Sprintf("one%d.test", i), 1000)
		if got := e.wait(id, 20*time.Millisecond); got != 1000 {
			b.Fatalf("got %d succeeded, want 1000", got)
		}
		toReport += time.Since(start)
		sent += 1000
		e.smtp.WaitForCount(b, sent, time.Minute)
		toMail += time.Since(start)
		e.drain(time.Minute)
		toDrain += time.Since(start)
		if i == b.N-1 {
			e.cpuPerRow(b, mark, 1000, time.Since(start))
		}
		e.phases(id, start)
	}
	s := toReport.Seconds() / float64(b.N)
	b.ReportMetric(s, "s_to_report")
	b.ReportMetric(toMail.Seconds()/float64(b.N), "s_to_last_email")
	b.ReportMetric(toDrain.Seconds()/float64(b.N), "s_to_last_task")
	b.ReportMetric(1000*float64(b.N)/toReport.Seconds(), "rows/s")
	e.reportPeakRSS(b)
	return s
}

// BenchmarkTenBatchesAtOnce is ten 1000-row Import & Invite batches uploaded at once into one
// pool: total rows per second from the first upload to the last report, and to the last row
// task run, for the literal peer and then the service, whose line also has its rows per
// second over the peer's.
func BenchmarkTenBatchesAtOnce(b *testing.B) {
	var peer float64
	b.Run(string(literal), func(b *testing.B) { peer = tenBatches(b, literal) })
	b.Run(string(service), func(b *testing.B) {
		if s := tenBatches(b, service); peer > 0 {
			b.ReportMetric(s/peer, "rows/s_vs_literal")
		}
	})
}

// tenBatches runs BenchmarkTenBatchesAtOnce on c and returns the rows per second to the last
// report.
func tenBatches(b *testing.B, c consumer) float64 {
	e := setup(b, c)
	sent := 0
	var total, drained time.Duration
	for i := 0; i < b.N; i++ {
		org, group := e.org(10000)
		start := time.Now()
		mark := e.mark()
		var wg sync.WaitGroup
		for j := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := e.wait(e.upload(org, group, fmt.Sprintf("ten%d-%d.test", i, j), 1000), 200*time.Millisecond); got != 1000 {
					b.Errorf("got %d succeeded, want 1000", got)
				}
			}()
		}
		wg.Wait()
		total += time.Since(start)
		sent += 10000
		e.smtp.WaitForCount(b, sent, 2*time.Minute)
		e.drain(2 * time.Minute)
		drained += time.Since(start)
		if i == b.N-1 {
			e.cpuPerRow(b, mark, 10000, time.Since(start))
		}
	}
	rate := 10000 * float64(b.N) / total.Seconds()
	b.ReportMetric(total.Seconds()/float64(b.N), "s_to_report")
	b.ReportMetric(drained.Seconds()/float64(b.N), "s_to_last_task")
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(10000*float64(b.N)/drained.Seconds(), "rows/s_all_tasks")
	e.reportPeakRSS(b)
	return rate
}

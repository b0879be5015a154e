package metrics_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/testenv"
)

// deployDir is the operator's folder, seen from this package's directory.
var deployDir = filepath.Join("..", "..", "deploy")

// query is one PromQL expression of the dashboard or the alert rules, with where it was found.
type query struct {
	where string
	expr  string
}

// family is what a running process exports under one series name.
type family struct {
	labels map[string]bool
}

var (
	// metricRef finds a metric name of ours and the label matchers that follow it, if any.
	metricRef = regexp.MustCompile(`multiline_[a-z_]+(\{[^}]*\})?`)
	// matcherLabel finds the label name of each matcher inside {...}.
	matcherLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	// groupingClause finds the labels of by (...) and without (...).
	groupingClause = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	// jobMatcher finds job="..." and job=~"...".
	jobMatcher = regexp.MustCompile(`\bjob\s*(=~|=)\s*"([^"]*)"`)
)

// Labels Prometheus adds to every scraped series.
var targetLabels = []string{"job", "instance"}

// TestDeployReferencesExportedMetrics checks that every multiline_* series the Grafana
// dashboards and the alert rules query is exported by the api or the worker, with the labels
// the queries select and group by, and that their job names exist in prometheus.yml. A
// renamed metric or label otherwise shows up only as an empty panel or an alert that can
// never fire.
func TestDeployReferencesExportedMetrics(t *testing.T) {
	t.Parallel()
	exported := exportedFamilies(t)
	queries := append(dashboardQueries(t), ruleQueries(t, filepath.Join(deployDir, "prometheus", "alerts.yml"))...)
	jobs := scrapeJobs(t, filepath.Join(deployDir, "prometheus", "prometheus.yml"))

	var problems []string
	used := map[string]bool{}
	for _, q := range queries {
		refs := metricRef.FindAllStringSubmatch(q.expr, -1)
		known := map[string]bool{"le": true}
		for _, l := range targetLabels {
			known[l] = true
		}
		for _, ref := range refs {
			name := ref[0]
			if i := strings.IndexByte(name, '{'); i >= 0 {
				name = name[:i]
			}
			used[name] = true
			f, ok := exported[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %s is not exported by the api or the worker", q.where, name))
				continue
			}
			for l := range f.labels {
				known[l] = true
			}
			for _, m := range matcherLabel.FindAllStringSubmatch(ref[1], -1) {
				if !f.labels[m[1]] && !slices.Contains(targetLabels, m[1]) {
					problems = append(problems, fmt.Sprintf("%s: %s has no label %q (it has %s)", q.where, name, m[1], labelList(f)))
				}
			}
		}
		for _, g := range groupingClause.FindAllStringSubmatch(q.expr, -1) {
			for _, l := range strings.Split(g[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !known[l] {
					problems = append(problems, fmt.Sprintf("%s: groups by %q, which none of its metrics has", q.where, l))
				}
			}
		}
		for _, m := range jobMatcher.FindAllStringSubmatch(q.expr, -1) {
			if !jobExists(jobs, m[1], m[2]) {
				problems = append(problems, fmt.Sprintf("%s: job%s%q matches no job_name of prometheus.yml %v", q.where, m[1], m[2], jobs))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		problems = slices.Compact(problems)
		t.Errorf("%d problems in deploy/ queries:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}

	for name := range used {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			used[strings.TrimSuffix(name, suffix)] = true
		}
	}
	var unused []string
	for name := range exported {
		if strings.HasPrefix(name, "multiline_") && !used[name] && !strings.HasSuffix(name, "_bucket") && !strings.HasSuffix(name, "_sum") && !strings.HasSuffix(name, "_count") {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	t.Logf("checked %d queries; exported but not charted or alerted on: %v", len(queries), unused)
}

// TestAlertRulesAreExplained checks that every alert carries the summary and description an
// operator reads when it fires.
func TestAlertRulesAreExplained(t *testing.T) {
	t.Parallel()
	path := filepath.Join(deployDir, "prometheus", "alerts.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type rule struct{ summary, description bool }
	rules := map[string]*rule{}
	var cur *rule
	for _, line := range strings.Split(string(b), "\n") {
		s := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(s, "- alert:"):
			cur = &rule{}
			rules[strings.TrimSpace(strings.TrimPrefix(s, "- alert:"))] = cur
		case strings.HasPrefix(s, "- name:") || strings.HasPrefix(s, "- record:"):
			cur = nil
		case cur != nil && strings.HasPrefix(s, "summary:"):
			cur.summary = true
		case cur != nil && strings.HasPrefix(s, "description:"):
			cur.description = true
		}
	}
	if len(rules) == 0 {
		t.Fatalf("no alert in %s", path)
	}
	for name, r := range rules {
		if !r.summary || !r.description {
			t.Errorf("alert %s: summary %v, description %v; want both", name, r.summary, r.description)
		}
	}
}

// TestDeployPromQLSyntax hands the alert rules, and the dashboard queries as recording rules,
// to promtool when it is installed (Debian's prometheus package ships it).
func TestDeployPromQLSyntax(t *testing.T) {
	t.Parallel()
	promtool := promtoolPath(t)
	rules := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	var sb strings.Builder
	sb.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	grafanaVars := strings.NewReplacer("$__rate_interval", "1m", "$__range", "1h", "$organization", ".*", "$route", ".*")
	for i, q := range dashboardQueries(t) {
		if !strings.Contains(q.expr, "(") && !strings.Contains(q.expr, "multiline_") {
			continue // not PromQL: a data source variable's type
		}
		if strings.HasPrefix(strings.TrimSpace(q.expr), "label_values(") {
			continue // a Grafana variable query, not PromQL
		}
		expr, _ := json.Marshal(grafanaVars.Replace(q.expr))
		fmt.Fprintf(&sb, "      - record: dashboard:query_%d\n        expr: %s\n", i, expr)
	}
	if err := os.WriteFile(rules, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{filepath.Join(deployDir, "prometheus", "alerts.yml"), rules} {
		out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", file, err, out)
		}
	}
}

// TestAlertRulesFire runs the unit tests of the alert rules (deploy/prometheus/alerts_test.yml)
// with promtool on synthetic series: an SMTP outage fires within 5 minutes, a normal day and an
// admin's re-upload of existing accounts do not, rows giving up on the service do.
func TestAlertRulesFire(t *testing.T) {
	t.Parallel()
	promtool := promtoolPath(t)
	cmd := exec.Command(promtool, "test", "rules", "alerts_test.yml")
	cmd.Dir = filepath.Join(deployDir, "prometheus")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// promtoolPath finds promtool (Debian's prometheus package ships it). Outside CI a machine
// without it skips the test; in CI (.ci/run installs it) its absence fails.
func promtoolPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	switch {
	case err == nil:
		return path
	case os.Getenv("CI") != "":
		t.Fatalf("promtool not found in CI: .ci/run installs Debian's prometheus package for it: %v", err)
	default:
		t.Skip("promtool not installed (apt-get install prometheus): alert rules not checked")
	}
	return ""
}

// exportedFamilies builds the api's and a worker's registries as cmd/api and cmd/worker do,
// makes every vector and collector produce a series, and returns every series name they
// export (histograms as their _bucket, _sum and _count series too) with its labels.
func exportedFamilies(t *testing.T) map[string]family {
	t.Helper()
	out := map[string]family{}

	apiReg := metrics.NewRegistry()
	apiRec := &recorder{Registerer: apiReg}
	api := metrics.NewAPI(apiRec)
	api.ObserveRequest("GET /healthz", "GET", 200, time.Millisecond)
	api.Uploads.WithLabelValues("accepted").Inc()
	api.Enqueued.WithLabelValues("row").Inc()
	api.EnqueueErrors.WithLabelValues("row").Inc()
	gatherInto(t, "api", apiReg, apiRec, out)

	workerReg := metrics.NewRegistry()
	workerRec := &recorder{Registerer: workerReg}
	w := metrics.NewWorker(workerRec, jobs.TaskTypes...)
	w.RowsSettled.WithLabelValues(store.RowSucceeded, "none").Inc()
	w.RowDuration.WithLabelValues(store.RowSucceeded).Observe(0.01)
	w.BatchesFinished.WithLabelValues(store.BatchCompleted).Inc()
	w.BatchDuration.WithLabelValues(store.BatchCompleted).Observe(1)
	w.EmailsSent.WithLabelValues("invitation").Inc()
	w.EmailsFailed.WithLabelValues("invitation", "permanent").Inc()
	w.TaskRetries.WithLabelValues("row").Inc()

	r := testenv.NewRedis(t)
	inspector := asynq.NewInspector(r.Opt)
	t.Cleanup(func() { inspector.Close() })
	workerRec.MustRegister(metrics.NewQueueCollector(inspector, []string{r.Prefix + "finalize", r.Prefix + "rows"}))
	workerRec.MustRegister(metrics.NewLeaseCollector([]string{r.Prefix + "rows"}, jobs.NewLeases(r.Client, jobs.Queues{Prefix: r.Prefix}, w, zerolog.Nop()).PastLease))

	db, _ := testenv.DB(t)
	ctx := testenv.Context(t)
	// One organization with numbers and a batch with a row pending, so the pool and backlog
	// collectors have something to report.
	const seed = `WITH o AS (INSERT INTO organizations (name) VALUES ('Acme') RETURNING id),
		n AS (INSERT INTO numbers (e164, organization_id) SELECT '+1555010000' || g, o.id FROM o, generate_series(1, 3) g),
		g AS (INSERT INTO permission_groups (organization_id, name) SELECT id, 'Staff' FROM o RETURNING id, organization_id)
		INSERT INTO batches (organization_id, permission_group_id, uploaded_by, invite, total, pending)
		SELECT organization_id, id, 'test', false, 1, 1 FROM g`
	if _, err := db.ExecContext(ctx, seed); err != nil {
		t.Fatalf("seed numbers: %v", err)
	}
	st := store.New(db)
	workerRec.MustRegister(metrics.NewPoolCollector(st.NumberCountsByOrganization), metrics.NewBatchCollector(st.UnfinishedBatchBacklog))
	gatherInto(t, "worker", workerReg, workerRec, out)
	return out
}

// gatherInto adds the series of reg to out, and fails when a metric that rec's collectors
// describe produced no series: the test must touch every new vector.
func gatherInto(t *testing.T, process string, reg *prometheus.Registry, rec *recorder, out map[string]family) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather %s metrics: %v", process, err)
	}
	ours := 0
	var names []string
	for _, mf := range mfs {
		name := mf.GetName()
		if strings.HasPrefix(name, "multiline_") {
			ours++
			names = append(names, name)
		}
		labels := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = true
			}
		}
		add := func(n string, extra ...string) {
			f, ok := out[n]
			if !ok {
				f = family{labels: map[string]bool{}}
				out[n] = f
			}
			for l := range labels {
				f.labels[l] = true
			}
			for _, l := range extra {
				f.labels[l] = true
			}
		}
		add(name)
		switch mf.GetType().String() {
		case "HISTOGRAM", "GAUGE_HISTOGRAM":
			add(name+"_bucket", "le")
			add(name + "_sum")
			add(name + "_count")
		case "SUMMARY":
			add(name + "_sum")
			add(name + "_count")
		}
	}
	if described := rec.described(); ours != described {
		t.Fatalf("%s: its collectors describe %d metrics but %d produced a series (%v): touch every vector in exportedFamilies and give every collector data to report",
			process, described, ours, names)
	}
}

// recorder is a Registerer that remembers what was registered through it, so the test can
// tell the service's metrics apart from the Go runtime's.
type recorder struct {
	prometheus.Registerer
	collectors []prometheus.Collector
}

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.Registerer.Register(c); err != nil {
		return err
	}
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) described() int {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range r.collectors {
			c.Describe(ch)
		}
		close(ch)
	}()
	n := 0
	for range ch {
		n++
	}
	return n
}

// dashboardQueries returns the PromQL of every panel target and template variable of the
// dashboards in deploy/grafana/dashboards.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "grafana", "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboard in %s (err %v)", filepath.Join(deployDir, "grafana", "dashboards"), err)
	}
	var out []query
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		n := len(out)
		walkJSON(doc, filepath.Base(file), func(where, expr string) {
			out = append(out, query{where: where, expr: expr})
		})
		if len(out) == n {
			t.Fatalf("%s: no query found", file)
		}
	}
	return out
}

// walkJSON calls fn with every string under an "expr", "query" or "definition" key, naming
// the enclosing panel or variable.
func walkJSON(v any, where string, fn func(where, expr string)) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range []string{"title", "name"} {
			if s, ok := v[k].(string); ok {
				where = strings.SplitN(where, ": ", 2)[0] + ": " + s
				break
			}
		}
		for k, child := range v {
			if s, ok := child.(string); ok && (k == "expr" || k == "query" || k == "definition") {
				fn(where, s)
				continue
			}
			walkJSON(child, where, fn)
		}
	case []any:
		for _, child := range v {
			walkJSON(child, where, fn)
		}
	}
}

var exprKey = regexp.MustCompile(`^(\s*)(-\s+)?expr:\s*(.*)$`)

// ruleQueries returns the expr of every rule in a Prometheus rules file. It reads lines
// rather than YAML (the module has no YAML parser of its own): an expr is the text after
// "expr:" (a block indicator | or > is dropped) plus every following line indented deeper.
func ruleQueries(t *testing.T, path string) []query {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []query
	for i := 0; i < len(lines); i++ {
		m := exprKey.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		start, keyIndent := i+1, len(m[1])+len(m[2])
		first := strings.TrimSpace(m[3])
		if strings.HasPrefix(first, "|") || strings.HasPrefix(first, ">") {
			first = ""
		}
		parts := []string{strings.Trim(first, `'"`)}
		for i+1 < len(lines) {
			next := lines[i+1]
			if strings.TrimSpace(next) != "" && len(next)-len(strings.TrimLeft(next, " ")) <= keyIndent {
				break
			}
			parts = append(parts, next)
			i++
		}
		out = append(out, query{where: fmt.Sprintf("%s:%d", filepath.Base(path), start), expr: strings.Join(parts, "\n")})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no expr found", path)
	}
	return out
}

// scrapeJobs lists the job_name values of a Prometheus configuration.
func scrapeJobs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for _, line := range strings.Split(string(b), "\n") {
		s := strings.TrimPrefix(strings.TrimSpace(line), "- ")
		if v, ok := strings.CutPrefix(s, "job_name:"); ok {
			jobs = append(jobs, strings.Trim(strings.TrimSpace(v), `'"`))
		}
	}
	if len(jobs) == 0 {
		t.Fatalf("%s: no job_name", path)
	}
	return jobs
}

func jobExists(jobs []string, op, value string) bool {
	if op == "=" {
		return slices.Contains(jobs, value)
	}
	re, err := regexp.Compile("^(?:" + value + ")$")
	if err != nil {
		return false
	}
	return slices.ContainsFunc(jobs, re.MatchString)
}

func labelList(f family) string {
	var ls []string
	for l := range f.labels {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return "{" + strings.Join(ls, ",") + "}"
}

package stacktest

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/sms"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// Worker is a running Asynq server with the real handlers.
type Worker struct {
	srv     *jobs.Servers
	handler *jobs.Handler
	stopped bool
	Metrics *metrics.Worker
}

// Stop shuts the worker down gracefully; calling it twice is fine.
func (w *Worker) Stop() {
	if !w.stopped {
		w.stopped = true
		w.srv.Shutdown()
		w.handler.Close()
	}
}

// Handler returns the worker's task handler.
func (w *Worker) Handler() *jobs.Handler { return w.handler }

// WithoutSMS makes the next workers run without SMS_URL: invitations to devices are not
// sent.
func (s *Stack) WithoutSMS() { s.noSMS = true }

// SendRates makes the next workers share send rates of email and sms a second (SMTP_RATE
// and SMS_RATE; 0 for none) through the stack's Redis.
func (s *Stack) SendRates(email, sms int) { s.emailRate, s.smsRate = email, sms }

// WorkerOptions tunes the next workers' Asynq configuration.
func (s *Stack) WorkerOptions(fn func(*asynq.Config)) { s.workerOpts = append(s.workerOpts, fn) }

// StartWorker starts a worker process's Asynq server sending mail to s.SMTP.
func (s *Stack) StartWorker(concurrency int) *Worker {
	s.t.Helper()
	return s.StartWorkerWith(concurrency, s.Store)
}

// StartWorkerWith starts a worker on its own store (say, one whose database connection a
// test breaks).
func (s *Stack) StartWorkerWith(concurrency int, st *store.Store) *Worker {
	s.t.Helper()
	h, mail, m := s.newHandler(st)
	cfg := jobs.ServerConfig(concurrency, 10*time.Second, m, s.log)
	cfg.RetryDelayFunc = func(n int, err error, t *asynq.Task) time.Duration {
		if d, ok := jobs.BusyDelay(err); ok {
			return d
		}
		if d, ok := jobs.ProviderDelay(err); ok {
			return d
		}
		return 200 * time.Millisecond
	}
	for _, fn := range s.workerOpts {
		fn(&cfg)
	}
	srv := jobs.NewServers(s.Redis.Opt, s.Queues, cfg)
	if err := srv.Start(h.Mux()); err != nil {
		s.t.Fatalf("start worker: %v", err)
	}
	w := &Worker{srv: srv, handler: h, Metrics: m}
	s.t.Cleanup(func() { w.Stop(); mail.Close() })
	return w
}

// newHandler returns the real task handlers on st, sending mail to s.SMTP, with the mailer
// to close after them and their metrics.
func (s *Stack) newHandler(st *store.Store) (*jobs.Handler, *mailer.Mailer, *metrics.Worker) {
	s.t.Helper()
	mail, err := mailer.New(mailer.Config{URL: s.SMTP.URL(), From: mailFrom, Timeout: 5 * time.Second}, s.log)
	if err != nil {
		s.t.Fatalf("mailer: %v", err)
	}
	m := metrics.NewWorker(metrics.NewRegistry())
	tokens, err := token.NewInvitations(TokenSecret)
	if err != nil {
		s.t.Fatalf("tokens: %v", err)
	}
	cfg := jobs.Config{PublicURL: PublicURL, InvitationTTL: 72 * time.Hour, Tokens: tokens, MailFrom: mailFrom,
		MailRate: jobs.NewGate(s.Redis.Client, s.Queues.SendRate("email"), "email", s.emailRate, m, s.log),
		SMSRate:  jobs.NewGate(s.Redis.Client, s.Queues.SendRate("sms"), "sms", s.smsRate, m, s.log)}
	if !s.noSMS {
		c, err := sms.New(sms.Config{URL: s.SMS.URL(), Timeout: 5 * time.Second})
		if err != nil {
			s.t.Fatalf("sms: %v", err)
		}
		s.t.Cleanup(c.Close)
		cfg.SMS = c
	}
	h := jobs.NewHandler(cfg, st, mail, jobs.NewFeeder(st, s.Client, s.Inspector), m, s.log)
	return h, mail, m
}

// RunRows settles rows lines of batch id (line 2 is a file's first data row) in this
// process with the real handlers, as a worker would, but without an Asynq server: with no
// worker running, a test moves a batch partway and it stays there. The rows' tasks are
// still queued; a worker started later finds those rows settled and changes nothing.
func (s *Stack) RunRows(id string, lines ...int) {
	s.t.Helper()
	h, mail, _ := s.newHandler(s.Store)
	defer func() { h.Close(); mail.Close() }()
	for _, line := range lines {
		if err := h.Mux().ProcessTask(context.Background(), jobs.NewRowTask(s.Queues, id, line)); err != nil {
			s.t.Fatalf("row %d of batch %s: %v", line, id, err)
		}
	}
}

// Reconciler returns a reconciler over this stack that treats batches as stale at once.
func (s *Stack) Reconciler() *jobs.Reconciler {
	m := metrics.NewWorker(metrics.NewRegistry())
	return jobs.NewReconciler(s.Store, s.Feeder, s.Inspector, s.Leases(m), s.Queues, 0, m, s.log)
}

// Leases returns the leases of this stack's queues, counting on m; its Redis client is
// closed when the test ends.
func (s *Stack) Leases(m *metrics.Worker) *jobs.Leases {
	s.t.Helper()
	rdb, err := jobs.RedisClient(s.Redis.Opt)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { rdb.Close() })
	return jobs.NewLeases(rdb, s.Queues, m, s.log)
}

// Watch runs a worker's watch of Redis (jobs.Watch) every interval until the test ends, with
// a reconciler that counts batches as stale only after an hour, so that whatever it
// enqueues again is the watch's doing. It returns the watch's metrics.
func (s *Stack) Watch(interval time.Duration) *metrics.Worker {
	s.t.Helper()
	m := metrics.NewWorker(metrics.NewRegistry())
	rec := jobs.NewReconciler(s.Store, s.Feeder, s.Inspector, s.Leases(m), s.Queues, time.Hour, m, s.log)
	rdb, ok := s.Redis.Opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		s.t.Fatalf("no redis client for %T", s.Redis.Opt)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		jobs.NewWatch(rdb, s.Queues, rec.Recover, m, s.log).Run(ctx, interval)
	}()
	s.t.Cleanup(func() { cancel(); <-done; rdb.Close() })
	return m
}

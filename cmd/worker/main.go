// Command worker runs the Asynq server that settles batch rows, sends invitations and
// finalizes batches, plus the reconciler. It serves /metrics, /healthz and /readyz on
// WORKER_ADDR and never the public API.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/config"
	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/sms"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

func main() {
	log := zerolog.New(os.Stderr).With().Timestamp().Str("process", "worker").Logger()
	jobs.RouteRedisLogs(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, log)
	stop()
	if err != nil {
		log.Error().Err(err).Msg("worker stopped")
		os.Exit(1)
	}
}

// The worker's live heap is a few MiB; at Go's default GOGC of 100 it collected so often that
// marking took a tenth of its CPU. Unless GOGC is set, it lets the heap grow to five times
// the live data before collecting (a few tens of MiB), and GOMEMLIMIT, when set, still caps it.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func run(ctx context.Context, log zerolog.Logger) error {
	tuneGC()
	cfg, err := config.FromEnv()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log = log.Level(cfg.LogLevel)
	cfg.Log(log)
	secret, dev, err := cfg.InvitationSecret()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if dev {
		log.Warn().Msg("TOKEN_SECRET is not set: activation links use the development secret, fit only for links to localhost")
	}
	tokens, err := token.NewInvitations(secret)
	if err != nil {
		return fmt.Errorf("TOKEN_SECRET: %w", err)
	}

	db, err := store.Open(ctx, store.WorkerURL(cfg.DatabaseURL))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.CheckSchema(ctx, db.DB); err != nil {
		return err
	}
	// Row tasks reach PostgreSQL through the handler's batchers, a few statements at a time
	// whatever WORKER_CONCURRENCY is; the rest (finalizers, give-ups, scrapes) needs little.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)

	redisOpt := cfg.Redis
	rdb, err := jobs.RedisClient(redisOpt)
	if err != nil {
		return err
	}
	defer rdb.Close()
	redisCheck := jobs.NewRedisCheck(rdb, log)
	if err := redisCheck.Start(ctx); err != nil {
		return err
	}
	// Tasks that find every connection busy wait for one; a relay limits how many connections
	// one client may hold.
	mail, err := mailer.New(mailer.Config{URL: cfg.SMTPURL, From: cfg.MailFrom, MaxConns: cfg.SMTPConnections}, log)
	if err != nil {
		return err
	}
	defer mail.Close()

	aclient := asynq.NewClient(redisOpt)
	defer aclient.Close()
	inspector := asynq.NewInspector(redisOpt)
	defer inspector.Close()

	queues := jobs.Queues{}
	reg := metrics.NewRegistry()
	m := metrics.NewWorker(reg, jobs.TaskTypes...)
	reg.MustRegister(metrics.NewQueueCollector(inspector, queues.Names()))
	leases := jobs.NewLeases(rdb, queues, m, log)
	reg.MustRegister(metrics.NewLeaseCollector(leases.Queues(), leases.PastLease))
	st := store.New(db)
	reg.MustRegister(metrics.NewPoolCollector(st.NumberCountsByOrganization), metrics.NewBatchCollector(st.UnfinishedBatchBacklog))
	feeder := jobs.NewFeeder(st, jobs.NewClient(aclient, queues), inspector)
	gate := jobs.NewGate(rdb, queues.SendRate("email"), "email", cfg.SMTPRate, m, log)
	hcfg := jobs.Config{PublicURL: cfg.PublicURL, InvitationTTL: cfg.InvitationTTL, Tokens: tokens,
		MailFrom: cfg.MailFrom, MailRate: gate, MailConnections: cfg.SMTPConnections,
		SMSRate: jobs.NewGate(rdb, queues.SendRate("sms"), "sms", cfg.SMSRate, m, log)}
	if cfg.SMSURL != "" {
		smsClient, err := sms.New(sms.Config{URL: cfg.SMSURL, MaxConns: cfg.WorkerConcurrency})
		if err != nil {
			return err
		}
		defer smsClient.Close()
		hcfg.SMS = smsClient
		log.Info().Str("sender", smsClient.Sender()).Msg("invitations to device numbers go by SMS")
	} else {
		log.Info().Msg("SMS is not configured (SMS_URL): invitations to device numbers are not sent")
	}
	handler := jobs.NewHandler(hcfg, st, mail, feeder, m, log)

	srv := jobs.NewServers(redisOpt, queues, jobs.ServerConfig(cfg.WorkerConcurrency, cfg.ShutdownTimeout, m, log))
	if err := srv.Start(handler.Mux()); err != nil {
		return fmt.Errorf("start asynq server: %w", err)
	}

	// The loops that re-derive lost work: the reconciler, the watch of Redis's data, and the
	// leases of dead workers' tasks.
	recCtx, stopReconciler := context.WithCancel(context.Background())
	var reconciling sync.WaitGroup
	reconciler := jobs.NewReconciler(st, feeder, inspector, leases, queues, 2*cfg.ReconcileInterval, m, log)
	reconciling.Go(func() { reconciler.Run(recCtx, cfg.ReconcileInterval) })
	reconciling.Go(func() { jobs.NewWatch(rdb, queues, reconciler.Recover, m, log).Run(recCtx, jobs.WatchInterval) })
	reconciling.Go(func() { leases.Run(recCtx, jobs.WatchInterval) })

	hs := statusServer(cfg.WorkerAddr, reg,
		httpapi.Check{Name: "postgres", Fn: st.Ping},
		httpapi.Check{Name: "redis", Fn: func(ctx context.Context) error {
			if err := srv.Ping(); err != nil {
				return err
			}
			return redisCheck.Check(ctx)
		}},
	)
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Info().Str("addr", cfg.WorkerAddr).Int("concurrency", cfg.WorkerConcurrency).Msg("worker running")

	var runErr error
	select {
	case err := <-errc:
		runErr = fmt.Errorf("metrics listener: %w", err)
	case <-ctx.Done():
	}
	log.Info().Dur("timeout", cfg.ShutdownTimeout).Msg("shutting down: finishing in-flight rows")
	stopReconciler()
	reconciling.Wait()
	// Shutdown stops fetching, waits for active tasks up to ShutdownTimeout, and puts back
	// the unfinished ones; their transactions roll back and they run again elsewhere.
	srv.Shutdown()
	handler.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutdownCtx)
	if runErr == nil {
		log.Info().Msg("worker stopped cleanly")
	}
	return runErr
}

// statusServer serves the worker's /metrics, /healthz and /readyz on addr, with the API's
// timeouts; /readyz answers as the API's does, from checks.
func statusServer(addr string, reg *prometheus.Registry, checks ...httpapi.Check) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.Handle("GET /readyz", httpapi.Ready(checks...))
	return config.HTTPServer(addr, mux)
}

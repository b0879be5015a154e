// Command api serves the MultiLine batch onboarding HTTP API, applies migrations and seeds
// demo data:
//
//	api [serve]    serve the API on API_ADDR (the default)
//	api migrate    apply pending database migrations
//	api seed-demo  create (or refresh) a demo organization, numbers, group and admin token
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/config"
	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
)

func main() {
	log := zerolog.New(os.Stderr).With().Timestamp().Str("process", "api").Logger()
	jobs.RouteRedisLogs(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, log, os.Args[1:])
	stop()
	if err != nil {
		log.Error().Err(err).Msg("api stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, log zerolog.Logger, args []string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log = log.Level(cfg.LogLevel)
	switch cmd {
	case "serve":
		cfg.Log(log)
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate(ctx, cfg, log)
	case "seed-demo":
		return seedDemo(ctx, cfg, os.Stdout)
	case "help", "-h", "--help":
		fmt.Println("Usage: api [serve|migrate|seed-demo]")
		return nil
	default:
		return fmt.Errorf("unknown command %q: use serve, migrate or seed-demo", cmd)
	}
}

func migrate(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := store.Migrate(ctx, db.DB)
	if err != nil {
		return err
	}
	logMigrated(log, applied)
	return nil
}

// logMigrated says what migrate did: the versions it applied, or that there was nothing to
// apply.
func logMigrated(log zerolog.Logger, applied []int64) {
	if len(applied) == 0 {
		log.Info().Msg("database is up to date: no migration to apply")
		return
	}
	noun := "migrations"
	if len(applied) == 1 {
		noun = "migration"
	}
	log.Info().Ints64("applied", applied).Int64("version", applied[len(applied)-1]).
		Msgf("applied %d %s, database now at version %d", len(applied), noun, applied[len(applied)-1])
}

func serve(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.CheckSchema(ctx, db.DB); err != nil {
		return err
	}
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
	aclient := asynq.NewClient(redisOpt)
	defer aclient.Close()
	// The feeder reads the workers' concurrency (the size of the organizations' windows).
	inspector := asynq.NewInspector(redisOpt)
	defer inspector.Close()

	queueUI := httpapi.NewQueueUI(redisOpt)
	defer queueUI.Close()

	st := store.New(db)
	reg := metrics.NewRegistry()
	api := httpapi.New(httpapi.Config{MaxUploadBytes: cfg.MaxUploadBytes, PublicURL: cfg.PublicURL, QueueUI: queueUI, SendRate: cfg.SMTPRate},
		st, jobs.NewFeeder(st, jobs.NewClient(aclient, jobs.Queues{}), inspector), reg, log,
		httpapi.Check{Name: "postgres", Fn: st.Ping},
		httpapi.Check{Name: "redis", Fn: redisCheck.Check},
	)
	srv := config.HTTPServer(cfg.APIAddr, api.Handler())
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info().Str("addr", cfg.APIAddr).Msg("api listening")

	select {
	case err := <-errc:
		return fmt.Errorf("listen: %w", err)
	case <-ctx.Done():
	}
	log.Info().Dur("timeout", cfg.ShutdownTimeout).Msg("shutting down: draining requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info().Msg("api stopped cleanly")
	return nil
}

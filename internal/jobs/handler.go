package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
)

// Sender delivers one email; *mailer.Mailer implements it.
type Sender interface {
	Send(ctx context.Context, msg mailer.Message) error
}

// Config is what the handlers need of the configuration.
type Config struct {
	PublicURL     string
	InvitationTTL time.Duration
}

// Handler runs the service's tasks.
type Handler struct {
	cfg     Config
	store   *store.Store
	mail    Sender
	client  *Client
	log     zerolog.Logger
	metrics *metrics.Worker
	now     func() time.Time
	claims  *batcher[store.RowClaim, store.ClaimResult]
	records *batcher[store.InvitationOutcome, struct{}]
	// templates keeps organizations' invitation templates for a few seconds.
	templates templateCache
}

// NewHandler returns a Handler; client enqueues the tasks that handlers chain (a finalizer
// after a batch's last row).
func NewHandler(cfg Config, st *store.Store, mail Sender, client *Client, m *metrics.Worker, log zerolog.Logger) *Handler {
	h := &Handler{cfg: cfg, store: st, mail: mail, client: client, log: log, metrics: m, now: time.Now}
	h.claims = newBatcher(h.claimRows, 200, 2, 30*time.Second)
	h.records = newBatcher(h.recordInvitations, 200, 2, 30*time.Second)
	return h
}

// Close stops the handler's batchers; call it after the Asynq server has shut down.
func (h *Handler) Close() {
	h.claims.Close()
	h.records.Close()
}

func (h *Handler) claimRows(ctx context.Context, claims []store.RowClaim) ([]store.ClaimResult, error) {
	res, settled, err := h.store.ClaimRows(ctx, claims)
	if err != nil {
		return nil, err
	}
	return res, h.finalizeIfSettled(ctx, settled)
}

func (h *Handler) recordInvitations(ctx context.Context, outs []store.InvitationOutcome) ([]struct{}, error) {
	settled, err := h.store.RecordInvitations(ctx, outs)
	if err != nil {
		return nil, err
	}
	return make([]struct{}, len(outs)), h.finalizeIfSettled(ctx, settled)
}

// Mux registers every task handler in one place.
func (h *Handler) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeRow, h.handleRow)
	mux.HandleFunc(TypeFinalize, h.handleFinalize)
	mux.HandleFunc(TypeInvitation, h.handleInvitation)
	mux.HandleFunc(TypeNotify, h.handleNotify)
	return mux
}

// ServerConfig returns the Asynq server configuration for these handlers.
func ServerConfig(q Queues, concurrency int, shutdown time.Duration, m *metrics.Worker, log zerolog.Logger) asynq.Config {
	return asynq.Config{
		Concurrency:     concurrency,
		Queues:          q.All(),
		RetryDelayFunc:  retryDelay,
		ShutdownTimeout: shutdown,
		// Asynq sleeps this long (half to one and a half times) whenever it finds every queue
		// empty. Its default of a second puts that much latency on the first row of a batch
		// and on every finalizer; polling an empty queue twenty times a second costs Redis
		// next to nothing.
		TaskCheckInterval: 50 * time.Millisecond,
		Logger:            asynqLogger{log.With().Str("component", "asynq").Logger()},
		LogLevel:          asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			m.TaskRetries.WithLabelValues(t.Type()).Inc()
		}),
	}
}

// lastAttempt reports whether a failure now archives the task instead of retrying it.
func lastAttempt(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= max
}

// asynqLogger sends Asynq's own log lines to zerolog.
type asynqLogger struct{ log zerolog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug().Msgf("%v", args...) }
func (l asynqLogger) Info(args ...any)  { l.log.Info().Msgf("%v", args...) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn().Msgf("%v", args...) }
func (l asynqLogger) Error(args ...any) { l.log.Error().Msgf("%v", args...) }
func (l asynqLogger) Fatal(args ...any) { l.log.Fatal().Msgf("%v", args...) }

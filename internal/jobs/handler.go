package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// Sender delivers one email; *mailer.Mailer implements it.
type Sender interface {
	Send(ctx context.Context, msg mailer.Message) error
}

// Config is what the handlers need of the configuration.
type Config struct {
	PublicURL     string
	InvitationTTL time.Duration
	// Tokens derives invitations' activation tokens (TOKEN_SECRET).
	Tokens token.Invitations
	// MailFrom is the sender of every email (MAIL_FROM); Message-IDs end in its domain.
	MailFrom string
	// MailRate keeps the emails of every worker within SMTP_RATE; nil sends as fast as the
	// mail server takes them.
	MailRate *Gate
	// MailConnections is SMTP_MAX_CONNECTIONS: the sends beyond it wait for a connection by
	// turns between organizations (0: in the mailer's own first-come queue).
	MailConnections int
	// SMSRate keeps the SMS of every worker within SMS_RATE; nil: no limit.
	SMSRate *Gate
	// SMS sends the invitations of accounts identified by a device number (SMS_URL); nil
	// when SMS is not configured, and those invitations are not sent.
	SMS SMSSender
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
	// holder names this process as the holder of the invitations it is sending (see
	// store.RowClaim).
	holder  string
	claims  *batcher[store.RowClaim, store.ClaimResult]
	records *batcher[store.Outcome, struct{}]
	// feed hands their organizations' next rows to the queue as rows settle; pools checks
	// their pool alerts.
	feed  *FeedLoop
	pools *loop
	// sending lets MailConnections sends at a time reach the mailer, the others waiting by
	// turns between organizations.
	sending *fairSlots
	// templates keeps organizations' invitation templates for a few seconds.
	templates templateCache
	// msgIDDomain is the right-hand side of the Message-IDs this handler writes.
	msgIDDomain string
	// working holds the rows whose task runs in this process now. A second delivery of a
	// task that is still running here (Redis lost it and it was enqueued again) waits for
	// the first; the database's leases keep processes apart the same way.
	working sync.Map
	// accepted holds the invitations that the mail server accepted and whose outcome is not
	// recorded yet: a retry of the row here records the send instead of sending again.
	accepted sync.Map
}

// NewHandler returns a Handler; feeder enqueues the tasks that handlers chain (a finalizer
// after a batch's last row, the next rows of an organization as its rows settle).
func NewHandler(cfg Config, st *store.Store, mail Sender, feeder *Feeder, m *metrics.Worker, log zerolog.Logger) *Handler {
	h := &Handler{cfg: cfg, store: st, mail: mail, client: feeder.Client, log: log, metrics: m, now: time.Now, holder: newHolder(),
		msgIDDomain: mailer.MessageIDDomain(cfg.MailFrom), feed: feeder.Loop(log),
		pools: newLoop("check pool alerts", poolCheckGap, feeder.checkBatchPools, log.With().Str("component", "pools").Logger())}
	if cfg.MailConnections > 0 {
		h.sending = newFairSlots(cfg.MailConnections)
	}
	// A statement that PostgreSQL refused for what the data says may be one row's fault: the
	// group is split to find it.
	// Groups take the rows of each batch by turns, so that a small batch's rows do not wait
	// behind a big one's hundreds.
	h.claims = newBatcher(h.claimRows, store.IsRowFault, func(c store.RowClaim) string { return c.BatchID }, 200, 2, 30*time.Second)
	h.records = newBatcher(h.settle, store.IsRowFault, func(o store.Outcome) string { return o.BatchID }, 500, 2, 30*time.Second)
	return h
}

// newHolder returns a name for this process that no other process has, readable in the
// database (host, pid and a random part).
func newHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8])
}

// Close stops the handler's batchers and its feeding; call it after the Asynq server has
// shut down.
func (h *Handler) Close() {
	h.claims.Close()
	h.records.Close()
	h.feed.Close()
	h.pools.close()
}

func (h *Handler) claimRows(ctx context.Context, claims []store.RowClaim) ([]store.ClaimResult, error) {
	res, settled, err := h.store.ClaimRows(ctx, claims, h.cfg.Tokens.Hash)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		if r.Claim == store.ClaimDone {
			h.settled(claims[i].BatchID)
		}
	}
	return res, h.finalizeIfSettled(ctx, settled)
}

func (h *Handler) settle(ctx context.Context, outcomes []store.Outcome) ([]struct{}, error) {
	settled, err := h.store.Settle(ctx, outcomes)
	if err != nil {
		return nil, err
	}
	for _, o := range outcomes {
		h.settled(o.BatchID)
	}
	return make([]struct{}, len(outcomes)), h.finalizeIfSettled(ctx, settled)
}

// poolCheckGap is the least time between two pool checks of one worker: a check costs a few
// queries per organization, and a batch settles hundreds of rows a second.
const poolCheckGap = 250 * time.Millisecond

// settled notes that a row of batch batchID settled: its organization's window has room
// again, and its pool has changed.
func (h *Handler) settled(batchID string) {
	h.feed.Settled(batchID)
	h.pools.settled(batchID)
}

// Mux registers every task handler in one place.
func (h *Handler) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeRow, h.handleRow)
	mux.HandleFunc(TypeFinalize, h.handleFinalize)
	mux.HandleFunc(TypeInvitation, h.handleInvitation)
	mux.HandleFunc(TypeNotify, h.handleNotify)
	mux.HandleFunc(TypePoolAlert, h.handlePoolAlert)
	return mux
}

// ServerConfig returns the Asynq server configuration for these handlers; NewServers splits
// it over the queues.
func ServerConfig(concurrency int, shutdown time.Duration, m *metrics.Worker, log zerolog.Logger) asynq.Config {
	return asynq.Config{
		Concurrency:    concurrency,
		RetryDelayFunc: retryDelay,
		// A row that another delivery of its task is working on is looked at again later,
		// without spending one of its attempts.
		IsFailure:       func(err error) bool { return !isBusy(err) },
		ShutdownTimeout: shutdown,
		// Asynq sleeps this long (half to one and a half times) whenever it finds every queue
		// empty. Its default of a second puts that much latency on the first row of a batch
		// and on every finalizer; polling an empty queue twenty times a second costs Redis
		// next to nothing.
		TaskCheckInterval: 50 * time.Millisecond,
		// Tasks that wait (a row whose send rate is used up, another delivery's lease)
		// come back from the retry set when this check forwards them: Asynq's default of
		// 5 s would leave the send rate's line empty between them. A check is one script.
		DelayedTaskCheckInterval: 500 * time.Millisecond,
		Logger:                   asynqLogger{log.With().Str("component", "asynq").Logger()},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			if isBusy(err) {
				return // not an error: the row is in hand elsewhere
			}
			m.TaskRetries.WithLabelValues(t.Type()).Inc()
		}),
	}
}

// Servers are a worker's two Asynq servers: one serves the rows queue with the configured
// concurrency, the other the finalize, invitations and notify queues with half of it (two
// at least).
//
// Asynq dequeues by trying a server's queues one after the other. One server for all four
// queues, three of them empty most of the time, made up to four Redis calls for each row task
// it dequeued, which halved the rate at which it could start row tasks. Apart, the rows
// server polls one queue, and a finalizer never waits behind another batch's rows.
type Servers struct {
	rows, other *asynq.Server
}

// NewServers returns the servers of a worker over the queues of q; cfg is ServerConfig's.
func NewServers(r asynq.RedisConnOpt, q Queues, cfg asynq.Config) *Servers {
	rows, other := cfg, cfg
	rows.Queues = map[string]int{q.Rows(): 1}
	other.Queues = map[string]int{q.Finalize(): 6, q.Invitations(): 4, q.Notify(): 2}
	other.Concurrency = max(2, cfg.Concurrency/2)
	return &Servers{rows: asynq.NewServer(r, rows), other: asynq.NewServer(r, other)}
}

// Start starts both servers with handler.
func (s *Servers) Start(handler asynq.Handler) error {
	if err := s.rows.Start(handler); err != nil {
		return err
	}
	if err := s.other.Start(handler); err != nil {
		s.rows.Shutdown()
		return err
	}
	return nil
}

// Shutdown stops fetching, waits for the active tasks up to the shutdown timeout and puts
// the unfinished ones back, on both servers at once.
func (s *Servers) Shutdown() {
	done := make(chan struct{})
	go func() { s.other.Shutdown(); close(done) }()
	s.rows.Shutdown()
	<-done
}

// Ping checks that both servers reach Redis.
func (s *Servers) Ping() error { return errors.Join(s.rows.Ping(), s.other.Ping()) }

// taskDeadline is the deadline of the task running with ctx, a minute from now if it has
// none.
func taskDeadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Minute)
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

// RouteRedisLogs sends go-redis's own log lines (a connection pool that cannot dial, say),
// which it writes to stderr by default, to log as JSON. Both processes call it at start; the
// logger is go-redis's one global.
func RouteRedisLogs(log zerolog.Logger) {
	redis.SetLogger(redisLogger{log.With().Str("component", "redis").Logger()})
}

type redisLogger struct{ log zerolog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn().Msgf(format, v...)
}

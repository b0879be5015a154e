package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
)

// Reconciler re-derives lost work from PostgreSQL: it finalizes batches whose rows have all
// settled, and enqueues again the rows of stale batches whose tasks are gone from Redis
// (the api died between commit and enqueue, Redis lost its data, a task was archived while
// the database was down). Every worker runs one; deterministic task ids make overlapping
// runs harmless.
type Reconciler struct {
	store      *store.Store
	client     *Client
	inspector  *asynq.Inspector
	queues     Queues
	staleAfter time.Duration
	metrics    *metrics.Worker
	log        zerolog.Logger
	now        func() time.Time
}

// NewReconciler returns a Reconciler; a batch with pending rows counts as stale when nothing
// of it has been enqueued or settled for staleAfter.
func NewReconciler(st *store.Store, client *Client, inspector *asynq.Inspector, q Queues, staleAfter time.Duration, m *metrics.Worker, log zerolog.Logger) *Reconciler {
	return &Reconciler{store: st, client: client, inspector: inspector, queues: q, staleAfter: staleAfter,
		metrics: m, log: log.With().Str("component", "reconciler").Logger(), now: time.Now}
}

// Run reconciles every interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn().Err(err).Msg("reconcile failed")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once makes one pass over the unfinished batches.
func (r *Reconciler) Once(ctx context.Context) error {
	if err := r.ReconcileInvitations(ctx); err != nil {
		return err
	}
	batches, err := r.store.UnfinishedBatches(ctx, 500)
	if err != nil {
		return err
	}
	for _, b := range batches {
		log := r.log.With().Str("batch_id", b.ID).Logger()
		if b.Pending == 0 {
			if err := r.client.EnqueueFinalize(ctx, b.ID); err != nil {
				return fmt.Errorf("enqueue finalizer: %w", err)
			}
			continue
		}
		last := b.CreatedAt
		for _, t := range []*time.Time{b.EnqueuedAt, b.LastSettledAt} {
			if t != nil && t.After(last) {
				last = *t
			}
		}
		if b.EnqueuedAt != nil && r.now().Sub(last) < r.staleAfter {
			continue
		}
		n, err := r.requeue(ctx, b.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Warn().Int("rows", n).Msg("enqueued lost row tasks again")
		}
		if err := r.store.MarkEnqueued(ctx, b.ID); err != nil {
			return err
		}
	}
	return nil
}

// requeue enqueues the pending rows of batch id whose task is missing from Redis, replacing
// archived ones (their retries ran out while nothing could be recorded). A row another row's
// task took on waits for that task while it lives; once it is gone, the row goes back to its
// own task.
func (r *Reconciler) requeue(ctx context.Context, id string) (int, error) {
	rows, err := r.store.PendingLines(ctx, id)
	if err != nil {
		return 0, err
	}
	live := map[int]bool{} // owner line -> its task is still in Redis
	var missing []int
	for _, row := range rows {
		if row.Owner != 0 {
			alive, seen := live[row.Owner]
			if !seen {
				if alive, err = r.taskLive(ctx, id, row.Owner); err != nil {
					return 0, err
				}
				live[row.Owner] = alive
				if !alive {
					n, err := r.store.GiveBack(ctx, id, row.Owner)
					if err != nil {
						return 0, err
					}
					r.log.Warn().Str("batch_id", id).Int("owner", row.Owner).Int("rows", n).
						Msg("gave rows back to their own tasks: the task that took them on is gone")
				}
			}
			if alive {
				continue
			}
		}
		alive, err := r.taskLive(ctx, id, row.Line)
		if err != nil {
			return 0, err
		}
		if !alive {
			missing = append(missing, row.Line)
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	if err := r.client.EnqueueBatch(ctx, id, missing); err != nil {
		return 0, err
	}
	r.metrics.Reenqueued.Add(float64(len(missing)))
	return len(missing), nil
}

// taskLive reports whether the task of row line of batch id is in Redis and may still run. An
// archived or completed one is deleted, so that it can be enqueued again.
func (r *Reconciler) taskLive(ctx context.Context, id string, line int) (bool, error) {
	info, err := r.inspector.GetTaskInfo(r.queues.Rows(), RowTaskID(id, line))
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("inspect task: %w", err)
	case info.State == asynq.TaskStateArchived || info.State == asynq.TaskStateCompleted:
		if err := r.inspector.DeleteTask(r.queues.Rows(), info.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("delete archived task: %w", err)
		}
		return false, nil
	}
	return true, nil
}

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
// (the api died between commit and enqueue, a task was archived while the database was
// down); when Redis loses its data, the watcher has it enqueue everything at once (Recover). Every worker runs one; deterministic task ids make overlapping
// runs harmless.
type Reconciler struct {
	store      *store.Store
	feeder     *Feeder
	inspector  *asynq.Inspector
	leases     *Leases
	queues     Queues
	staleAfter time.Duration
	metrics    *metrics.Worker
	log        zerolog.Logger
	now        func() time.Time
}

// NewReconciler returns a Reconciler; a batch with pending rows counts as stale when nothing
// of it has been enqueued or settled for staleAfter. leases gives back the active tasks it
// finds lost.
func NewReconciler(st *store.Store, feeder *Feeder, inspector *asynq.Inspector, leases *Leases, q Queues, staleAfter time.Duration, m *metrics.Worker, log zerolog.Logger) *Reconciler {
	return &Reconciler{store: st, feeder: feeder, inspector: inspector, leases: leases, queues: q, staleAfter: staleAfter,
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
	if err := r.ReconcileNotifications(ctx); err != nil {
		return err
	}
	batches, err := r.store.UnfinishedBatches(ctx, 500)
	if err != nil {
		return err
	}
	for _, b := range batches {
		log := r.log.With().Str("batch_id", b.ID).Logger()
		if b.Pending == 0 {
			if err := r.feeder.EnqueueFinalize(ctx, b.ID); err != nil {
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
	return r.feed(ctx)
}

// feed tops up every organization's window: rows settle without a feed after them when a
// worker dies between the two or a feed fails. Then it checks the pool alerts of every
// organization that may need it, for changes no check followed (a batch canceled, a worker
// gone), and enqueues their emails that Redis lost.
func (r *Reconciler) feed(ctx context.Context) error {
	n, err := r.feeder.Feed(ctx, nil)
	if err != nil {
		return fmt.Errorf("feed rows: %w", err)
	}
	if n > 0 {
		r.log.Info().Int("rows", n).Msg("fed rows that no settle had fed")
	}
	if err := r.feeder.CheckPools(ctx, nil); err != nil {
		return fmt.Errorf("check pool alerts: %w", err)
	}
	return nil
}

// requeue enqueues the queued rows of batch id whose task is missing from Redis, replacing
// archived ones (their retries ran out while nothing could be recorded).
func (r *Reconciler) requeue(ctx context.Context, id string) (int, error) {
	lines, err := r.store.QueuedLines(ctx, id)
	if err != nil {
		return 0, err
	}
	var missing []int
	for _, line := range lines {
		alive, err := r.taskLive(ctx, id, line)
		if err != nil {
			return 0, err
		}
		if !alive {
			missing = append(missing, line)
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	if err := r.feeder.EnqueueBatch(ctx, id, missing); err != nil {
		return 0, err
	}
	r.metrics.Reenqueued.Add(float64(len(missing)))
	return len(missing), nil
}

// Recover enqueues again the work of every unfinished batch at once: the task of each
// queued row, the finalizer of each batch whose rows have all settled, then what the
// organizations' windows let in. The watcher
// calls it when Redis has lost its data or answers again after an outage, instead of
// waiting for batches to look stale. Tasks still in Redis are left alone (their ids are
// deterministic), and a row whose task is running when it is enqueued again waits for that
// run (see store.RowClaim).
func (r *Reconciler) Recover(ctx context.Context) error {
	batches, err := r.store.UnfinishedBatches(ctx, 500)
	if err != nil {
		return err
	}
	rows := 0
	for _, b := range batches {
		if b.Pending == 0 {
			if err := r.feeder.EnqueueFinalize(ctx, b.ID); err != nil {
				return fmt.Errorf("enqueue finalizer: %w", err)
			}
			continue
		}
		lines, err := r.store.QueuedLines(ctx, b.ID)
		if err != nil {
			return err
		}
		if err := r.feeder.EnqueueBatch(ctx, b.ID, lines); err != nil {
			return err
		}
		if err := r.store.MarkEnqueued(ctx, b.ID); err != nil {
			return err
		}
		rows += len(lines)
	}
	r.log.Warn().Int("batches", len(batches)).Int("rows", rows).Msg("enqueued the work of every unfinished batch again")
	return r.feed(ctx)
}

// taskLive reports whether the task of row line of batch id is in Redis and may still run. An
// archived or completed one is deleted, so that it can be enqueued again. An active one is
// lost when its lease ended (its worker died: it goes back to pending) or when it has no
// payload (its hash was evicted and recreated empty, which Asynq's recoverer skips: it is
// removed, to be enqueued again).
func (r *Reconciler) taskLive(ctx context.Context, id string, line int) (bool, error) {
	taskID := RowTaskID(id, line)
	info, err := r.inspector.GetTaskInfo(r.queues.Rows(), taskID)
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
	case info.State == asynq.TaskStateActive:
		// A hash without its message reads as a task with no id: name it by the id asked.
		res, err := r.leases.Reclaim(ctx, r.queues.Rows(), taskID)
		return res != reclaimStub, err
	}
	return true, nil
}

// deleteIfArchived returns a function that deletes task taskID of queue when it is archived
// or completed, so that it can be enqueued again; a task that is queued or running is left.
func (r *Reconciler) deleteIfArchived(queue string) func(taskID string) error {
	return func(taskID string) error {
		info, err := r.inspector.GetTaskInfo(queue, taskID)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("inspect task: %w", err)
		case info.State == asynq.TaskStateArchived || info.State == asynq.TaskStateCompleted:
			if err := r.inspector.DeleteTask(queue, taskID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
				return fmt.Errorf("delete archived task: %w", err)
			}
		}
		return nil
	}
}

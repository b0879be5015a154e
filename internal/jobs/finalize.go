package jobs

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/report"
	"github.com/multiline/onboarding/internal/store"
)

// handleFinalize closes a batch whose rows have all settled and stores its report. It runs
// once in effect: the task id is deterministic and the status change is guarded.
func (h *Handler) handleFinalize(ctx context.Context, t *asynq.Task) error {
	p, err := decode[batchPayload](t)
	if err != nil {
		return err
	}
	log := h.log.With().Str("batch_id", p.BatchID).Logger()
	f, err := h.store.FinalizeBatch(ctx, p.BatchID, report.CSV)
	if err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	if f.Pending > 0 && f.Batch.CancelRequestedAt != nil {
		// Canceled with rows still sending their invitation: look again shortly.
		return fmt.Errorf("batch canceled; waiting for %d in-flight rows", f.Pending)
	}
	if !f.Closed {
		if f.Batch.FinishedAt != nil {
			// Finished by an earlier run whose notifications may not all have been enqueued.
			return h.notifyAdmins(ctx, f.Batch)
		}
		return nil
	}
	b := f.Batch
	h.metrics.BatchesFinished.WithLabelValues(b.Status).Inc()
	if b.FinishedAt != nil {
		h.metrics.BatchDuration.WithLabelValues(b.Status).Observe(b.FinishedAt.Sub(b.CreatedAt).Seconds())
	}
	h.observeQueueWait(ctx, b)
	log.Info().Str("status", b.Status).Int("total", b.Total).Int("succeeded", b.Succeeded).
		Int("failed", b.Failed).Int("canceled", b.Canceled).Msg("batch finished")
	// The batch is complete whatever happens here; a failure retries only the notifying.
	return h.notifyAdmins(ctx, b)
}

// observeQueueWait counts how long a completed batch waited from upload to its first row, by
// the size of its organization: the measure of one organization's backlog holding back
// another's upload.
func (h *Handler) observeQueueWait(ctx context.Context, b store.Batch) {
	if b.Status != store.BatchCompleted || b.StartedAt == nil {
		return
	}
	accounts, err := h.store.OrganizationAccounts(ctx, b.OrganizationID)
	if err != nil {
		h.log.Debug().Err(err).Str("batch_id", b.ID).Msg("could not size the organization for the queue-wait metric")
		return
	}
	h.metrics.BatchQueueWait.WithLabelValues(metrics.OrganizationSize(accounts)).Observe(b.StartedAt.Sub(b.CreatedAt).Seconds())
}

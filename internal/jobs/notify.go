package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
)

// topReasons is how many failure reasons a batch summary lists.
const topReasons = 5

// notifyAdmins enqueues one summary email per batch report recipient of a finished batch's
// organization. It runs after the batch finished, so a failure here never holds the batch
// back; the finalize task retries it, and the emails are recorded in PostgreSQL so that each
// recipient gets one.
func (h *Handler) notifyAdmins(ctx context.Context, b store.Batch) error {
	_, err := planNotifications(ctx, h.store, h.client, b.ID, nil)
	return err
}

// planNotifications plans the summary emails of finished batch batchID and enqueues those
// pending, and returns how many it enqueued; a task already queued is left alone. prepare,
// when set, is called first with each pending email's task id (the reconciler deletes an
// archived one there, so that it can be enqueued again).
func planNotifications(ctx context.Context, st *store.Store, c *Client, batchID string, prepare func(taskID string) error) (int, error) {
	recipients, err := st.PlanBatchNotifications(ctx, batchID)
	if err != nil {
		return 0, fmt.Errorf("plan notifications: %w", err)
	}
	var errs []error
	for _, rcpt := range recipients {
		if prepare != nil {
			if err := prepare(NotifyTaskID(batchID, rcpt)); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := c.EnqueueNotify(ctx, batchID, rcpt); err != nil {
			errs = append(errs, err)
		}
	}
	return len(recipients), errors.Join(errs...)
}

// ReconcileNotifications gives each batch that finished more than the reconciler's staleness
// ago without all its summary emails recorded the emails it lacks: never planned (its
// finalizer's retries ran out while Redis was away) or planned and lost with Redis. A
// summary email's task that is still queued is left alone. Call it from Once.
func (r *Reconciler) ReconcileNotifications(ctx context.Context) error {
	ids, err := r.store.UnnotifiedBatches(ctx, r.staleAfter, 100)
	if err != nil {
		return err
	}
	for _, id := range ids {
		n, err := planNotifications(ctx, r.store, r.feeder.Client, id, r.deleteIfArchived(r.queues.Notify()))
		if err != nil {
			return fmt.Errorf("batch %s: %w", id, err)
		}
		if n > 0 {
			r.log.Info().Str("batch_id", id).Int("emails", n).Msg("enqueued the batch summary emails of a finished batch again")
		}
	}
	return nil
}

// EnqueueNotify enqueues batch batchID's summary email to recipient unless it is queued.
func (c *Client) EnqueueNotify(ctx context.Context, batchID, recipient string) error {
	if err := c.enqueue(ctx, NewNotifyTask(c.queues, batchID, recipient)); err != nil {
		return fmt.Errorf("enqueue notification: %w", err)
	}
	return nil
}

// handleNotify emails one administrator the summary of a finished batch, with its report
// attached. It is idempotent: a summary recorded as sent or failed is not sent again.
func (h *Handler) handleNotify(ctx context.Context, t *asynq.Task) error {
	p, err := decode[notifyPayload](t)
	if err != nil {
		return err
	}
	log := h.log.With().Str("batch_id", p.BatchID).Str("recipient", p.Recipient).Logger()
	state, err := h.store.NotificationState(ctx, p.BatchID, p.Recipient)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if state != "pending" {
		return nil
	}
	msg, err := h.summaryMessage(ctx, p)
	if err != nil {
		return fmt.Errorf("build summary: %w", err)
	}
	sent, reason, err := h.sendAdminEmail(ctx, "batch_summary", msg, log)
	if err != nil {
		return err
	}
	return h.store.RecordNotification(ctx, p.BatchID, p.Recipient, sent, reason)
}

// sendAdminEmail sends an email of kind (a metrics label: batch_summary, pool_alert) to an
// administrator and says how it went: sent, or failed for good with the reason to record;
// err when it failed transiently and its task is to retry.
func (h *Handler) sendAdminEmail(ctx context.Context, kind string, msg mailer.Message, log zerolog.Logger) (sent bool, reason string, err error) {
	err = h.send(ctx, "", taskDeadline(ctx).Add(-sendMargin), msg)
	switch {
	case isBusy(err):
		return false, "", err
	case err == nil:
		h.metrics.EmailsSent.WithLabelValues(kind).Inc()
		return true, "", nil
	case mailer.IsPermanent(err):
		h.metrics.EmailsFailed.WithLabelValues(kind, "permanent").Inc()
		log.Warn().Err(err).Str("kind", kind).Msg("email refused by the mail server")
		return false, err.Error(), nil
	case lastAttempt(ctx):
		h.metrics.EmailsFailed.WithLabelValues(kind, "permanent").Inc()
		log.Error().Err(err).Str("kind", kind).Msg("email failed on its last attempt")
		return false, fmt.Sprintf("gave up after %d attempts: %v", notifyMaxRetry+1, err), nil
	}
	h.metrics.EmailsFailed.WithLabelValues(kind, "transient").Inc()
	return false, "", fmt.Errorf("send %s: %w", kind, err)
}

// summaryMessage renders the summary email of batch p.BatchID for p.Recipient.
func (h *Handler) summaryMessage(ctx context.Context, p notifyPayload) (mailer.Message, error) {
	b, err := h.store.Batch(ctx, p.BatchID)
	if err != nil {
		return mailer.Message{}, err
	}
	org, err := h.store.Organization(ctx, b.OrganizationID)
	if err != nil {
		return mailer.Message{}, err
	}
	reasons, err := h.store.TopFailureReasons(ctx, b.ID, topReasons)
	if err != nil {
		return mailer.Message{}, err
	}
	csv, err := h.store.BatchReport(ctx, b.ID)
	if err != nil {
		return mailer.Message{}, err
	}
	sum := mailer.BatchSummary{
		Organization: org.Name,
		Uploader:     b.UploadedBy,
		Mode:         "import",
		Total:        b.Total,
		Succeeded:    b.Succeeded,
		Failed:       b.Failed,
		Canceled:     b.Canceled,
		ReportURL:    strings.TrimRight(h.cfg.PublicURL, "/") + "/v1/batches/" + b.ID + "/report.csv",
		BatchID:      b.ID,
	}
	if b.Invite {
		sum.Mode = "invite"
	}
	if b.FinishedAt != nil {
		sum.FinishedAt = *b.FinishedAt
		sum.Duration = b.FinishedAt.Sub(b.CreatedAt)
	}
	for _, r := range reasons {
		sum.TopReasons = append(sum.TopReasons, mailer.ReasonCount{Reason: r.Reason, Count: r.Count})
	}
	subject, text, html, err := mailer.RenderBatchSummary(sum)
	if err != nil {
		return mailer.Message{}, err
	}
	// The recipient goes into the Message-ID hashed: an address may hold characters a
	// Message-ID may not.
	rh := sha256.Sum256([]byte(p.Recipient))
	return mailer.Message{
		To:        p.Recipient,
		Subject:   subject,
		Text:      text,
		HTML:      html,
		MessageID: h.messageID("batch-summary-" + b.ID + "-" + hex.EncodeToString(rh[:8])),
		Attachments: []mailer.Attachment{{
			Name:        "batch-operations-report-" + b.ID + ".csv",
			ContentType: "text/csv; charset=utf-8",
			Data:        csv,
		}},
	}, nil
}

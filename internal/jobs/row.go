package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// handleRow settles one batch row. It is idempotent: a row that has settled stays as it is,
// and a row whose account exists resumes at its invitation.
//
// The database work goes through two batchers, so that the rows being handled at once share
// transactions: claims (account, number, invitation) and records (invitation outcomes).
func (h *Handler) handleRow(ctx context.Context, t *asynq.Task) error {
	p, err := decode[rowPayload](t)
	if err != nil {
		return err
	}
	log := h.log.With().Str("batch_id", p.BatchID).Int("row", p.Line).Logger()
	start := h.now()
	outcome, err := h.settleRow(ctx, p, log)
	if err != nil {
		if !lastAttempt(ctx) {
			log.Warn().Err(err).Msg("row failed transiently; will retry")
			if !mailer.IsTemporary(err) {
				h.metrics.DBErrors.Inc()
			}
			return err
		}
		if outcome, err = h.giveUp(ctx, p, err, log); err != nil {
			// Nothing could be recorded (the database is down): the reconciler enqueues the
			// row again once the batch is stale.
			return err
		}
	}
	if outcome != "" {
		h.metrics.RowDuration.WithLabelValues(outcome).Observe(h.now().Sub(start).Seconds())
	}
	return nil
}

// settleRow does the row's work and returns its outcome, or "" when there was nothing to do.
func (h *Handler) settleRow(ctx context.Context, p rowPayload, log zerolog.Logger) (string, error) {
	tok, hash := token.New("")
	expires := h.now().Add(h.cfg.InvitationTTL)
	res, err := h.claims.Do(ctx, store.RowClaim{BatchID: p.BatchID, Line: p.Line, TokenHash: hash, ExpiresAt: expires})
	if err != nil {
		return "", err
	}
	if res.Reserved {
		h.metrics.NumbersReserved.Inc()
	}
	switch res.Outcome {
	case store.ClaimGone:
		log.Warn().Msg("row no longer exists; dropping its task")
		return "", nil
	case store.ClaimSettled:
		return "", nil
	case store.ClaimDone:
		h.metrics.RowsSettled.WithLabelValues(res.Status, res.ReasonClass).Inc()
		if res.Status == store.RowSucceeded {
			log.Debug().Str("account_id", res.AccountID).Str("number", res.Number).Msg("row settled: account created")
		} else {
			log.Info().Str("outcome", res.Status).Str("reason", res.Reason).Msg("row settled")
		}
		return res.Status, nil
	}
	return h.invite(ctx, p, res, tok, expires, log)
}

// invite sends the row's invitation after the commit that created it, and records the send.
func (h *Handler) invite(ctx context.Context, p rowPayload, res store.ClaimResult, tok string, expires time.Time, log zerolog.Logger) (string, error) {
	out := store.InvitationOutcome{BatchID: p.BatchID, Line: p.Line, AccountID: res.AccountID,
		Number: res.Number, InvitationID: res.InvitationID}
	if res.IdentifierKind != "email" {
		out.Reason = "invitations are sent by email and this account is identified by a phone number; invite it from the device"
		h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "invitation_not_sent").Inc()
		return store.RowSucceeded, h.record(ctx, out)
	}
	msg, err := h.invitationMessage(res, tok, expires)
	if err != nil {
		return "", fmt.Errorf("render invitation: %w", err)
	}
	sendStart := h.now()
	err = h.mail.Send(ctx, msg)
	h.metrics.EmailDuration.Observe(h.now().Sub(sendStart).Seconds())
	switch {
	case err == nil:
		h.metrics.EmailsSent.WithLabelValues("invitation").Inc()
		out.Sent = true
	case mailer.IsPermanent(err):
		h.metrics.EmailsFailed.WithLabelValues("invitation", "permanent").Inc()
		log.Info().Err(err).Msg("invitation refused by the mail server")
		out.Reason = err.Error()
	default:
		h.metrics.EmailsFailed.WithLabelValues("invitation", "transient").Inc()
		return "", fmt.Errorf("send invitation: %w", err)
	}
	// If this record fails, the email went out and the retry sends it again (with a new
	// token): rare, and the stable Message-ID lets mail systems fold the copies.
	if err := h.record(ctx, out); err != nil {
		return "", err
	}
	class := "none"
	if !out.Sent {
		class = "invitation_failed"
	}
	h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, class).Inc()
	log.Debug().Str("account_id", res.AccountID).Str("number", res.Number).Bool("sent", out.Sent).Msg("row settled: invitation")
	return store.RowSucceeded, nil
}

func (h *Handler) record(ctx context.Context, out store.InvitationOutcome) error {
	_, err := h.records.Do(ctx, out)
	return err
}

func (h *Handler) invitationMessage(res store.ClaimResult, tok string, expires time.Time) (mailer.Message, error) {
	// The organization's template is cached for a few seconds (see templateTTL); a miss costs
	// one query, bounded here as the caller's context does not reach this far.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.renderInvitation(ctx, invitationEmail{InvitationID: res.InvitationID, To: res.Identifier,
		Firstname: res.Firstname, Lastname: res.Lastname, Language: res.Language,
		OrganizationID: res.OrganizationID, OrganizationName: res.OrganizationName, Number: res.Number}, tok, expires)
}

// giveUp settles a row whose last attempt failed transiently, so that its batch finishes.
func (h *Handler) giveUp(ctx context.Context, p rowPayload, cause error, log zerolog.Logger) (string, error) {
	w, err := h.store.RowState(ctx, p.BatchID, p.Line)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if w.Status != store.RowPending {
		return "", nil
	}
	reason := fmt.Sprintf("gave up after %d attempts: %v", rowMaxRetry+1, cause)
	log.Error().Err(cause).Msg("row failed on its last attempt")
	outcome := store.RowFailed
	if w.InvitationID != nil {
		if err := h.store.InvitationFailed(ctx, p.BatchID, p.Line, *w.InvitationID, reason); err != nil {
			return "", err
		}
		h.metrics.EmailsFailed.WithLabelValues("invitation", "permanent").Inc()
		h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "invitation_failed").Inc()
		outcome = store.RowSucceeded
	} else {
		ok, err := h.store.SettleRow(ctx, p.BatchID, p.Line, store.RowFailed, reason)
		if err != nil || !ok {
			return "", err
		}
		h.metrics.RowsSettled.WithLabelValues(store.RowFailed, "gave_up").Inc()
	}
	settled, err := h.store.SettledBatches(ctx, []string{p.BatchID})
	if err != nil {
		return "", err
	}
	return outcome, h.finalizeIfSettled(ctx, settled)
}

// finalizeIfSettled enqueues the finalizer of each batch in ids, which have all settled.
// Several flushes may find a batch settled; the finalizer's task id and guarded status change
// make that harmless.
func (h *Handler) finalizeIfSettled(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if err := h.client.EnqueueFinalize(ctx, id); err != nil {
			// The reconciler finalizes settled batches that lack a report.
			h.log.Warn().Err(err).Str("batch_id", id).Msg("could not enqueue finalizer")
		}
	}
	return nil
}

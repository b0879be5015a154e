package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// handleRow settles one batch row. It is idempotent: a row that has settled stays as it is,
// and a row whose account exists resumes at its invitation.
func (h *Handler) handleRow(ctx context.Context, t *asynq.Task) error {
	p, err := decode[rowPayload](t)
	if err != nil {
		return err
	}
	log := h.log.With().Str("batch_id", p.BatchID).Int("row", p.Line).Logger()
	start := h.now()
	outcome, err := h.settleRow(ctx, p, log)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			log.Warn().Msg("row no longer exists; dropping its task")
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		if !lastAttempt(ctx) {
			log.Warn().Err(err).Msg("row failed transiently; will retry")
			if store.IsTransient(err) && !mailer.IsTemporary(err) {
				h.metrics.DBErrors.Inc()
			}
			return err
		}
		outcome, err = h.giveUp(ctx, p, err, log)
		if err != nil {
			// Nothing could be recorded (the database is down): the reconciler enqueues the
			// row again once the batch is stale.
			return err
		}
	}
	if outcome != "" {
		h.metrics.RowDuration.WithLabelValues(outcome).Observe(h.now().Sub(start).Seconds())
	}
	return h.finalizeIfSettled(ctx, p.BatchID, log)
}

// settleRow does the row's work and returns its outcome, or "" when there was nothing to do.
func (h *Handler) settleRow(ctx context.Context, p rowPayload, log zerolog.Logger) (string, error) {
	w, err := h.store.RowWork(ctx, p.BatchID, p.Line)
	if err != nil {
		return "", err
	}
	if w.Status != store.RowPending {
		return "", nil
	}
	if w.BatchStatus == store.BatchQueued {
		if err := h.store.StartBatch(ctx, w.BatchID); err != nil {
			return "", err
		}
	}
	var tok string
	if w.AccountID == nil {
		if w.CancelRequested {
			return h.settle(ctx, w, store.RowCanceled, "canceled", "the batch was canceled before this row was processed", log)
		}
		var inv *store.NewInvitation
		if w.Invite {
			var hash []byte
			tok, hash = token.New("")
			inv = &store.NewInvitation{TokenHash: hash, ExpiresAt: h.now().Add(h.cfg.InvitationTTL)}
		}
		c, err := h.store.CreateAccount(ctx, w, inv)
		var fail *store.RowFailure
		switch {
		case errors.Is(err, store.ErrRowNotPending):
			// An earlier run of this task got further than its record of it; start over
			// from what the database says.
			return h.settleRow(ctx, p, log)
		case errors.Is(err, store.ErrBatchCanceled):
			return h.settle(ctx, w, store.RowCanceled, "canceled", "the batch was canceled before this row was processed", log)
		case errors.As(err, &fail):
			return h.settle(ctx, w, store.RowFailed, reasonClass(fail.Reason), fail.Reason, log)
		case err != nil:
			return "", err
		}
		if c.Number != "" {
			h.metrics.NumbersReserved.Inc()
		}
		if !w.Invite {
			h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "none").Inc()
			log.Debug().Str("account_id", c.AccountID).Str("number", c.Number).Msg("row settled: account created")
			return store.RowSucceeded, nil
		}
		w.AccountID, w.InvitationID, w.Number = &c.AccountID, &c.InvitationID, c.Number
		pending := "pending"
		w.InvitationState = &pending
	}
	return h.invite(ctx, w, tok, log)
}

// invite sends the row's invitation after the commit that created it, and records the send.
// tok is the plain token when this run created the invitation; a retry rotates it, since an
// earlier run's token only lived in that run's memory.
func (h *Handler) invite(ctx context.Context, w store.RowWork, tok string, log zerolog.Logger) (string, error) {
	if w.InvitationID == nil || w.InvitationState == nil || *w.InvitationState != "pending" {
		return "", fmt.Errorf("%w: row %d holds an account but no pending invitation", asynq.SkipRetry, w.Line)
	}
	invID := *w.InvitationID
	if w.IdentifierKind != "email" {
		reason := "invitations are sent by email and this account is identified by a phone number; invite it from the device"
		if err := h.store.InvitationFailed(ctx, w.BatchID, w.Line, invID, reason); err != nil {
			return "", err
		}
		h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "invitation_not_sent").Inc()
		return store.RowSucceeded, nil
	}
	expires := h.now().Add(h.cfg.InvitationTTL)
	if tok == "" {
		var hash []byte
		tok, hash = token.New("")
		if err := h.store.RotateInvitationToken(ctx, invID, store.NewInvitation{TokenHash: hash, ExpiresAt: expires}); err != nil {
			return "", err
		}
	}
	msg, err := h.invitationMessage(w, tok, expires)
	if err != nil {
		return "", fmt.Errorf("render invitation: %w", err)
	}
	sendStart := h.now()
	err = h.mail.Send(ctx, msg)
	h.metrics.EmailDuration.Observe(h.now().Sub(sendStart).Seconds())
	switch {
	case err == nil:
		h.metrics.EmailsSent.WithLabelValues("invitation").Inc()
		if err := h.store.InvitationSent(ctx, w.BatchID, w.Line, invID); err != nil {
			// The email went out; the retry will find the invitation pending and send
			// again. Rare, and the stable Message-ID lets mail systems fold the copies.
			return "", err
		}
		h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "none").Inc()
		log.Debug().Str("account_id", *w.AccountID).Str("number", w.Number).Msg("row settled: invitation sent")
		return store.RowSucceeded, nil
	case mailer.IsPermanent(err):
		h.metrics.EmailsFailed.WithLabelValues("invitation", "permanent").Inc()
		if err := h.store.InvitationFailed(ctx, w.BatchID, w.Line, invID, err.Error()); err != nil {
			return "", err
		}
		h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "invitation_failed").Inc()
		log.Info().Err(err).Msg("row settled: invitation refused by the mail server")
		return store.RowSucceeded, nil
	default:
		h.metrics.EmailsFailed.WithLabelValues("invitation", "transient").Inc()
		return "", fmt.Errorf("send invitation: %w", err)
	}
}

func (h *Handler) invitationMessage(w store.RowWork, tok string, expires time.Time) (mailer.Message, error) {
	data := mailer.InvitationData{
		FirstName:    w.Firstname,
		LastName:     w.Lastname,
		Organization: w.OrganizationName,
		Number:       w.Number,
		Link:         strings.TrimRight(h.cfg.PublicURL, "/") + "/activate/" + tok,
		ExpiresAt:    expires,
		Language:     w.Language,
	}
	subject, text, html, err := mailer.RenderInvitation(mailer.DefaultInvitationTemplate(w.Language), data)
	if err != nil {
		return mailer.Message{}, err
	}
	return mailer.Message{
		To:        w.Identifier,
		ToName:    strings.TrimSpace(w.Firstname + " " + w.Lastname),
		Subject:   subject,
		Text:      text,
		HTML:      html,
		MessageID: "<invitation-" + *w.InvitationID + "@multiline>",
	}, nil
}

// settle records a row's final outcome; a row settled by someone else meanwhile stays as is.
func (h *Handler) settle(ctx context.Context, w store.RowWork, outcome, class, reason string, log zerolog.Logger) (string, error) {
	ok, err := h.store.SettleRow(ctx, w.BatchID, w.Line, outcome, reason)
	if err != nil || !ok {
		return "", err
	}
	h.metrics.RowsSettled.WithLabelValues(outcome, class).Inc()
	log.Info().Str("outcome", outcome).Str("reason", reason).Msg("row settled")
	return outcome, nil
}

// giveUp settles a row whose last attempt failed transiently, so that its batch finishes.
func (h *Handler) giveUp(ctx context.Context, p rowPayload, cause error, log zerolog.Logger) (string, error) {
	w, err := h.store.RowWork(ctx, p.BatchID, p.Line)
	if err != nil {
		return "", err
	}
	if w.Status != store.RowPending {
		return "", nil
	}
	reason := fmt.Sprintf("gave up after %d attempts: %v", rowMaxRetry+1, cause)
	log.Error().Err(cause).Msg("row failed on its last attempt")
	if w.InvitationID != nil {
		if err := h.store.InvitationFailed(ctx, w.BatchID, w.Line, *w.InvitationID, reason); err != nil {
			return "", err
		}
		h.metrics.EmailsFailed.WithLabelValues("invitation", "permanent").Inc()
		h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "invitation_failed").Inc()
		return store.RowSucceeded, nil
	}
	return h.settle(ctx, w, store.RowFailed, "gave_up", reason, log)
}

// finalizeIfSettled enqueues the batch's finalizer once no row is pending. Several last rows
// may race here; the finalizer's task id and guarded status change make that harmless.
func (h *Handler) finalizeIfSettled(ctx context.Context, batchID string, log zerolog.Logger) error {
	done, err := h.store.BatchSettled(ctx, batchID)
	if err != nil || !done {
		return err
	}
	if err := h.client.EnqueueFinalize(ctx, batchID); err != nil {
		// The reconciler finalizes settled batches that lack a report.
		log.Warn().Err(err).Msg("could not enqueue finalizer")
	}
	return nil
}

// reasonClass groups row failure reasons into a few values fit for a metric label.
func reasonClass(reason string) string {
	switch {
	case strings.HasPrefix(reason, "no number available"):
		return "no_number"
	case strings.HasPrefix(reason, "multiline_number"):
		return "number_unavailable"
	case strings.HasPrefix(reason, "an account for"):
		return "account_exists"
	default:
		return "other"
	}
}

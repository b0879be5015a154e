package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/store"
)

// sendLease is how long a row task's attempt holds its invitation against other deliveries
// of the same task (see store.RowClaim): longer than any one send takes (each SMTP step
// times out sooner), short enough that a worker that died holds nothing for long; Asynq
// itself gives a dead worker's tasks back only after its 30 s lease.
const sendLease = 30 * time.Second

// handleRow works on the row its task names, and on no other. It is idempotent: a row that
// has settled stays as it is, and a row whose account exists resumes at its invitation,
// with the same link.
//
// The database work goes through batchers, so that the tasks running at once share
// statements: claims (accounts, numbers, invitations) and records (outcomes).
func (h *Handler) handleRow(ctx context.Context, t *asynq.Task) error {
	p, err := decode[rowPayload](t)
	if err != nil {
		return err
	}
	key := store.RowKey{BatchID: p.BatchID, Line: p.Line}
	if _, running := h.working.LoadOrStore(key, struct{}{}); running {
		return &busyError{until: h.now().Add(time.Second)}
	}
	defer h.working.Delete(key)
	log := h.log.With().Str("batch_id", p.BatchID).Int("row", p.Line).Logger()
	err = h.workRow(ctx, p, log)
	switch {
	case err == nil:
		return nil
	case isThrottled(err):
		// Routine while a send rate is the bottleneck: many a second.
		log.Debug().Err(err).Msg("row waits for the send rate; looking again later")
		return err
	case isBusy(err):
		log.Info().Err(err).Msg("row is in hand elsewhere; looking again later")
		return err
	case !lastAttempt(ctx):
		log.Warn().Err(err).Msg("row failed transiently; will retry")
		if !temporarySend(err) {
			h.metrics.DBErrors.Inc()
		}
		return err
	}
	if gerr := h.giveUp(ctx, p, err, log); gerr != nil {
		// Nothing could be recorded (the database is down): the reconciler enqueues the row
		// again once its batch is stale.
		return gerr
	}
	return nil
}

// workRow claims the row and, for Import & Invite, sends and records its invitation.
func (h *Handler) workRow(ctx context.Context, p rowPayload, log zerolog.Logger) error {
	start := h.now()
	lease := start.Add(sendLease)
	if d, ok := ctx.Deadline(); ok && d.Before(lease) {
		lease = d
	}
	res, err := h.claims.Do(ctx, store.RowClaim{BatchID: p.BatchID, Line: p.Line,
		ExpiresAt: start.Add(h.cfg.InvitationTTL), Holder: h.holder, LeaseUntil: lease})
	if err != nil {
		if !store.IsRowFault(err) {
			return fmt.Errorf("claim row: %w", err)
		}
		// PostgreSQL refused this row on its own (its group was split to find it): the row
		// fails with PostgreSQL's words, and the rest of the batch goes on.
		log.Error().Err(err).Msg("row refused by the database")
		return h.record(ctx, store.Outcome{BatchID: p.BatchID, Line: p.Line, Status: store.RowFailed,
			Code: store.CodeRejected, Detail: store.Refusal(err)}, start, log)
	}
	if res.Reserved {
		h.metrics.NumbersReserved.Inc()
	}
	switch res.Claim {
	case store.ClaimGone:
		log.Warn().Msg("row no longer exists; dropping its task")
	case store.ClaimBusy:
		return &busyError{until: res.BusyUntil}
	case store.ClaimDone:
		h.count(res.Outcome, start, log)
	case store.ClaimInvite:
		return h.inviteRow(ctx, p, res.Invitation, start, lease, log)
	}
	return nil
}

// inviteRow sends a claimed row's invitation after the commit that created it, and records
// the outcome at once. A transient failure releases the invitation and retries the task; on
// the last attempt the row settles with its invitation failed, so that the batch finishes.
func (h *Handler) inviteRow(ctx context.Context, p rowPayload, inv store.InvitationSend, start, lease time.Time, log zerolog.Logger) error {
	o := store.Outcome{BatchID: p.BatchID, Line: p.Line, Status: store.RowSucceeded, Code: store.CodeNone,
		AccountID: inv.AccountID, Number: inv.Number, InvitationID: inv.InvitationID, Invitation: store.InvitationSent}
	_, accepted := h.accepted.Load(inv.InvitationID)
	ch := channelOf(inv.IdentifierKind)
	switch {
	case !h.canSend(ch):
		o.Code, o.Detail, o.Invitation = store.CodeInvitationNotSent, smsNotConfigured, store.InvitationNotSent
	case accepted:
		log.Info().Msg("invitation accepted by the provider in an earlier attempt; recording it")
	default:
		err := h.sendInvitation(ctx, inv, lease)
		var unsent *unsentError
		switch {
		case err == nil:
			h.countSent(ch)
			h.accepted.Store(inv.InvitationID, struct{}{})
		case isBusy(err):
			// The send rate is used up for now: the row waits in its queue, not here.
			h.release(ctx, inv.InvitationID, log)
			return err
		case errors.As(err, &unsent):
			h.countUnsent(ch, unsent.reason)
			log.Error().Err(err).Msg("invitation not sent")
			o.Code, o.Detail, o.Invitation = store.CodeInvitationFailed, unsent.detail, store.InvitationFailed
		case permanentSend(err):
			h.countFailed(ch, err, false)
			log.Info().Err(err).Str("channel", string(ch)).Msg("invitation refused by the provider")
			o.Code, o.Detail, o.Invitation = store.CodeInvitationFailed, err.Error(), store.InvitationFailed
		case !lastAttempt(ctx):
			h.countFailed(ch, err, false)
			h.release(ctx, inv.InvitationID, log)
			return fmt.Errorf("send invitation: %w", err)
		default:
			h.countFailed(ch, err, true)
			log.Error().Err(err).Msg("invitation failed on the row's last attempt")
			o.Code, o.Detail, o.Invitation = store.CodeGaveUp, attempts(err), store.InvitationFailed
		}
	}
	if err := h.record(ctx, o, start, log); err != nil {
		return err
	}
	h.accepted.Delete(inv.InvitationID)
	return nil
}

// release gives up this attempt's lease on an invitation it did not send, so that the row's
// next attempt, in any process, goes on at once. It is an optimisation: a lease that could
// not be released runs out by itself.
func (h *Handler) release(ctx context.Context, invitationID string, log zerolog.Logger) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := h.store.ReleaseLease(rctx, invitationID, h.holder); err != nil {
		log.Debug().Err(err).Msg("could not release the invitation's lease; it runs out by itself")
	}
}

// record settles a row with outcome o, through the records batcher. When the write fails
// for the connection's or the server's sake, it writes again, not the whole row: what
// happened (an email accepted, above all) stays true, so it goes on until PostgreSQL answers
// or the task's deadline is near. It is not cut short when the task is canceled (the worker
// is shutting down): an accepted send is worth recording.
func (h *Handler) record(ctx context.Context, o store.Outcome, start time.Time, log zerolog.Logger) error {
	rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), taskDeadline(ctx).Add(-recordMargin))
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		_, err := h.records.Do(rctx, o)
		if err == nil {
			h.count(o, start, log)
			return nil
		}
		if store.IsRowFault(err) || errors.Is(err, errBatcherClosed) || rctx.Err() != nil {
			return fmt.Errorf("record outcome: %w", err)
		}
		h.metrics.RecordRetries.Inc()
		log.Warn().Err(err).Dur("retry_in", wait).Msg("could not record the row's outcome; recording it again")
		select {
		case <-time.After(wait):
		case <-rctx.Done():
			return fmt.Errorf("record outcome: %w", err)
		}
		wait = min(2*wait, time.Second)
	}
}

// recordMargin is how much of a task's time record leaves unused, for the task to report
// its error to Asynq before its deadline.
const recordMargin = 2 * time.Second

// count counts and logs a row that settled now.
func (h *Handler) count(o store.Outcome, start time.Time, log zerolog.Logger) {
	h.metrics.RowsSettled.WithLabelValues(o.Status, o.Code).Inc()
	h.metrics.RowDuration.WithLabelValues(o.Status).Observe(h.now().Sub(start).Seconds())
	if o.Status == store.RowSucceeded && o.Code == store.CodeNone {
		log.Debug().Str("account_id", o.AccountID).Str("number", o.Number).Str("invitation", o.Invitation).Msg("row settled")
		return
	}
	log.Info().Str("outcome", o.Status).Str("reason_code", o.Code).Str("reason", o.Reason()).Msg("row settled")
}

// giveUp settles a row whose last attempt failed transiently, so that its batch finishes: it
// fails, or, when an earlier attempt created its account, succeeds with its invitation
// failed.
func (h *Handler) giveUp(ctx context.Context, p rowPayload, cause error, log zerolog.Logger) error {
	st, err := h.store.RowState(ctx, p.BatchID, p.Line)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Status != store.RowPending {
		return nil
	}
	log.Error().Err(cause).Msg("row failed on its last attempt")
	o := store.Outcome{BatchID: p.BatchID, Line: p.Line, Status: store.RowFailed, Code: store.CodeGaveUp, Detail: attempts(cause)}
	if st.AccountID != "" {
		o.Status, o.AccountID, o.Number, o.InvitationID = store.RowSucceeded, st.AccountID, st.Number, st.InvitationID
		o.Invitation = store.InvitationNotSent
		if st.InvitationID != "" {
			o.Invitation = store.InvitationFailed
		}
	}
	return h.record(ctx, o, h.now(), log)
}

func attempts(cause error) string { return fmt.Sprintf("%d attempts: %v", rowMaxRetry+1, cause) }

// sendInvitation renders and sends the invitation of a claimed row, by email or by SMS. Its
// link is the same on every attempt: the token derives from the invitation's id. An email
// waits for the send rate no longer than the lease leaves time to send. An invitation whose
// template did not render or left the link out is not sent (*unsentError).
func (h *Handler) sendInvitation(ctx context.Context, inv store.InvitationSend, lease time.Time) error {
	tok, _ := h.cfg.Tokens.Token(inv.InvitationID)
	return h.deliver(ctx, channelOf(inv.IdentifierKind), invitationEmail{InvitationID: inv.InvitationID, To: inv.Identifier,
		Firstname: inv.Firstname, Lastname: inv.Lastname, Language: inv.Language,
		OrganizationID: inv.OrganizationID, OrganizationName: inv.OrganizationName, Number: inv.Number}, tok, inv.ExpiresAt,
		lease.Add(-sendMargin))
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

// busyError says that a task cannot go on until a time: another delivery of a row's task is
// working on the row, or the send rate is used up (why says which). The task looks again
// then, without spending an attempt (see ServerConfig's IsFailure).
type busyError struct {
	until time.Time
	why   string // empty: another delivery holds the row
}

func (e *busyError) Error() string {
	if e.why != "" {
		return e.why + "; trying again at " + e.until.UTC().Format(time.RFC3339)
	}
	return "another delivery of this row's task holds it until " + e.until.UTC().Format(time.RFC3339)
}

func isBusy(err error) bool {
	var b *busyError
	return errors.As(err, &b)
}

// isThrottled reports whether err is a busyError of the send rate.
func isThrottled(err error) bool {
	var b *busyError
	return errors.As(err, &b) && b.why != ""
}

// BusyDelay returns how long a task that failed with err should wait before it runs again,
// when err says its row is in hand elsewhere.
func BusyDelay(err error) (time.Duration, bool) {
	var b *busyError
	if !errors.As(err, &b) {
		return 0, false
	}
	return max(time.Until(b.until), 100*time.Millisecond), true
}

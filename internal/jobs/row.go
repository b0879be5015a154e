package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
)

// handleRow settles one batch row, and the rows its task takes on (see store.RowClaim). It is
// idempotent: a row that has settled stays as it is, a row whose account exists resumes at
// its invitation, and a row another task has taken on is left to that task.
//
// The database work goes through batchers, so that the tasks running at once share
// statements: looks (is there anything to do), claims (accounts, numbers, invitations) and
// records (invitation outcomes).
func (h *Handler) handleRow(ctx context.Context, t *asynq.Task) error {
	p, err := decode[rowPayload](t)
	if err != nil {
		return err
	}
	log := h.log.With().Str("batch_id", p.BatchID).Int("row", p.Line).Logger()
	if err := h.settleRows(ctx, p, log); err != nil {
		if !lastAttempt(ctx) {
			log.Warn().Err(err).Msg("row failed transiently; will retry")
			if !mailer.IsTemporary(err) {
				h.metrics.DBErrors.Inc()
			}
			return err
		}
		if err := h.giveUp(ctx, p, err, log); err != nil {
			// Nothing could be recorded (the database is down): the reconciler enqueues the
			// row again once the batch is stale.
			return err
		}
	}
	return nil
}

// rowSweep is how many fresh rows of its batch a row task takes on besides its own. Their
// accounts, numbers and invitations share the claim's transaction, their emails go out
// sendParallel at a time, and their outcomes share one record statement; the tasks of those
// rows then find them taken and finish at once. A hundred keeps a 1000-row batch spread over
// several tasks that work side by side.
const rowSweep = 100

// settleRows does the work of the task's row and of the rows it takes on.
func (h *Handler) settleRows(ctx context.Context, p rowPayload, log zerolog.Logger) error {
	start := h.now()
	retry, _ := asynq.GetRetryCount(ctx)
	expires := start.Add(h.cfg.InvitationTTL)
	if retry == 0 {
		// Most tasks find their row settled or taken on by another task, often one running
		// here; otherwise a look without locks says so without waiting for the claims under
		// way.
		key := store.RowKey{BatchID: p.BatchID, Line: p.Line}
		if owner, ok := h.taken.Load(key); ok {
			log.Debug().Int("owner", owner.(int)).Msg("row taken on by another row's task")
			return nil
		}
		if h.settled.has(key) {
			return nil
		}
		look, err := h.looks.Do(ctx, key)
		if err != nil {
			return err
		}
		switch {
		case !look.Exists:
			log.Warn().Msg("row no longer exists; dropping its task")
			return nil
		case look.TookOn:
			// An earlier run took rows on; the claim resumes them.
		case look.Settled:
			return nil
		case look.Owner != 0:
			log.Debug().Int("owner", look.Owner).Msg("row taken on by another row's task")
			return nil
		}
	}
	own, err := h.claims.Do(ctx, store.RowClaim{BatchID: p.BatchID, Line: p.Line, ExpiresAt: expires,
		Sweep: rowSweep, Resume: retry > 0})
	if err != nil {
		return err
	}
	switch own.Outcome {
	case store.ClaimGone:
		log.Warn().Msg("row no longer exists; dropping its task")
	case store.ClaimOwned:
		log.Debug().Int("owner", own.Owner).Msg("row taken on by another row's task")
	}
	if len(own.Taken) > 0 {
		log.Debug().Int("rows", len(own.Taken)).Msg("took on rows of the batch")
		for _, r := range own.Taken {
			h.taken.Store(store.RowKey{BatchID: r.BatchID, Line: r.Line}, p.Line)
		}
		defer func() {
			for _, r := range own.Taken {
				h.taken.Delete(store.RowKey{BatchID: r.BatchID, Line: r.Line})
			}
		}()
	}
	var invites []store.ClaimResult
	for _, res := range append([]store.ClaimResult{own}, own.Taken...) {
		if res.Reserved {
			h.metrics.NumbersReserved.Inc()
		}
		switch res.Outcome {
		case store.ClaimDone:
			h.settled.add(store.RowKey{BatchID: res.BatchID, Line: res.Line})
			h.countSettled(res.Status, res.ReasonClass, start)
			rlog := log.With().Int("row", res.Line).Logger()
			if res.Status == store.RowSucceeded {
				rlog.Debug().Str("account_id", res.AccountID).Str("number", res.Number).Msg("row settled: account created")
			} else {
				rlog.Info().Str("outcome", res.Status).Str("reason", res.Reason).Msg("row settled")
			}
		case store.ClaimInvite:
			invites = append(invites, res)
		}
	}
	if len(invites) == 0 {
		return nil
	}
	return h.invite(ctx, invites, expires, start, log)
}

// countSettled counts a row that settled now.
func (h *Handler) countSettled(status, class string, start time.Time) {
	h.metrics.RowsSettled.WithLabelValues(status, class).Inc()
	h.metrics.RowDuration.WithLabelValues(status).Observe(h.now().Sub(start).Seconds())
}

// invite sends the invitations of rows after the commit that created them, then records the
// outcomes in one statement. At the first transient failure it stops: what was sent or
// refused is recorded, and the task's retry takes up the rest. On the last attempt the rest
// fail with the reason instead, so that the batch finishes.
func (h *Handler) invite(ctx context.Context, rows []store.ClaimResult, expires, start time.Time, log zerolog.Logger) error {
	outcome := func(res store.ClaimResult) store.InvitationOutcome {
		return store.InvitationOutcome{BatchID: res.BatchID, Line: res.Line, AccountID: res.AccountID,
			Number: res.Number, InvitationID: res.InvitationID}
	}
	errs := h.sendAll(ctx, rows, expires)
	outs := make([]store.InvitationOutcome, 0, len(rows))
	var failed error
	var untried []store.ClaimResult
	for i, res := range rows {
		out := outcome(res)
		err := errs[i]
		switch {
		case res.IdentifierKind != "email":
			out.Reason = notByEmail
		case err == errNotTried:
			untried = append(untried, res)
			continue
		case err == nil:
			h.metrics.EmailsSent.WithLabelValues("invitation").Inc()
			out.Sent = true
		case mailer.IsPermanent(err):
			h.metrics.EmailsFailed.WithLabelValues("invitation", "permanent").Inc()
			log.Info().Int("row", res.Line).Err(err).Msg("invitation refused by the mail server")
			out.Reason = err.Error()
		default:
			h.metrics.EmailsFailed.WithLabelValues("invitation", "transient").Inc()
			if failed == nil {
				failed = fmt.Errorf("send invitation of row %d: %w", res.Line, err)
			}
			untried = append(untried, res)
			continue
		}
		outs = append(outs, out)
	}
	if failed != nil && lastAttempt(ctx) {
		reason := fmt.Sprintf("gave up after %d attempts: %v", rowMaxRetry+1, failed)
		log.Error().Err(failed).Int("rows", len(untried)).Msg("invitations failed on the last attempt")
		for _, res := range untried {
			out := outcome(res)
			out.Reason = reason
			outs = append(outs, out)
			h.metrics.EmailsFailed.WithLabelValues("invitation", "permanent").Inc()
		}
		failed = nil
	}
	// If this record fails, the emails went out and the retry sends them again (with new
	// tokens): rare, and the stable Message-ID lets mail systems fold the copies.
	if len(outs) > 0 {
		if _, err := h.records.Do(ctx, outs); err != nil {
			return err
		}
	}
	for _, o := range outs {
		class := "none"
		switch {
		case o.Reason == notByEmail:
			class = "invitation_not_sent"
		case !o.Sent:
			class = "invitation_failed"
		}
		h.settled.add(store.RowKey{BatchID: o.BatchID, Line: o.Line})
		h.countSettled(store.RowSucceeded, class, start)
		log.Debug().Int("row", o.Line).Str("account_id", o.AccountID).Str("number", o.Number).Bool("sent", o.Sent).Msg("row settled: invitation")
	}
	return failed
}

// sendParallel is how many invitations one task sends at once, each on its own connection:
// the connections' round trips overlap, so a task's hundred emails do not wait for each
// other, and the worker keeps the CPU busy with its few tasks.
const sendParallel = 8

// errNotTried marks an invitation sendAll did not send because an earlier one failed
// transiently.
var errNotTried = errors.New("not tried")

// sendAll sends the invitations of rows (those identified by email), sendParallel at a time,
// and returns each one's error. After a transient failure it starts no more sends: the mail
// server is likely down for the others too, and the task's retry takes them up.
func (h *Handler) sendAll(ctx context.Context, rows []store.ClaimResult, expires time.Time) []error {
	errs := make([]error, len(rows))
	for i := range errs {
		errs[i] = errNotTried
	}
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range min(sendParallel, len(rows)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(rows) {
					return
				}
				if rows[i].IdentifierKind != "email" {
					errs[i] = nil
					continue
				}
				err := h.sendInvitation(ctx, rows[i], expires)
				errs[i] = err
				if err != nil && !mailer.IsPermanent(err) {
					stop.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

const notByEmail = "invitations are sent by email and this account is identified by a phone number; invite it from the device"

// sendInvitation renders and sends the invitation of a claimed row.
func (h *Handler) sendInvitation(ctx context.Context, res store.ClaimResult, expires time.Time) error {
	msg, err := h.invitationMessage(res, expires)
	if err != nil {
		return fmt.Errorf("render invitation: %w", err)
	}
	start := h.now()
	err = h.mail.Send(ctx, msg)
	h.metrics.EmailDuration.Observe(h.now().Sub(start).Seconds())
	return err
}

func (h *Handler) invitationMessage(res store.ClaimResult, expires time.Time) (mailer.Message, error) {
	// The organization's template is cached for a few seconds (see templateTTL); a miss costs
	// one query, bounded here as the caller's context does not reach this far.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.renderInvitation(ctx, invitationEmail{InvitationID: res.InvitationID, To: res.Identifier,
		Firstname: res.Firstname, Lastname: res.Lastname, Language: res.Language,
		OrganizationID: res.OrganizationID, OrganizationName: res.OrganizationName, Number: res.Number}, res.Token, expires)
}

// giveUp settles a row whose last attempt failed transiently, so that its batch finishes.
func (h *Handler) giveUp(ctx context.Context, p rowPayload, cause error, log zerolog.Logger) error {
	reason := fmt.Sprintf("gave up after %d attempts: %v", rowMaxRetry+1, cause)
	// The rows this task took on go with it: they are nobody else's.
	n, err := h.store.GiveUpTakenRows(ctx, p.BatchID, p.Line, reason)
	if err != nil {
		return err
	}
	if n > 0 {
		log.Error().Err(cause).Int("rows", n).Msg("rows taken on failed on the task's last attempt")
		h.metrics.EmailsFailed.WithLabelValues("invitation", "permanent").Add(float64(n))
		h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "invitation_failed").Add(float64(n))
	}
	if err := h.giveUpOwnRow(ctx, p, reason, cause, log); err != nil {
		return err
	}
	settled, err := h.store.SettledBatches(ctx, []string{p.BatchID})
	if err != nil {
		return err
	}
	return h.finalizeIfSettled(ctx, settled)
}

func (h *Handler) giveUpOwnRow(ctx context.Context, p rowPayload, reason string, cause error, log zerolog.Logger) error {
	w, err := h.store.RowState(ctx, p.BatchID, p.Line)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || w.Status != store.RowPending {
		return err
	}
	log.Error().Err(cause).Msg("row failed on its last attempt")
	if w.InvitationID != nil {
		if err := h.store.InvitationFailed(ctx, p.BatchID, p.Line, *w.InvitationID, reason); err != nil {
			return err
		}
		h.metrics.EmailsFailed.WithLabelValues("invitation", "permanent").Inc()
		h.metrics.RowsSettled.WithLabelValues(store.RowSucceeded, "invitation_failed").Inc()
		return nil
	}
	ok, err := h.store.SettleRow(ctx, p.BatchID, p.Line, store.RowFailed, reason)
	if err != nil || !ok {
		return err
	}
	h.metrics.RowsSettled.WithLabelValues(store.RowFailed, "gave_up").Inc()
	return nil
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

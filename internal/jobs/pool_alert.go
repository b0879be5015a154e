package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
)

// poolAlertPayload names one email of a pool alert's episode (see store.CheckPools).
type poolAlertPayload struct {
	OrganizationID string `json:"organization_id"`
	Episode        int    `json:"episode"`
	Recipient      string `json:"recipient"`
}

// PoolAlertTaskID is the deterministic task id of one email of a pool alert's episode.
func PoolAlertTaskID(e store.PoolAlertEmail) string { return "pool-alert:" + poolAlertKey(e) }

// poolAlertKey names one email of a pool alert's episode in its task id and Message-ID. The
// recipient goes in hashed: an address may hold characters neither may.
func poolAlertKey(e store.PoolAlertEmail) string {
	rh := sha256.Sum256([]byte(e.Recipient))
	return e.OrganizationID + "-" + strconv.Itoa(e.Episode) + "-" + hex.EncodeToString(rh[:8])
}

// NewPoolAlertTask returns the task that sends one email of a pool alert.
func NewPoolAlertTask(q Queues, e store.PoolAlertEmail) *asynq.Task {
	payload, _ := json.Marshal(poolAlertPayload{OrganizationID: e.OrganizationID, Episode: e.Episode, Recipient: e.Recipient})
	return asynq.NewTask(TypePoolAlert, payload, asynq.TaskID(PoolAlertTaskID(e)),
		asynq.Queue(q.Notify()), asynq.MaxRetry(notifyMaxRetry), asynq.Timeout(time.Minute))
}

// CheckPools checks the pool alerts of orgIDs (nil: every organization that may need it;
// see store.CheckPools) and enqueues the emails of raised alerts not sent yet. The api calls
// it after what changes a pool (an upload, numbers added, a move, a resend, an undo, new
// settings), the workers as rows settle, and the reconciler on every pass.
func (f *Feeder) CheckPools(ctx context.Context, orgIDs []string) error {
	emails, err := f.store.CheckPools(ctx, orgIDs)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range emails {
		if err := f.enqueue(ctx, NewPoolAlertTask(f.queues, e)); err != nil {
			errs = append(errs, fmt.Errorf("enqueue pool alert: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkBatchPools checks the pool alerts of the organizations of batchIDs, whose rows
// settled: the worker's pool loop runs it.
func (f *Feeder) checkBatchPools(ctx context.Context, batchIDs []string) error {
	orgs, err := f.store.BatchOrganizations(ctx, batchIDs)
	if err != nil || len(orgs) == 0 {
		return err
	}
	return f.CheckPools(ctx, orgs)
}

// handlePoolAlert emails one alert recipient that an organization's pool runs short. It is
// idempotent: an email recorded as sent or failed is not sent again.
func (h *Handler) handlePoolAlert(ctx context.Context, t *asynq.Task) error {
	p, err := decode[poolAlertPayload](t)
	if err != nil {
		return err
	}
	e := store.PoolAlertEmail{OrganizationID: p.OrganizationID, Episode: p.Episode, Recipient: p.Recipient}
	log := h.log.With().Str("organization_id", p.OrganizationID).Int("episode", p.Episode).Str("recipient", p.Recipient).Logger()
	a, err := h.store.PoolAlertEmailState(ctx, e)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.State != "pending" {
		return nil
	}
	subject, text, html, err := mailer.RenderPoolAlert(mailer.PoolAlert{Organization: a.OrganizationName,
		OrganizationID: a.OrganizationID, Available: a.Available, Needed: a.Needed, Threshold: a.Threshold, RaisedAt: a.RaisedAt})
	if err != nil {
		return fmt.Errorf("render pool alert: %w", err)
	}
	sent, reason, err := h.sendAdminEmail(ctx, "pool_alert", mailer.Message{To: p.Recipient, Subject: subject,
		Text: text, HTML: html, MessageID: h.messageID("pool-alert-" + poolAlertKey(e))}, log)
	if err != nil {
		return err
	}
	return h.store.RecordPoolAlertEmail(ctx, e, sent, reason)
}

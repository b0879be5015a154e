package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The pool alert is the vendor's "Threshold exceeded for invitations": an organization's
// pool is low when the numbers its pending work needs (the pool_needs view) exceed its
// Available numbers, or when Available is under its pool_alert_threshold. Crossing from ok to
// low raises the alert, which starts an episode: its batch report recipients get one email
// each (pool_alert_emails), and no more until the level has recovered and crossed again.
// The state is a row per organization, changed under that row's lock, so any number of
// workers and api processes may check at once: one of them raises, the others find it
// raised.

// PoolLevel is an organization's pool as its alert sees it.
type PoolLevel struct {
	Needed    int `db:"needed" json:"needed"`
	Available int `db:"available" json:"available"` // counted as far as it decides the level (see Low)
	Threshold int `db:"threshold" json:"threshold"`
}

// Low reports whether the level raises the alert.
func (l PoolLevel) Low() bool { return l.Needed > l.Available || l.Available < l.Threshold }

// PoolAlertEmail is one email of a pool alert's episode.
type PoolAlertEmail struct {
	OrganizationID string `db:"organization_id"`
	Episode        int    `db:"episode"`
	Recipient      string `db:"recipient"`
}

// CheckPools checks the pool alert of each of orgIDs (with nil, of every organization that
// may be low or has an alert to clear or an email to send) and returns the emails of raised
// alerts still to be sent: those of an alert raised now and those whose sending was not
// recorded yet, for the caller to enqueue (their tasks' ids make a second enqueue harmless).
func (s *Store) CheckPools(ctx context.Context, orgIDs []string) ([]PoolAlertEmail, error) {
	if orgIDs == nil {
		const q = `SELECT id FROM organizations o WHERE o.pool_alert_threshold > 0
				OR EXISTS (SELECT 1 FROM batches b WHERE b.organization_id = o.id AND b.finished_at IS NULL)
				OR EXISTS (SELECT 1 FROM pool_alerts a WHERE a.organization_id = o.id AND a.raised)
				OR EXISTS (SELECT 1 FROM pool_alert_emails e WHERE e.organization_id = o.id AND e.state = 'pending')`
		orgIDs = []string{}
		if err := s.db.SelectContext(ctx, &orgIDs, q); err != nil {
			return nil, fmt.Errorf("organizations to check: %w", mapErr(err))
		}
	}
	orgIDs = slices.Clone(orgIDs)
	slices.Sort(orgIDs)
	var out []PoolAlertEmail
	for _, id := range slices.Compact(orgIDs) {
		var emails []PoolAlertEmail
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			emails, err = checkPool(ctx, tx, id)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("check pool of %s: %w", id, err)
		}
		out = append(out, emails...)
	}
	return out, nil
}

// checkPool checks one organization's pool alert in transaction tx.
func checkPool(ctx context.Context, tx *sqlx.Tx, orgID string) ([]PoolAlertEmail, error) {
	const qrow = `INSERT INTO pool_alerts (organization_id) SELECT id FROM organizations WHERE id = $1
		ON CONFLICT (organization_id) DO NOTHING`
	if _, err := tx.ExecContext(ctx, qrow, orgID); err != nil {
		return nil, mapErr(err)
	}
	var state struct {
		Raised  bool `db:"raised"`
		Episode int  `db:"episode"`
	}
	const qlock = `SELECT raised, episode FROM pool_alerts WHERE organization_id = $1 FOR UPDATE`
	if err := tx.GetContext(ctx, &state, qlock, orgID); err != nil {
		return nil, mapErr(err) // ErrNotFound: no such organization
	}
	// Read after the lock: a check that waited sees what the one before it saw, and more.
	level, err := poolLevel(ctx, tx, orgID)
	if err != nil {
		return nil, err
	}
	switch low := level.Low(); {
	case low && !state.Raised:
		// Guarded as well as locked: a raise happens once per crossing, whatever the locks.
		const qraise = `UPDATE pool_alerts SET raised = true, episode = episode + 1, raised_at = now(),
				available = $2, needed = $3, threshold = $4
			WHERE organization_id = $1 AND NOT raised`
		res, err := tx.ExecContext(ctx, qraise, orgID, level.Available, level.Needed, level.Threshold)
		if err != nil {
			return nil, mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			break
		}
		const qemails = `INSERT INTO pool_alert_emails (organization_id, episode, recipient)
			SELECT o.id, $2, r FROM organizations o, unnest(o.batch_report_recipients) AS r WHERE o.id = $1
			ON CONFLICT DO NOTHING`
		if _, err := tx.ExecContext(ctx, qemails, orgID, state.Episode+1); err != nil {
			return nil, mapErr(err)
		}
	case !low && state.Raised:
		const qclear = `UPDATE pool_alerts SET raised = false, cleared_at = now() WHERE organization_id = $1 AND raised`
		if _, err := tx.ExecContext(ctx, qclear, orgID); err != nil {
			return nil, mapErr(err)
		}
	}
	const qpending = `SELECT organization_id, episode, recipient FROM pool_alert_emails
		WHERE organization_id = $1 AND state = 'pending' ORDER BY episode, recipient`
	var emails []PoolAlertEmail
	if err := tx.SelectContext(ctx, &emails, qpending, orgID); err != nil {
		return nil, mapErr(err)
	}
	return emails, nil
}

// poolLevel reads organization orgID's pool level. Available is counted only up to what
// decides the level (the larger of the need and the threshold): an organization with
// 100,000 free numbers costs no more to check than one with ten.
func poolLevel(ctx context.Context, tx *sqlx.Tx, orgID string) (PoolLevel, error) {
	var l PoolLevel
	const qneed = `SELECT o.pool_alert_threshold AS threshold, coalesce(pn.needed, 0) AS needed
		FROM organizations o LEFT JOIN pool_needs pn ON pn.organization_id = o.id WHERE o.id = $1`
	if err := tx.GetContext(ctx, &l, qneed, orgID); err != nil {
		return l, mapErr(err)
	}
	const qavail = `SELECT count(*) FROM (SELECT 1 FROM numbers WHERE organization_id = $1 AND state = 'available' LIMIT $2) n`
	if err := tx.GetContext(ctx, &l.Available, qavail, orgID, max(l.Needed, l.Threshold)); err != nil {
		return l, mapErr(err)
	}
	return l, nil
}

// PoolAlert is what the email of a pool alert's episode says.
type PoolAlert struct {
	OrganizationID   string    `db:"organization_id"`
	OrganizationName string    `db:"organization_name"`
	Episode          int       `db:"episode"`
	RaisedAt         time.Time `db:"raised_at"`
	PoolLevel                  // the level that raised it
	State            string    `db:"state"` // of the email to the recipient asked for: pending, sent or failed
}

// PoolAlertEmailState returns the episode's alert and the state of its email to recipient;
// ErrNotFound when no such email was planned.
func (s *Store) PoolAlertEmailState(ctx context.Context, e PoolAlertEmail) (PoolAlert, error) {
	const q = `SELECT e.organization_id, o.name AS organization_name, e.episode, e.state,
			a.raised_at, a.available, a.needed, a.threshold
		FROM pool_alert_emails e
		JOIN organizations o ON o.id = e.organization_id
		JOIN pool_alerts a ON a.organization_id = e.organization_id
		WHERE e.organization_id = $1 AND e.episode = $2 AND e.recipient = $3`
	var a PoolAlert
	if err := s.db.GetContext(ctx, &a, q, e.OrganizationID, e.Episode, e.Recipient); err != nil {
		return PoolAlert{}, fmt.Errorf("pool alert email: %w", mapErr(err))
	}
	return a, nil
}

// RecordPoolAlertEmail records the outcome of a pending pool alert email: sent, or failed
// with the mail server's reason.
func (s *Store) RecordPoolAlertEmail(ctx context.Context, e PoolAlertEmail, sent bool, reason string) error {
	const q = `UPDATE pool_alert_emails SET state = CASE WHEN $4 THEN 'sent' ELSE 'failed' END,
			sent_at = CASE WHEN $4 THEN now() END, failure_reason = $5, attempts = attempts + 1
		WHERE organization_id = $1 AND episode = $2 AND recipient = $3 AND state = 'pending'`
	if _, err := s.db.ExecContext(ctx, q, e.OrganizationID, e.Episode, e.Recipient, sent, reason); err != nil {
		return fmt.Errorf("record pool alert email: %w", mapErr(err))
	}
	return nil
}

// BatchOrganizations returns the organizations of batchIDs, each once.
func (s *Store) BatchOrganizations(ctx context.Context, batchIDs []string) ([]string, error) {
	const q = `SELECT DISTINCT organization_id FROM batches WHERE id = ANY($1::uuid[])`
	out := []string{}
	if err := s.db.SelectContext(ctx, &out, q, pq.Array(batchIDs)); err != nil {
		return nil, fmt.Errorf("batch organizations: %w", mapErr(err))
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Batch statuses.
const (
	BatchQueued     = "queued"
	BatchProcessing = "processing"
	BatchCompleted  = "completed"
	BatchCanceled   = "canceled"
)

// Row outcomes.
const (
	RowPending   = "pending"
	RowSucceeded = "succeeded"
	RowFailed    = "failed"
	RowCanceled  = "canceled"
)

// Invitation outcomes of a row, as the report shows them.
const (
	InvitationSent    = "sent"
	InvitationNotSent = "not_sent"
	InvitationFailed  = "failed"
)

// Batch is one upload, with its progress counted from its rows.
type Batch struct {
	ID                string     `db:"id" json:"id"`
	OrganizationID    string     `db:"organization_id" json:"organization_id"`
	PermissionGroupID string     `db:"permission_group_id" json:"permission_group_id"`
	UploadedBy        string     `db:"uploaded_by" json:"uploaded_by"`
	Filename          string     `db:"filename" json:"filename"`
	Invite            bool       `db:"invite" json:"invite"`
	Delimiter         string     `db:"delimiter" json:"delimiter"`
	Status            string     `db:"status" json:"status"`
	Total             int        `db:"total" json:"total"`
	Processed         int        `db:"processed" json:"processed"`
	Succeeded         int        `db:"succeeded" json:"succeeded"`
	Failed            int        `db:"failed" json:"failed"`
	Canceled          int        `db:"canceled" json:"canceled"`
	CreatedAt         time.Time  `db:"created_at" json:"created_at"`
	StartedAt         *time.Time `db:"started_at" json:"started_at"`
	CancelRequestedAt *time.Time `db:"cancel_requested_at" json:"cancel_requested_at,omitempty"`
	FinishedAt        *time.Time `db:"finished_at" json:"finished_at"`
}

const batchColumns = `b.id, b.organization_id, b.permission_group_id, b.uploaded_by, b.filename, b.invite, b.delimiter,
	b.status, b.total, b.created_at, b.started_at, b.cancel_requested_at, b.finished_at,
	c.processed, c.succeeded, c.failed, c.canceled`

// batchCounts counts a batch's settled rows by outcome; it reads only the batch's rows
// through the primary key.
const batchCounts = `LEFT JOIN LATERAL (
		SELECT count(*) FILTER (WHERE r.status <> 'pending') AS processed,
			count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded,
			count(*) FILTER (WHERE r.status = 'failed') AS failed,
			count(*) FILTER (WHERE r.status = 'canceled') AS canceled
		FROM batch_rows r WHERE r.batch_id = b.id) c ON true`

// NewBatch is what CreateBatch stores.
type NewBatch struct {
	OrganizationID    string
	PermissionGroupID string
	AdminID           string
	UploadedBy        string
	Filename          string
	FileSHA256        []byte
	Invite            bool
	Delimiter         string // of the uploaded file: ",", ";" or a tab; "" means ","
}

// NewRow is one data row of an upload. A row with a non-empty FailReason failed validation
// and is stored already settled as failed; its reason is the Outcome.Reason of CodeInvalid
// with FailReason as the detail.
type NewRow struct {
	Line                            int
	RawIdentifier                   string
	Identifier                      string
	IdentifierKind                  string
	Firstname                       string
	Lastname                        string
	SocialMessaging                 bool
	MultilineNumber                 string
	MonitorCalls                    string
	MonitorSMS                      string
	ForwardingNumber                string
	RestrictIncomingSocialMessaging bool
	Language                        string
	FailReason                      string
}

// CreateBatch stores a batch and all its rows in one transaction and returns the batch and
// the lines left for the workers, which Feed hands to the queue. A batch whose every row
// failed validation is finished by its finalizer at once, with status completed.
func (s *Store) CreateBatch(ctx context.Context, nb NewBatch, rows []NewRow) (Batch, []int, error) {
	var id string
	var pending []int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Its pending rows wait for Feed to hand them to the queue (unqueued).
		const qb = `INSERT INTO batches (organization_id, permission_group_id, admin_id, uploaded_by,
				filename, file_sha256, invite, total, delimiter, unqueued)
			VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5, $6, $7, $8, COALESCE(NULLIF($9, ''), ','), $10) RETURNING id`
		valid := 0
		for _, r := range rows {
			if r.FailReason == "" {
				valid++
			}
		}
		if err := tx.GetContext(ctx, &id, qb, nb.OrganizationID, nb.PermissionGroupID, nb.AdminID,
			nb.UploadedBy, nb.Filename, nb.FileSHA256, nb.Invite, len(rows), nb.Delimiter, valid); err != nil {
			return fmt.Errorf("insert batch: %w", mapErr(err))
		}
		cols := struct {
			line, social, restrict                                       []int64
			raw, ident, kind, first, last, number, calls, sms, fwd, lang []string
			status, reason                                               []string
			socialB, restrictB                                           []bool
		}{}
		for _, r := range rows {
			cols.line = append(cols.line, int64(r.Line))
			cols.raw = append(cols.raw, r.RawIdentifier)
			cols.ident = append(cols.ident, r.Identifier)
			cols.kind = append(cols.kind, r.IdentifierKind)
			cols.first = append(cols.first, r.Firstname)
			cols.last = append(cols.last, r.Lastname)
			cols.socialB = append(cols.socialB, r.SocialMessaging)
			cols.number = append(cols.number, r.MultilineNumber)
			cols.calls = append(cols.calls, r.MonitorCalls)
			cols.sms = append(cols.sms, r.MonitorSMS)
			cols.fwd = append(cols.fwd, r.ForwardingNumber)
			cols.restrictB = append(cols.restrictB, r.RestrictIncomingSocialMessaging)
			lang := r.Language
			if lang == "" {
				lang = "en"
			}
			cols.lang = append(cols.lang, lang)
			if r.FailReason != "" {
				cols.status = append(cols.status, RowFailed)
				cols.reason = append(cols.reason, Outcome{Code: CodeInvalid, Detail: r.FailReason}.Reason())
			} else {
				cols.status = append(cols.status, RowPending)
				cols.reason = append(cols.reason, "")
				pending = append(pending, r.Line)
			}
		}
		// One statement for all rows: unnest keeps it a single round trip.
		const qr = `INSERT INTO batch_rows (batch_id, line, raw_identifier, identifier, identifier_kind,
				firstname, lastname, social_messaging, multiline_number, monitor_calls, monitor_sms,
				forwarding_number, restrict_incoming_social_messaging, language, status, reason, reason_code, settled_at)
			SELECT $1, u.line, u.raw, u.ident, u.kind, u.first, u.last, u.social, u.number, u.calls, u.sms,
				u.fwd, u.restrict, u.lang, u.status, u.reason,
				CASE WHEN u.status = 'pending' THEN '' ELSE 'invalid_value' END,
				CASE WHEN u.status = 'pending' THEN NULL ELSE now() END
			FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[],
				$9::text[], $10::text[], $11::text[], $12::text[], $13::bool[], $14::text[], $15::text[], $16::text[])
				AS u(line, raw, ident, kind, first, last, social, number, calls, sms, fwd, restrict, lang, status, reason)`
		if _, err := tx.ExecContext(ctx, qr, id, pq.Array(cols.line), pq.Array(cols.raw), pq.Array(cols.ident),
			pq.Array(cols.kind), pq.Array(cols.first), pq.Array(cols.last), pq.Array(cols.socialB),
			pq.Array(cols.number), pq.Array(cols.calls), pq.Array(cols.sms), pq.Array(cols.fwd),
			pq.Array(cols.restrictB), pq.Array(cols.lang), pq.Array(cols.status), pq.Array(cols.reason)); err != nil {
			return fmt.Errorf("insert batch rows: %w", mapErr(err))
		}
		return nil
	})
	if err != nil {
		return Batch{}, nil, err
	}
	b, err := s.Batch(ctx, id)
	return b, pending, err
}

// Batch returns one batch with its progress.
func (s *Store) Batch(ctx context.Context, id string) (Batch, error) {
	const q = `SELECT ` + batchColumns + ` FROM batches b ` + batchCounts + ` WHERE b.id = $1`
	var b Batch
	if err := s.db.GetContext(ctx, &b, q, id); err != nil {
		return Batch{}, fmt.Errorf("get batch: %w", mapErr(err))
	}
	return b, nil
}

// Batches lists organization orgID's batches, newest first.
func (s *Store) Batches(ctx context.Context, orgID string, limit int) ([]Batch, error) {
	const q = `SELECT ` + batchColumns + ` FROM batches b ` + batchCounts + `
		WHERE b.organization_id = $1 ORDER BY b.created_at DESC, b.id LIMIT $2`
	batches := []Batch{}
	if err := s.db.SelectContext(ctx, &batches, q, orgID, limit); err != nil {
		return nil, fmt.Errorf("list batches: %w", mapErr(err))
	}
	return batches, nil
}

// MarkEnqueued records that every pending row of batch id was handed to the queue.
func (s *Store) MarkEnqueued(ctx context.Context, id string) error {
	const q = `UPDATE batches SET enqueued_at = now() WHERE id = $1`
	if _, err := s.db.ExecContext(ctx, q, id); err != nil {
		return fmt.Errorf("mark enqueued: %w", mapErr(err))
	}
	return nil
}

// RequestCancel asks batch id to stop. It reports false when the batch already finished.
func (s *Store) RequestCancel(ctx context.Context, id string) (bool, error) {
	const q = `UPDATE batches SET cancel_requested_at = COALESCE(cancel_requested_at, now())
		WHERE id = $1 AND finished_at IS NULL`
	res, err := s.db.ExecContext(ctx, q, id)
	if err != nil {
		return false, fmt.Errorf("request cancel: %w", mapErr(err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// BatchReport returns the stored Batch Operations Report of batch id; ErrNotFound until the
// batch has finished.
func (s *Store) BatchReport(ctx context.Context, id string) ([]byte, error) {
	const q = `SELECT csv FROM batch_reports WHERE batch_id = $1`
	var csv []byte
	if err := s.db.GetContext(ctx, &csv, q, id); err != nil {
		return nil, fmt.Errorf("get report: %w", mapErr(err))
	}
	return csv, nil
}

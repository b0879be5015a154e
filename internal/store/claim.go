package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// What ClaimRows found or did for a row.
const (
	ClaimSettled = "settled" // the row had settled already: nothing to do
	ClaimGone    = "gone"    // the row no longer exists
	ClaimBusy    = "busy"    // another worker is sending its invitation; see ClaimResult.BusyUntil
	ClaimDone    = "done"    // settled now (Import, a failure, a cancel); see ClaimResult.Outcome
	ClaimInvite  = "invite"  // the account exists and its invitation is to be sent now
)

// RowClaim asks ClaimRows to bring the row of one row task as far as the database can take
// it: settled, or at its invitation.
type RowClaim struct {
	BatchID string
	Line    int
	// ExpiresAt is the expiry of an invitation created now.
	ExpiresAt time.Time
	// Holder names the worker process claiming. The invitation is leased to it until
	// LeaseUntil: another process's claim of the row meanwhile gets ClaimBusy, while the
	// holder's own retries go on at once (a process keeps two deliveries of one task apart
	// itself).
	Holder     string
	LeaseUntil time.Time
}

// ClaimResult is what ClaimRows did with one claim's row.
type ClaimResult struct {
	Claim     string    // one of the Claim constants
	Outcome   Outcome   // for ClaimDone: how the row settled
	BusyUntil time.Time // for ClaimBusy: when the other worker's lease ends
	Reserved  bool      // a number was reserved for the row now
	// Invitation is, for ClaimInvite, what its email needs.
	Invitation InvitationSend
}

// claimRow is a row as ClaimRows reads it, with its account and live invitation if any.
type claimRow struct {
	BatchID          string         `db:"batch_id"`
	Line             int            `db:"line"`
	Status           string         `db:"status"`
	AccountID        *string        `db:"account_id"`
	InvitationID     *string        `db:"invitation_id"`
	InvitationState  *string        `db:"invitation_state"`
	LeaseHolder      *string        `db:"lease_holder"`
	LeaseUntil       *time.Time     `db:"lease_until"`
	Leased           bool           `db:"leased"`
	ExpiresAt        *time.Time     `db:"expires_at"`
	Number           string         `db:"number"`
	Cancel           bool           `db:"cancel"`
	Invite           bool           `db:"invite"`
	BatchStatus      string         `db:"batch_status"`
	OrganizationID   string         `db:"organization_id"`
	OrganizationName string         `db:"organization_name"`
	AllowedDomains   pq.StringArray `db:"allowed_email_domains"`
	SMTPDataOffload  bool           `db:"smtp_data_offload"`
	Identifier       string         `db:"identifier"`
	IdentifierKind   string         `db:"identifier_kind"`
	Firstname        string         `db:"firstname"`
	Lastname         string         `db:"lastname"`
	MultilineNumber  string         `db:"multiline_number"`
	Language         string         `db:"language"`

	claim int // index of the claim the row belongs to
}

// ClaimRows does the database work of many row tasks in one transaction, with a fixed number
// of set-based statements whatever the number of rows: it creates the accounts, reserves
// named or free numbers, creates and leases invitations, and settles what can be settled.
// Each claim is its own row's and nobody else's, and keeps its own outcome: a row that
// cannot have what it asks for fails alone. hash gives the stored hash of an invitation's
// token from its id. It returns one result per claim, and the ids of batches that have no
// pending row left after the commit.
//
// A statement that fails fails the call: the caller splits the group to find the row at
// fault (see jobs.batcher).
func (s *Store) ClaimRows(ctx context.Context, claims []RowClaim, hash func(invitationID string) []byte) ([]ClaimResult, []string, error) {
	c := &claim{claims: claims, hash: hash, results: make([]ClaimResult, len(claims))}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		c.tx = ptx{tx: tx, s: s}
		return c.run(ctx)
	})
	if err != nil {
		return nil, nil, err
	}
	settled, err := s.SettledBatches(ctx, c.batches)
	return c.results, settled, err
}

// claim is one ClaimRows transaction.
type claim struct {
	tx      ptx
	claims  []RowClaim
	hash    func(string) []byte
	results []ClaimResult
	batches []string // batches whose rows this claim read
	queued  []string // batches still queued: they start now
	settle  []Outcome
	lease   leases
}

// Locking is a statement of its own, before qloadRows: a statement that waits for a row lock
// goes on with the snapshot it started with, and would miss the account that the transaction
// it waited for created. Rows are locked in key order, so flushes never deadlock.
const qlockRows = `SELECT r.line FROM unnest($1::uuid[], $2::int[]) AS k(batch_id, line)
	JOIN batch_rows r ON r.batch_id = k.batch_id AND r.line = k.line
	ORDER BY r.batch_id, r.line FOR UPDATE OF r`

// A pending row is not written until it settles: the account an earlier attempt created is
// found by its batch_id and batch_line, its invitation by the account.
const qloadRows = `SELECT r.batch_id, r.line, r.status, a.id AS account_id,
		i.id AS invitation_id, i.state AS invitation_state, i.lease_holder, i.lease_until,
		COALESCE(i.lease_until > now(), false) AS leased, i.expires_at, COALESCE(n.e164, '') AS number,
		b.cancel_requested_at IS NOT NULL AS cancel, b.invite, b.status AS batch_status,
		b.organization_id, o.name AS organization_name, o.allowed_email_domains, o.smtp_data_offload, r.identifier, r.identifier_kind,
		r.firstname, r.lastname, r.multiline_number, r.language
	FROM unnest($1::uuid[], $2::int[]) AS k(batch_id, line)
	JOIN batch_rows r ON r.batch_id = k.batch_id AND r.line = k.line
	JOIN batches b ON b.id = r.batch_id
	JOIN organizations o ON o.id = b.organization_id
	LEFT JOIN accounts a ON a.batch_id = r.batch_id AND a.batch_line = r.line
	LEFT JOIN numbers n ON n.account_id = a.id
	LEFT JOIN invitations i ON i.account_id = a.id AND i.state IN ('pending', 'sent')`

func (c *claim) run(ctx context.Context) error {
	rows, err := c.load(ctx)
	if err != nil {
		return err
	}
	var create []claimRow
	for _, r := range rows {
		if c.decide(r) {
			create = append(create, r)
		}
	}
	if len(create) > 0 {
		if err := c.create(ctx, create); err != nil {
			return err
		}
	}
	if err := c.lease.exec(ctx, c.tx); err != nil {
		return err
	}
	if len(c.settle) > 0 {
		if _, err := c.tx.ExecContext(ctx, qsettle, settleArgs(c.settle)...); err != nil {
			return fmt.Errorf("settle rows: %w", mapErr(err))
		}
	}
	if len(c.queued) > 0 {
		// SKIP LOCKED: another flush holding the batch is starting it too; never wait for it.
		const q = `UPDATE batches SET status = 'processing', started_at = now()
			WHERE id IN (SELECT id FROM batches WHERE id = ANY($1::uuid[]) AND status = 'queued'
				ORDER BY id FOR NO KEY UPDATE SKIP LOCKED)`
		if _, err := c.tx.ExecContext(ctx, q, pq.Array(c.queued)); err != nil {
			return fmt.Errorf("start batches: %w", mapErr(err))
		}
	}
	return nil
}

// load locks and reads the claims' rows. A key claimed twice in one call (two deliveries of
// one task) is worked on by its first claim; the others find it busy.
func (c *claim) load(ctx context.Context) ([]claimRow, error) {
	first := make(map[RowKey]int, len(c.claims))
	var keys []RowKey
	for i, cl := range c.claims {
		k := RowKey{cl.BatchID, cl.Line}
		c.results[i] = ClaimResult{Claim: ClaimGone}
		if _, dup := first[k]; dup {
			c.results[i] = ClaimResult{Claim: ClaimBusy, BusyUntil: cl.LeaseUntil}
			continue
		}
		first[k] = i
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	batchIDs, lines := make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		batchIDs[i], lines[i] = k.BatchID, int64(k.Line)
	}
	var locked []int
	if err := c.tx.SelectContext(ctx, &locked, qlockRows, pq.Array(batchIDs), pq.Array(lines)); err != nil {
		return nil, fmt.Errorf("lock rows: %w", mapErr(err))
	}
	var rows []claimRow
	if err := c.tx.SelectContext(ctx, &rows, qloadRows, pq.Array(batchIDs), pq.Array(lines)); err != nil {
		return nil, fmt.Errorf("load rows: %w", mapErr(err))
	}
	for i := range rows {
		r := &rows[i]
		r.claim = first[RowKey{r.BatchID, r.Line}]
		if !slices.Contains(c.batches, r.BatchID) {
			c.batches = append(c.batches, r.BatchID)
		}
		if r.BatchStatus == BatchQueued && !slices.Contains(c.queued, r.BatchID) {
			c.queued = append(c.queued, r.BatchID)
		}
	}
	return rows, nil
}

// decide sets what happens to a row that needs no new account, and reports whether it
// needs one.
func (c *claim) decide(r claimRow) bool {
	cl, res := c.claims[r.claim], &c.results[r.claim]
	switch {
	case r.Status != RowPending:
		res.Claim = ClaimSettled
	case r.AccountID == nil && r.Cancel:
		c.done(r.claim, Outcome{BatchID: r.BatchID, Line: r.Line, Status: RowCanceled, Code: CodeCanceled})
	case r.AccountID == nil && !DomainAllowed(r.AllowedDomains, r.Identifier, r.IdentifierKind):
		// The organization's allowed email domains as they are now, when the account would
		// come into it: a change of the settings after the upload applies to rows not yet run.
		c.done(r.claim, Outcome{BatchID: r.BatchID, Line: r.Line, Status: RowFailed, Code: CodeDomainNotAllowed,
			Detail: DomainNotAllowed(r.Identifier, r.AllowedDomains, "this organization")})
	case r.AccountID == nil && r.SMTPDataOffload && r.IdentifierKind != "email":
		// The upload refuses device rows of such an organization; this is a row uploaded
		// before the organization turned SMTP data offload on.
		c.done(r.claim, Outcome{BatchID: r.BatchID, Line: r.Line, Status: RowFailed, Code: CodeEmailRequired})
	case r.AccountID == nil:
		return true
	case r.InvitationState != nil && *r.InvitationState == "pending":
		if r.Leased && r.LeaseHolder != nil && *r.LeaseHolder != cl.Holder {
			*res = ClaimResult{Claim: ClaimBusy, BusyUntil: *r.LeaseUntil}
			return false
		}
		// An earlier attempt created the invitation: this one sends it again, with the same
		// link (its token derives from the invitation's id).
		c.lease.add(*r.InvitationID, cl.Holder, cl.LeaseUntil)
		*res = ClaimResult{Claim: ClaimInvite, Invitation: r.invitation(*r.AccountID, *r.InvitationID, r.Number, *r.ExpiresAt)}
	default:
		// The account exists and nothing is left to send: an Import row whose settle was lost,
		// or an invitation that went out and whose row was not settled with it.
		o := Outcome{BatchID: r.BatchID, Line: r.Line, Status: RowSucceeded, Code: CodeNone,
			AccountID: *r.AccountID, Number: r.Number, Invitation: InvitationNotSent}
		if r.InvitationState != nil && *r.InvitationState == "sent" {
			o.InvitationID, o.Invitation = *r.InvitationID, InvitationSent
		}
		c.done(r.claim, o)
	}
	return false
}

// done settles a claim's row now with o.
func (c *claim) done(i int, o Outcome) {
	c.settle = append(c.settle, o)
	c.results[i] = ClaimResult{Claim: ClaimDone, Outcome: o, Reserved: c.results[i].Reserved}
}

func (r claimRow) invitation(accountID, invitationID, number string, expires time.Time) InvitationSend {
	return InvitationSend{InvitationID: invitationID, AccountID: accountID, Identifier: r.Identifier,
		IdentifierKind: r.IdentifierKind, Firstname: r.Firstname, Lastname: r.Lastname, Language: r.Language,
		OrganizationID: r.OrganizationID, OrganizationName: r.OrganizationName, Number: number, ExpiresAt: expires}
}

// leases collects the pending invitations a claim leases to their claimant again.
type leases struct {
	ids, holders []string
	until        []time.Time
}

func (l *leases) add(id, holder string, until time.Time) {
	l.ids, l.holders, l.until = append(l.ids, id), append(l.holders, holder), append(l.until, until)
}

func (l *leases) exec(ctx context.Context, tx ptx) error {
	if len(l.ids) == 0 {
		return nil
	}
	const q = `UPDATE invitations i SET lease_holder = u.holder, lease_until = u.until
		FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u(id, holder, until)
		WHERE i.id = u.id`
	if _, err := tx.ExecContext(ctx, q, pq.Array(l.ids), pq.Array(l.holders), pq.Array(l.until)); err != nil {
		return fmt.Errorf("lease invitations: %w", mapErr(err))
	}
	return nil
}

func compareKeys(a, b RowKey) int {
	if c := strings.Compare(a.BatchID, b.BatchID); c != 0 {
		return c
	}
	return a.Line - b.Line
}

// newInvitationID returns the id of an invitation about to be created: made here, not by the
// database, so that its token hash can be derived before the insert.
func newInvitationID() string { return uuid.NewString() }

package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Outcomes of ClaimRows for one row.
const (
	ClaimSettled = "settled" // the row had already settled: nothing to do
	ClaimGone    = "gone"    // the row no longer exists
	ClaimOwned   = "owned"   // another row's task has taken this row on (see RowClaim.Sweep)
	ClaimDone    = "done"    // settled now: succeeded (Import), failed or canceled; see Status
	ClaimInvite  = "invite"  // the account exists and its invitation is to be sent now
)

// RowClaim asks ClaimRows to settle a row or bring it to its invitation.
//
// A task may also take on other rows of its batch, so that the work of many rows shares one
// transaction, one statement per step and one SMTP connection while every row keeps its own
// outcome. The rows it takes on are fresh ones (no task has claimed them) that come after
// its own in the batch, the last ones first, so that the tasks queued right behind it still
// find rows of their own and work alongside it. Their accounts name the task's line as their owner, and their own tasks, when they run,
// find them owned and leave them alone. The owner sends their invitations, and its retries
// (Resume) take them up again until they settle; the reconciler hands the rows of an owner
// whose task is gone back to their own tasks.
type RowClaim struct {
	BatchID   string
	Line      int
	ExpiresAt time.Time // of the invitations created or renewed for this task's rows
	Sweep     int       // how many fresh rows of the batch this task may take on besides its own
	Resume    bool      // also claim the unsettled rows this task took on in earlier attempts
}

// ClaimResult is what ClaimRows did with one row.
type ClaimResult struct {
	BatchID     string
	Line        int
	Outcome     string
	Status      string // for ClaimDone: succeeded, failed or canceled
	Reason      string
	ReasonClass string // a few values fit for a metric label
	Reserved    bool   // a number was reserved for the row now
	Owner       int    // for ClaimOwned: the line whose task has the row
	// For ClaimInvite: what the invitation email needs. Token is the plain token whose hash
	// the invitation now holds; it lives only in this result.
	Token            string
	AccountID        string
	InvitationID     string
	Identifier       string
	IdentifierKind   string
	Firstname        string
	Lastname         string
	Language         string
	OrganizationID   string
	OrganizationName string
	Number           string
	// Taken lists, on a task's own row, the other rows the task took on now or resumed,
	// each with its own outcome.
	Taken []ClaimResult
}

type claimRow struct {
	BatchID          string  `db:"batch_id"`
	Line             int     `db:"line"`
	Status           string  `db:"status"`
	TookOn           bool    `db:"took_on"`
	AccountID        *string `db:"account_id"`
	Owner            *int    `db:"batch_owner"`
	InvitationID     *string `db:"invitation_id"`
	InvitationState  *string `db:"invitation_state"`
	Number           string  `db:"number"`
	Cancel           bool    `db:"cancel"`
	Invite           bool    `db:"invite"`
	BatchStatus      string  `db:"batch_status"`
	OrganizationID   string  `db:"organization_id"`
	OrganizationName string  `db:"organization_name"`
	Identifier       string  `db:"identifier"`
	IdentifierKind   string  `db:"identifier_kind"`
	Firstname        string  `db:"firstname"`
	Lastname         string  `db:"lastname"`
	MultilineNumber  string  `db:"multiline_number"`
	Language         string  `db:"language"`

	claimant int // index of the claim whose task handles the row
}

// maxSweepPerClaim bounds the rows one ClaimRows call takes on besides its claims' own.
const maxSweepPerClaim = 1000

// ClaimRows does the database work of many row tasks in one transaction with a fixed number of
// statements, whatever the number of rows: it creates the accounts, reserves named or free
// numbers, creates invitations and settles what can be settled. Each row keeps its own
// outcome: one row's failure never fails another. mint makes an invitation token and its
// hash. It returns the ids of batches that have no pending row left after the commit.
//
// Claims' own rows are locked in (batch, line) order, rows taken on and numbers with SKIP
// LOCKED, and every guard of the per-row design holds: a settled row is never touched again,
// a failed row leaves no account and no reservation behind, a number goes to one account.
func (s *Store) ClaimRows(ctx context.Context, claims []RowClaim, mint func() (string, []byte)) ([]ClaimResult, []string, error) {
	var results []ClaimResult
	var touched []string
	err := s.inKeyedTx(ctx, func(tx *sqlx.Tx) error {
		c := &claim{tx: ptx{tx: tx, s: s}, claims: claims, mint: mint, results: map[RowKey]*ClaimResult{}, owned: map[RowKey]int{}}
		if err := c.run(ctx); err != nil {
			return err
		}
		results, touched = c.collect(), c.touched
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	settled, err := s.SettledBatches(ctx, touched)
	return results, settled, err
}

// claim is one ClaimRows transaction.
type claim struct {
	tx      ptx
	claims  []RowClaim
	mint    func() (string, []byte)
	touched []string

	own     map[RowKey]int // claim of each own row
	owned   map[RowKey]int // own rows another task has taken on: the owner's line
	rows    []claimRow     // own rows first, then rows taken on
	results map[RowKey]*ClaimResult
	create  []claimRow // rows that get an account now
	settle  settlement
	rotate  rotation
	queued  []string
}

// A pending row is not written until it settles: an account this row created earlier is
// found by the account's batch_id and batch_line. Each key is looked up on its own (LATERAL
// ... OFFSET 0 keeps the planner from flattening it): statistics rarely know how many rows a
// batch has, and a join on batch_id alone would walk every row of the batch for each key.
// Keys come sorted, so rows are locked in (batch, line) order.
const qloadRows = `SELECT r.batch_id, r.line, r.status, a.id AS account_id, a.batch_owner,
		EXISTS (SELECT 1 FROM batch_row_takers t WHERE t.batch_id = r.batch_id AND t.line = r.line) AS took_on,
		i.id AS invitation_id, COALESCE(n.e164, '') AS number, i.state AS invitation_state,
		b.cancel_requested_at IS NOT NULL AS cancel, b.invite,
		b.status AS batch_status, b.organization_id, o.name AS organization_name, r.identifier,
		r.identifier_kind, r.firstname, r.lastname, r.multiline_number, r.language
	FROM unnest($1::uuid[], $2::int[]) AS k(batch_id, line)
	CROSS JOIN LATERAL (SELECT * FROM batch_rows
		WHERE batch_id = k.batch_id AND line = k.line OFFSET 0) r
	JOIN batches b ON b.id = r.batch_id
	JOIN organizations o ON o.id = b.organization_id
	LEFT JOIN LATERAL (SELECT id, batch_owner FROM accounts
		WHERE batch_id = r.batch_id AND batch_line = r.line OFFSET 0) a ON true
	LEFT JOIN numbers n ON n.account_id = a.id
	LEFT JOIN LATERAL (SELECT id, state FROM invitations
		WHERE account_id = a.id AND state = 'pending' OFFSET 0) i ON true`

// Locking is a statement of its own, before qloadRows: a statement that waits for a row lock
// goes on with the snapshot it started with, and would miss the account that the transaction
// it waited for created.
const qlockRows = `SELECT r.line FROM unnest($1::uuid[], $2::int[]) AS k(batch_id, line)
	CROSS JOIN LATERAL (SELECT line FROM batch_rows
		WHERE batch_id = k.batch_id AND line = k.line OFFSET 0 FOR UPDATE) r`

// load reads the rows of keys (sorted here), each handled by claimant[key], locking them
// first unless the transaction holds their locks already.
func (c *claim) load(ctx context.Context, keys []RowKey, claimant map[RowKey]int, lock bool) ([]claimRow, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	slices.SortFunc(keys, compareKeys)
	batchIDs, lines := make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		batchIDs[i], lines[i] = k.BatchID, int64(k.Line)
	}
	if lock {
		var locked []int
		if err := c.tx.SelectContext(ctx, &locked, qlockRows, pq.Array(batchIDs), pq.Array(lines)); err != nil {
			return nil, fmt.Errorf("lock rows: %w", mapErr(err))
		}
	}
	var rows []claimRow
	if err := c.tx.SelectContext(ctx, &rows, qloadRows, pq.Array(batchIDs), pq.Array(lines)); err != nil {
		return nil, fmt.Errorf("load rows: %w", mapErr(err))
	}
	for i := range rows {
		rows[i].claimant = claimant[RowKey{rows[i].BatchID, rows[i].Line}]
		if !slices.Contains(c.touched, rows[i].BatchID) {
			c.touched = append(c.touched, rows[i].BatchID)
		}
		if rows[i].BatchStatus == BatchQueued && !slices.Contains(c.queued, rows[i].BatchID) {
			c.queued = append(c.queued, rows[i].BatchID)
		}
	}
	return rows, nil
}

func (c *claim) run(ctx context.Context) error {
	c.own = make(map[RowKey]int, len(c.claims))
	keys := make([]RowKey, 0, len(c.claims))
	for i, cl := range c.claims {
		k := RowKey{cl.BatchID, cl.Line}
		if _, dup := c.own[k]; dup {
			continue // the same task twice: the first claim does the work (see collect)
		}
		c.own[k] = i
		keys = append(keys, k)
		c.results[k] = &ClaimResult{BatchID: cl.BatchID, Line: cl.Line, Outcome: ClaimGone}
	}
	rows, err := c.load(ctx, keys, c.own, true)
	if err != nil {
		return err
	}
	resume := map[int]bool{}
	for i, cl := range c.claims {
		resume[i] = cl.Resume
	}
	for _, r := range rows {
		c.ownRow(r)
		// An earlier run of this task took rows on: they may not all have settled (the
		// worker stopped before it recorded them).
		if r.TookOn {
			resume[r.claimant] = true
		}
	}
	if err := c.resume(ctx, resume); err != nil {
		return err
	}
	if err := c.sweep(ctx, rows); err != nil {
		return err
	}
	if len(c.create) > 0 {
		if err := c.createAccounts(ctx); err != nil {
			return err
		}
	}
	if err := c.rotate.exec(ctx, c.tx); err != nil {
		return err
	}
	if err := c.settle.exec(ctx, c.tx); err != nil {
		return err
	}
	if len(c.queued) > 0 {
		// SKIP LOCKED: never wait here (another flush holding the batch is starting it too),
		// so that the only batches lock a flush waits for is the pending counter's, taken in
		// id order.
		const q = `UPDATE batches SET status = 'processing', started_at = now()
			WHERE id IN (SELECT id FROM batches WHERE id = ANY($1::uuid[]) AND status = 'queued'
				ORDER BY id FOR NO KEY UPDATE SKIP LOCKED)`
		if _, err := c.tx.ExecContext(ctx, q, pq.Array(c.queued)); err != nil {
			return fmt.Errorf("start batches: %w", mapErr(err))
		}
	}
	return nil
}

// ownRow decides what a claim does with its own row.
func (c *claim) ownRow(r claimRow) {
	k := RowKey{r.BatchID, r.Line}
	res := c.results[k]
	switch {
	case r.Status != RowPending:
		res.Outcome = ClaimSettled
	case r.AccountID != nil && r.Owner != nil && *r.Owner != r.Line:
		res.Outcome, res.Owner = ClaimOwned, *r.Owner
		c.owned[k] = *r.Owner
	case r.AccountID != nil:
		c.resumeRow(r, res)
	case r.Cancel:
		c.settle.add(r.BatchID, r.Line, RowCanceled, canceledReason)
		*res = ClaimResult{BatchID: r.BatchID, Line: r.Line, Outcome: ClaimDone, Status: RowCanceled,
			Reason: canceledReason, ReasonClass: "canceled"}
	default:
		c.create = append(c.create, r)
	}
	c.rows = append(c.rows, r)
}

// resumeRow picks up a pending row whose account an earlier attempt created.
func (c *claim) resumeRow(r claimRow, res *ClaimResult) {
	if r.InvitationID != nil && r.InvitationState != nil && *r.InvitationState == "pending" {
		// Resume at the invitation, with a new token: the earlier one lived only in the
		// earlier attempt's memory.
		tok, hash := c.mint()
		c.rotate.add(*r.InvitationID, hash, c.claims[r.claimant].ExpiresAt)
		*res = inviteResult(r, *r.AccountID, *r.InvitationID, r.Number)
		res.Token = tok
		return
	}
	// Cannot happen through ClaimRows (an Import row settles with its account); settle it
	// rather than leave the batch waiting.
	c.settle.add(r.BatchID, r.Line, RowSucceeded, "")
	*res = ClaimResult{BatchID: r.BatchID, Line: r.Line, Outcome: ClaimDone, Status: RowSucceeded, ReasonClass: "none"}
}

// resume claims again the unsettled rows that the claims in want took on in earlier attempts.
func (c *claim) resume(ctx context.Context, want map[int]bool) error {
	var batchIDs []string
	var owners []int64
	for k, i := range c.own {
		if want[i] && c.results[k].Outcome != ClaimGone {
			batchIDs, owners = append(batchIDs, k.BatchID), append(owners, int64(k.Line))
		}
	}
	if len(batchIDs) == 0 {
		return nil
	}
	// Retries only: this walks the accounts of each batch.
	const q = `SELECT a.batch_id, a.batch_line, a.batch_owner FROM unnest($1::uuid[], $2::int[]) AS k(batch_id, owner)
		CROSS JOIN LATERAL (SELECT batch_id, batch_line, batch_owner FROM accounts
			WHERE batch_id = k.batch_id AND batch_owner = k.owner AND batch_line <> k.owner OFFSET 0) a`
	var found []struct {
		BatchID string `db:"batch_id"`
		Line    int    `db:"batch_line"`
		Owner   int    `db:"batch_owner"`
	}
	if err := c.tx.SelectContext(ctx, &found, q, pq.Array(batchIDs), pq.Array(owners)); err != nil {
		return fmt.Errorf("find rows taken on: %w", mapErr(err))
	}
	claimant := map[RowKey]int{}
	var keys []RowKey
	for _, f := range found {
		k := RowKey{f.BatchID, f.Line}
		if res, own := c.results[k]; own && (res.Outcome != ClaimOwned || res.Owner != f.Owner) {
			continue // one of this call's own rows, not this owner's: its own claim decides
		}
		// Either not a row of this call, or its own task is in this call too and leaves it
		// to this owner, which resumes it here.
		if _, dup := claimant[k]; dup {
			continue
		}
		claimant[k] = c.own[RowKey{f.BatchID, f.Owner}]
		keys = append(keys, k)
	}
	rows, err := c.load(ctx, keys, claimant, true)
	if err != nil {
		return err
	}
	for _, r := range rows {
		owner := c.claims[r.claimant].Line
		if r.Status != RowPending || r.AccountID == nil || r.Owner == nil || *r.Owner != owner {
			continue // settled, or handed back by the reconciler meanwhile
		}
		res := &ClaimResult{BatchID: r.BatchID, Line: r.Line}
		c.resumeRow(r, res)
		c.results[RowKey{r.BatchID, r.Line}] = res
		c.rows = append(c.rows, r)
	}
	return nil
}

// sweep takes on fresh rows for the claims whose own row gets an account now: rows of the
// same batch after the claims' own, that no task has claimed yet, from the end of the batch
// backwards. They are locked with SKIP LOCKED, so a row another transaction holds is left to
// it, and this never waits.
func (c *claim) sweep(ctx context.Context, own []claimRow) error {
	type want struct {
		after, n int
		takers   []int // claim indexes, in line order
	}
	wants := map[string]*want{}
	var order []string
	for _, r := range own {
		w := wants[r.BatchID]
		if w == nil {
			w = &want{}
			wants[r.BatchID] = w
			order = append(order, r.BatchID)
		}
		w.after = max(w.after, r.Line)
	}
	total := 0
	for _, r := range c.create {
		if n := c.claims[r.claimant].Sweep; n > 0 && !r.Cancel && total < maxSweepPerClaim {
			w := wants[r.BatchID]
			n = min(n, maxSweepPerClaim-total)
			w.n += n
			total += n
			w.takers = append(w.takers, r.claimant)
		}
	}
	var batchIDs []string
	var after, limits []int64
	for _, id := range order {
		if w := wants[id]; w.n > 0 {
			batchIDs = append(batchIDs, id)
			after, limits = append(after, int64(w.after)), append(limits, int64(w.n))
		}
	}
	if len(batchIDs) == 0 {
		return nil
	}
	// Fresh rows come from the index of pending rows, read backwards; a row with an account is
	// some task's already and is passed over. OFFSET 0 keeps NOT EXISTS a lookup per row: as
	// an anti join the planner would walk the batch's accounts for each row.
	const q = `SELECT k.batch_id, r.line
		FROM unnest($1::uuid[], $2::int[], $3::int[]) AS k(batch_id, after, n)
		CROSS JOIN LATERAL (SELECT line FROM batch_rows br
			WHERE br.batch_id = k.batch_id AND br.status = 'pending' AND br.line > k.after
				AND NOT EXISTS (SELECT 1 FROM accounts a
					WHERE a.batch_id = br.batch_id AND a.batch_line = br.line OFFSET 0)
			ORDER BY br.line DESC LIMIT k.n
			FOR UPDATE SKIP LOCKED) r`
	var picked []struct {
		BatchID string `db:"batch_id"`
		Line    int    `db:"line"`
	}
	if err := c.tx.SelectContext(ctx, &picked, q, pq.Array(batchIDs), pq.Array(after), pq.Array(limits)); err != nil {
		return fmt.Errorf("take on rows: %w", mapErr(err))
	}
	// Each taker gets its Sweep rows in turn, in the order picked.
	claimant := make(map[RowKey]int, len(picked))
	keys := make([]RowKey, 0, len(picked))
	next := map[string]int{} // batch -> position in takers
	left := map[int]int{}    // claim -> rows it may still take
	for _, w := range wants {
		for _, t := range w.takers {
			left[t] = c.claims[t].Sweep
		}
	}
	for _, p := range picked {
		w := wants[p.BatchID]
		for next[p.BatchID] < len(w.takers) && left[w.takers[next[p.BatchID]]] == 0 {
			next[p.BatchID]++
		}
		if next[p.BatchID] == len(w.takers) {
			break
		}
		t := w.takers[next[p.BatchID]]
		left[t]--
		k := RowKey{p.BatchID, p.Line}
		claimant[k] = t
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		var takers []RowKey
		for _, w := range wants {
			for _, t := range w.takers {
				if cl := c.claims[t]; left[t] < cl.Sweep {
					takers = append(takers, RowKey{cl.BatchID, cl.Line})
				}
			}
		}
		if err := c.markTookOn(ctx, takers); err != nil {
			return err
		}
	}
	// The pick locked them; loading them is a new snapshot, which sees an account that a
	// transaction committed while the pick ran.
	rows, err := c.load(ctx, keys, claimant, false)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.Status != RowPending || r.AccountID != nil || r.Cancel {
			continue // another task claimed it while the pick ran
		}
		c.results[RowKey{r.BatchID, r.Line}] = &ClaimResult{BatchID: r.BatchID, Line: r.Line, Outcome: ClaimGone}
		c.create = append(c.create, r)
		c.rows = append(c.rows, r)
	}
	return nil
}

// markTookOn marks the rows of keys as having taken other rows on.
func (c *claim) markTookOn(ctx context.Context, keys []RowKey) error {
	batchIDs, lines := make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		batchIDs[i], lines[i] = k.BatchID, int64(k.Line)
	}
	const q = `INSERT INTO batch_row_takers (batch_id, line)
		SELECT * FROM unnest($1::uuid[], $2::int[]) ON CONFLICT DO NOTHING`
	if _, err := c.tx.ExecContext(ctx, q, pq.Array(batchIDs), pq.Array(lines)); err != nil {
		return fmt.Errorf("mark rows that took others on: %w", mapErr(err))
	}
	return nil
}

// collect returns each claim's result, with the rows it took on in Taken.
func (c *claim) collect() []ClaimResult {
	out := make([]ClaimResult, len(c.claims))
	for i, cl := range c.claims {
		k := RowKey{cl.BatchID, cl.Line}
		if c.own[k] != i {
			out[i] = ClaimResult{BatchID: cl.BatchID, Line: cl.Line, Outcome: ClaimOwned, Owner: cl.Line}
			continue
		}
		if owner, ok := c.owned[k]; ok {
			// Its owner may have resumed it in this same call: that result is the owner's.
			out[i] = ClaimResult{BatchID: cl.BatchID, Line: cl.Line, Outcome: ClaimOwned, Owner: owner}
			continue
		}
		out[i] = *c.results[k]
	}
	for _, r := range c.rows {
		cl := c.claims[r.claimant]
		if r.BatchID == cl.BatchID && r.Line == cl.Line {
			continue
		}
		out[r.claimant].Taken = append(out[r.claimant].Taken, *c.results[RowKey{r.BatchID, r.Line}])
	}
	return out
}

func compareKeys(a, b RowKey) int {
	if c := strings.Compare(a.BatchID, b.BatchID); c != 0 {
		return c
	}
	return a.Line - b.Line
}

func inviteResult(r claimRow, accountID, invitationID, number string) ClaimResult {
	return ClaimResult{BatchID: r.BatchID, Line: r.Line, Outcome: ClaimInvite, AccountID: accountID, InvitationID: invitationID,
		Identifier: r.Identifier, IdentifierKind: r.IdentifierKind, Firstname: r.Firstname, Lastname: r.Lastname,
		Language: r.Language, OrganizationID: r.OrganizationID, OrganizationName: r.OrganizationName, Number: number}
}

// createAccounts inserts the accounts of c.create, reserves their numbers and creates their
// invitations, failing (and undoing) the rows that cannot have what they ask for. Each
// account names the line of the task that handles its row as its owner.
func (c *claim) createAccounts(ctx context.Context) error {
	tx, rows, settle := c.tx, c.create, &c.settle
	batchIDs, lines, owners := make([]string, len(rows)), make([]int64, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		batchIDs[i], lines[i], owners[i] = r.BatchID, int64(r.Line), int64(c.claims[r.claimant].Line)
	}
	// ON CONFLICT DO NOTHING: an identifier that has an account (from an earlier batch, or
	// an earlier row of this statement) yields no id, and that row fails.
	const qacc = `INSERT INTO accounts (organization_id, permission_group_id, identifier, identifier_kind,
			firstname, lastname, social_messaging, monitor_calls, monitor_sms, forwarding_number,
			restrict_incoming_social_messaging, language, batch_id, batch_line, batch_owner)
		SELECT b.organization_id, b.permission_group_id, r.identifier, r.identifier_kind, r.firstname,
			r.lastname, r.social_messaging, r.monitor_calls, r.monitor_sms, r.forwarding_number,
			r.restrict_incoming_social_messaging, r.language, r.batch_id, r.line, k.owner
		FROM unnest($1::uuid[], $2::int[], $3::int[]) WITH ORDINALITY AS k(batch_id, line, owner, ord)
		CROSS JOIN LATERAL (SELECT * FROM batch_rows WHERE batch_id = k.batch_id AND line = k.line OFFSET 0) r
		JOIN batches b ON b.id = r.batch_id
		ORDER BY k.ord
		ON CONFLICT (identifier) DO NOTHING
		RETURNING id, batch_id, batch_line`
	var created []struct {
		ID      string `db:"id"`
		BatchID string `db:"batch_id"`
		Line    int    `db:"batch_line"`
	}
	if err := tx.SelectContext(ctx, &created, qacc, pq.Array(batchIDs), pq.Array(lines), pq.Array(owners)); err != nil {
		return fmt.Errorf("insert accounts: %w", mapErr(err))
	}
	accountOf := make(map[RowKey]string, len(created))
	for _, a := range created {
		accountOf[RowKey{a.BatchID, a.Line}] = a.ID
	}

	type pending struct {
		row     claimRow
		account string
		number  string
	}
	var ok []*pending
	failed := map[RowKey]string{} // row -> reason
	var named, namedAccounts, namedOrgs []string
	anyByOrg := map[string][]*pending{}
	var orgOrder []string
	for _, r := range rows {
		k := RowKey{r.BatchID, r.Line}
		acc, has := accountOf[k]
		if !has {
			failed[k] = fmt.Sprintf("an account for %s already exists", r.Identifier)
			continue
		}
		p := &pending{row: r, account: acc}
		ok = append(ok, p)
		switch {
		case r.MultilineNumber != "":
			named = append(named, r.MultilineNumber)
			namedAccounts = append(namedAccounts, acc)
			namedOrgs = append(namedOrgs, r.OrganizationID)
		case r.Invite:
			if _, seen := anyByOrg[r.OrganizationID]; !seen {
				orgOrder = append(orgOrder, r.OrganizationID)
			}
			anyByOrg[r.OrganizationID] = append(anyByOrg[r.OrganizationID], p)
		}
	}

	gotNumber := map[string]string{} // account -> number
	if len(named) > 0 {
		const q = `UPDATE numbers n SET state = 'reserved', account_id = u.account_id, updated_at = now()
			FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS u(e164, account_id, organization_id)
			WHERE n.e164 = u.e164 AND n.organization_id = u.organization_id AND n.state = 'available'
			RETURNING n.e164, n.account_id`
		if err := reserveInto(ctx, tx, gotNumber, q, pq.Array(named), pq.Array(namedAccounts), pq.Array(namedOrgs)); err != nil {
			return fmt.Errorf("reserve named numbers: %w", err)
		}
	}
	for _, org := range orgOrder {
		ps := anyByOrg[org]
		accounts := make([]string, len(ps))
		for i, p := range ps {
			accounts[i] = p.account
		}
		got, err := reserveFree(ctx, tx, org, accounts)
		if err != nil {
			return err
		}
		maps.Copy(gotNumber, got)
	}

	why := map[string]map[string]string{} // organization -> number -> why not
	var undo []string
	var keep []*pending
	for _, p := range ok {
		k := RowKey{p.row.BatchID, p.row.Line}
		p.number = gotNumber[p.account]
		switch {
		case p.row.MultilineNumber != "" && p.number == "":
			org := p.row.OrganizationID
			if why[org] == nil {
				w, err := numberAvailability(ctx, tx.tx, org, named)
				if err != nil {
					return err
				}
				why[org] = w
			}
			reason := why[org][p.row.MultilineNumber]
			if reason == "" {
				reason = "is reserved, not Available"
			}
			failed[k] = fmt.Sprintf("multiline_number %s %s", p.row.MultilineNumber, reason)
			undo = append(undo, p.account)
		case p.row.Invite && p.row.MultilineNumber == "" && p.number == "":
			failed[k] = "no number available in this organization"
			undo = append(undo, p.account)
		default:
			keep = append(keep, p)
		}
	}
	if len(undo) > 0 {
		// A failed row leaves nothing behind: re-uploading it later is safe.
		const q = `DELETE FROM accounts WHERE id = ANY($1::uuid[])`
		if _, err := tx.ExecContext(ctx, q, pq.Array(undo)); err != nil {
			return fmt.Errorf("undo accounts: %w", mapErr(err))
		}
	}
	for k, reason := range failed {
		settle.add(k.BatchID, k.Line, RowFailed, reason)
		*c.results[k] = ClaimResult{BatchID: k.BatchID, Line: k.Line, Outcome: ClaimDone, Status: RowFailed,
			Reason: reason, ReasonClass: reasonClass(reason)}
	}

	// Invitations for the Import & Invite rows that kept their account.
	var invAccounts []string
	var invHashes [][]byte
	var invExpiry []time.Time
	tokenOf := map[string]string{} // account -> plain token
	for _, p := range keep {
		if p.row.Invite {
			tok, hash := c.mint()
			tokenOf[p.account] = tok
			invAccounts = append(invAccounts, p.account)
			invHashes = append(invHashes, hash)
			invExpiry = append(invExpiry, c.claims[p.row.claimant].ExpiresAt)
		}
	}
	invitationOf := map[string]string{}
	if len(invAccounts) > 0 {
		const q = `INSERT INTO invitations (account_id, token_hash, expires_at)
			SELECT * FROM unnest($1::uuid[], $2::bytea[], $3::timestamptz[])
			RETURNING id, account_id`
		var invs []struct {
			ID        string `db:"id"`
			AccountID string `db:"account_id"`
		}
		if err := tx.SelectContext(ctx, &invs, q, pq.Array(invAccounts), pq.ByteaArray(invHashes), pq.Array(invExpiry)); err != nil {
			return fmt.Errorf("insert invitations: %w", mapErr(err))
		}
		for _, inv := range invs {
			invitationOf[inv.AccountID] = inv.ID
		}
	}

	for _, p := range keep {
		k := RowKey{p.row.BatchID, p.row.Line}
		r := c.results[k]
		if p.row.Invite {
			*r = inviteResult(p.row, p.account, invitationOf[p.account], p.number)
			r.Reserved, r.Token = p.number != "", tokenOf[p.account]
			continue
		}
		settle.addAccount(k.BatchID, k.Line, RowSucceeded, "", p.account, p.number)
		*r = ClaimResult{BatchID: k.BatchID, Line: k.Line, Outcome: ClaimDone, Status: RowSucceeded, ReasonClass: "none", Reserved: p.number != "", AccountID: p.account, Number: p.number}
	}
	return nil
}

// selecter is what reserveInto needs: a transaction, prepared (ptx) or not (*sqlx.Tx).
type selecter interface {
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

func reserveInto(ctx context.Context, tx selecter, into map[string]string, q string, args ...any) error {
	var got []struct {
		E164      string `db:"e164"`
		AccountID string `db:"account_id"`
	}
	if err := tx.SelectContext(ctx, &got, q, args...); err != nil {
		return mapErr(err)
	}
	for _, g := range got {
		into[g.AccountID] = g.E164
	}
	return nil
}

// settlement collects rows to settle with one statement. It is the only statement of a
// claim that changes rows' status, so the pending counter's locks are taken once, in order.
type settlement struct {
	batchIDs, statuses, reasons, accounts, numbers []string
	lines                                          []int64
}

func (s *settlement) add(batchID string, line int, status, reason string) {
	s.addAccount(batchID, line, status, reason, "", "")
}

// addAccount settles a row that got an account (an Import row).
func (s *settlement) addAccount(batchID string, line int, status, reason, account, number string) {
	s.batchIDs, s.lines = append(s.batchIDs, batchID), append(s.lines, int64(line))
	s.statuses, s.reasons = append(s.statuses, status), append(s.reasons, reason)
	s.accounts, s.numbers = append(s.accounts, account), append(s.numbers, number)
}

func (s *settlement) exec(ctx context.Context, tx ptx) error {
	if len(s.batchIDs) == 0 {
		return nil
	}
	// The "still pending" guard is in the SET, not the WHERE: a WHERE on status would invite
	// the planner to scan the partial index of pending rows, whose size statistics never see.
	const q = `UPDATE batch_rows r SET
			status = CASE WHEN r.status = 'pending' THEN u.status ELSE r.status END,
			reason = CASE WHEN r.status = 'pending' THEN u.reason ELSE r.reason END,
			settled_at = CASE WHEN r.status = 'pending' THEN now() ELSE r.settled_at END,
			account_id = CASE WHEN r.status = 'pending' THEN NULLIF(u.account_id, '')::uuid ELSE r.account_id END,
			number = CASE WHEN r.status = 'pending' THEN u.number ELSE r.number END
		FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[])
			AS u(batch_id, line, status, reason, account_id, number)
		WHERE r.batch_id = u.batch_id AND r.line = u.line`
	if _, err := tx.ExecContext(ctx, q, pq.Array(s.batchIDs), pq.Array(s.lines), pq.Array(s.statuses),
		pq.Array(s.reasons), pq.Array(s.accounts), pq.Array(s.numbers)); err != nil {
		return fmt.Errorf("settle rows: %w", mapErr(err))
	}
	return nil
}

// rotation collects pending invitations whose token is replaced.
type rotation struct {
	ids     []string
	hashes  [][]byte
	expires []time.Time
}

func (r *rotation) add(id string, hash []byte, expires time.Time) {
	r.ids, r.hashes, r.expires = append(r.ids, id), append(r.hashes, hash), append(r.expires, expires)
}

func (r *rotation) exec(ctx context.Context, tx ptx) error {
	if len(r.ids) == 0 {
		return nil
	}
	const q = `UPDATE invitations i SET
			token_hash = CASE WHEN i.state = 'pending' THEN u.token_hash ELSE i.token_hash END,
			expires_at = CASE WHEN i.state = 'pending' THEN u.expires_at ELSE i.expires_at END
		FROM unnest($1::uuid[], $2::bytea[], $3::timestamptz[]) AS u(id, token_hash, expires_at)
		WHERE i.id = u.id`
	if _, err := tx.ExecContext(ctx, q, pq.Array(r.ids), pq.ByteaArray(r.hashes), pq.Array(r.expires)); err != nil {
		return fmt.Errorf("rotate invitation tokens: %w", mapErr(err))
	}
	return nil
}

// SettledBatches returns those of ids with no pending row that have not finished. It runs
// after the commit that settled rows: two flushes settling a batch's last rows at once each
// see the other's work once both have committed, so at least one of them finds the batch
// settled.
func (s *Store) SettledBatches(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	const q = `SELECT id FROM batches WHERE id = ANY($1::uuid[]) AND pending = 0 AND finished_at IS NULL`
	st, err := s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []string
	if err := st.SelectContext(ctx, &out, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("settled batches: %w", mapErr(err))
	}
	return out, nil
}

// reasonClass groups row failure reasons into a few values fit for a metric label.
func reasonClass(reason string) string {
	switch {
	case reason == "":
		return "none"
	case reason == "no number available in this organization":
		return "no_number"
	case len(reason) > 16 && reason[:16] == "multiline_number":
		return "number_unavailable"
	case len(reason) > 14 && reason[:14] == "an account for":
		return "account_exists"
	default:
		return "other"
	}
}

// InvitationOutcome is the result of sending one row's invitation.
type InvitationOutcome struct {
	BatchID      string
	Line         int
	AccountID    string
	Number       string
	InvitationID string
	Sent         bool
	Reason       string // why it was not delivered, when not Sent
}

// RecordInvitations records many rows' invitation outcomes in one statement: a delivered
// invitation is sent and its account invited; a refused one is failed with the server's
// reason. Either way the row succeeded (its account exists) and settles. It returns the ids
// of batches with no pending row left after the commit.
func (s *Store) RecordInvitations(ctx context.Context, outcomes []InvitationOutcome) ([]string, error) {
	n := len(outcomes)
	batchIDs, invIDs, reasons := make([]string, n), make([]string, n), make([]string, n)
	accounts, numbers := make([]string, n), make([]string, n)
	lines, sent := make([]int64, n), make([]bool, n)
	var touched []string
	for i, o := range outcomes {
		batchIDs[i], lines[i], invIDs[i], sent[i], reasons[i] = o.BatchID, int64(o.Line), o.InvitationID, o.Sent, o.Reason
		accounts[i], numbers[i] = o.AccountID, o.Number
		if !slices.Contains(touched, o.BatchID) {
			touched = append(touched, o.BatchID)
		}
	}
	// Guards on state sit in the SETs and in inv's RETURNING, not in WHEREs the planner
	// would answer by scanning a partial index (see settlement.exec).
	const q = `WITH u AS (
			SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::bool[], $5::text[], $6::uuid[], $7::text[])
				AS u(batch_id, line, invitation_id, sent, reason, account_id, number)
		), inv AS (
			UPDATE invitations i SET
				state = CASE WHEN i.state <> 'pending' THEN i.state WHEN u.sent THEN 'sent' ELSE 'failed' END,
				sent_at = CASE WHEN i.state = 'pending' AND u.sent THEN now() ELSE i.sent_at END,
				failure_reason = CASE WHEN i.state = 'pending' THEN u.reason ELSE i.failure_reason END,
				attempts = i.attempts + 1
			FROM u WHERE i.id = u.invitation_id
			RETURNING i.account_id, u.sent
		), acc AS (
			-- = ANY over an array, not a join: with hash joins off the planner could walk
			-- accounts for each invitation.
			UPDATE accounts a SET status = 'invited'
			WHERE a.id = ANY (ARRAY(SELECT account_id FROM inv WHERE sent)) AND a.status = 'not_invited'
		)
		UPDATE batch_rows r SET
			status = CASE WHEN r.status = 'pending' THEN 'succeeded' ELSE r.status END,
			settled_at = CASE WHEN r.status = 'pending' THEN now() ELSE r.settled_at END,
			invitation = CASE WHEN r.status <> 'pending' THEN r.invitation WHEN u.sent THEN 'sent' ELSE 'failed' END,
			reason = CASE WHEN r.status <> 'pending' THEN r.reason WHEN u.sent THEN ''
				ELSE 'account created; invitation not delivered: ' || u.reason END,
			account_id = CASE WHEN r.status = 'pending' THEN u.account_id ELSE r.account_id END,
			number = CASE WHEN r.status = 'pending' THEN u.number ELSE r.number END,
			invitation_id = CASE WHEN r.status = 'pending' THEN u.invitation_id ELSE r.invitation_id END
		FROM u WHERE r.batch_id = u.batch_id AND r.line = u.line`
	err := s.inKeyedTx(ctx, func(tx *sqlx.Tx) error {
		_, err := ptx{tx: tx, s: s}.ExecContext(ctx, q, pq.Array(batchIDs), pq.Array(lines), pq.Array(invIDs),
			pq.Array(sent), pq.Array(reasons), pq.Array(accounts), pq.Array(numbers))
		if err != nil {
			return fmt.Errorf("record invitations: %w", mapErr(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.SettledBatches(ctx, touched)
}

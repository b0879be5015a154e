package store

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/lib/pq"
)

// create inserts the accounts of fresh rows, reserves their numbers and creates their
// invitations, leased to their claimants. A row that cannot have what it asks for (its
// identifier has an account, its named number is not Available here, the pool is empty)
// fails, and its account is undone: a failed row leaves nothing behind. Import rows settle
// here; Import & Invite rows go on to their invitation.
func (c *claim) create(ctx context.Context, rows []claimRow) error {
	accountOf, err := c.insertAccounts(ctx, rows)
	if err != nil {
		return err
	}
	var made []claimRow // rows that got an account
	for _, r := range rows {
		if _, ok := accountOf[RowKey{r.BatchID, r.Line}]; ok {
			made = append(made, r)
		} else {
			c.done(r.claim, Outcome{BatchID: r.BatchID, Line: r.Line, Status: RowFailed,
				Code: CodeAccountExists})
		}
	}
	numberOf, err := c.reserve(ctx, made, accountOf)
	if err != nil {
		return err
	}
	var undo []string
	var keep []claimRow
	why := map[string]map[string]string{} // organization -> number -> why it is not Available
	for _, r := range made {
		acc := accountOf[RowKey{r.BatchID, r.Line}]
		num := numberOf[acc]
		fail := Outcome{BatchID: r.BatchID, Line: r.Line, Status: RowFailed}
		switch {
		case r.MultilineNumber != "" && num == "":
			if why[r.OrganizationID] == nil {
				w, err := numberAvailability(ctx, c.tx.tx, r.OrganizationID, namedNumbers(made))
				if err != nil {
					return err
				}
				why[r.OrganizationID] = w
			}
			reason := why[r.OrganizationID][r.MultilineNumber]
			if reason == "" {
				reason = "is reserved, not Available"
			}
			fail.Code, fail.Detail = CodeNumberUnavailable, r.MultilineNumber+" "+reason
		case r.Invite && num == "":
			fail.Code = CodeNoNumber
		default:
			c.results[r.claim].Reserved = num != ""
			keep = append(keep, r)
			continue
		}
		undo = append(undo, acc)
		c.done(r.claim, fail)
	}
	if len(undo) > 0 {
		const q = `DELETE FROM accounts WHERE id = ANY($1::uuid[])`
		if _, err := c.tx.ExecContext(ctx, q, pq.Array(undo)); err != nil {
			return fmt.Errorf("undo accounts: %w", mapErr(err))
		}
	}
	return c.invite(ctx, keep, accountOf, numberOf)
}

// insertAccounts creates the rows' accounts and returns row -> account id. ON CONFLICT DO
// NOTHING: an identifier that has an account (from an earlier batch, or an earlier row of
// this statement) yields no id, and that row fails.
func (c *claim) insertAccounts(ctx context.Context, rows []claimRow) (map[RowKey]string, error) {
	batchIDs, lines := make([]string, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		batchIDs[i], lines[i] = r.BatchID, int64(r.Line)
	}
	const q = `INSERT INTO accounts (organization_id, permission_group_id, identifier, identifier_kind,
			firstname, lastname, social_messaging, monitor_calls, monitor_sms, forwarding_number,
			restrict_incoming_social_messaging, language, batch_id, batch_line)
		SELECT b.organization_id, b.permission_group_id, r.identifier, r.identifier_kind, r.firstname,
			r.lastname, r.social_messaging, r.monitor_calls, r.monitor_sms, r.forwarding_number,
			r.restrict_incoming_social_messaging, r.language, r.batch_id, r.line
		FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS k(batch_id, line, ord)
		JOIN batch_rows r ON r.batch_id = k.batch_id AND r.line = k.line
		JOIN batches b ON b.id = r.batch_id
		ORDER BY k.ord
		ON CONFLICT (identifier) DO NOTHING
		RETURNING id, batch_id, batch_line`
	var created []struct {
		ID      string `db:"id"`
		BatchID string `db:"batch_id"`
		Line    int    `db:"batch_line"`
	}
	if err := c.tx.SelectContext(ctx, &created, q, pq.Array(batchIDs), pq.Array(lines)); err != nil {
		return nil, fmt.Errorf("insert accounts: %w", mapErr(err))
	}
	out := make(map[RowKey]string, len(created))
	for _, a := range created {
		out[RowKey{a.BatchID, a.Line}] = a.ID
	}
	return out, nil
}

// reserve reserves the named numbers of the rows that name one, and a free number of their
// organization's pool for the Import & Invite rows that do not; it returns account -> number.
func (c *claim) reserve(ctx context.Context, rows []claimRow, accountOf map[RowKey]string) (map[string]string, error) {
	got := map[string]string{}
	var named, namedAccounts, namedOrgs []string
	free := map[string][]string{} // organization -> accounts, in row order
	var orgs []string
	for _, r := range rows {
		acc := accountOf[RowKey{r.BatchID, r.Line}]
		switch {
		case r.MultilineNumber != "":
			named, namedAccounts, namedOrgs = append(named, r.MultilineNumber), append(namedAccounts, acc), append(namedOrgs, r.OrganizationID)
		case r.Invite:
			if _, seen := free[r.OrganizationID]; !seen {
				orgs = append(orgs, r.OrganizationID)
			}
			free[r.OrganizationID] = append(free[r.OrganizationID], acc)
		}
	}
	if len(named) > 0 {
		const q = `UPDATE numbers n SET state = 'reserved', account_id = u.account_id, updated_at = now()
			FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS u(e164, account_id, organization_id)
			WHERE n.e164 = u.e164 AND n.organization_id = u.organization_id AND n.state = 'available'
			RETURNING n.e164, n.account_id`
		if err := reserveInto(ctx, c.tx, got, q, pq.Array(named), pq.Array(namedAccounts), pq.Array(namedOrgs)); err != nil {
			return nil, fmt.Errorf("reserve named numbers: %w", err)
		}
	}
	for _, org := range orgs {
		m, err := reserveFree(ctx, c.tx, org, free[org])
		if err != nil {
			return nil, err
		}
		maps.Copy(got, m)
	}
	return got, nil
}

// invite settles the Import rows that kept their account and creates the invitations of the
// Import & Invite ones, leased to their claimants.
func (c *claim) invite(ctx context.Context, rows []claimRow, accountOf map[RowKey]string, numberOf map[string]string) error {
	var ids, accounts, holders []string
	var hashes [][]byte
	var expires, until []time.Time
	for _, r := range rows {
		acc := accountOf[RowKey{r.BatchID, r.Line}]
		if !r.Invite {
			c.done(r.claim, Outcome{BatchID: r.BatchID, Line: r.Line, Status: RowSucceeded, Code: CodeNone,
				AccountID: acc, Number: numberOf[acc], Invitation: InvitationNotSent})
			continue
		}
		cl := c.claims[r.claim]
		id := newInvitationID()
		ids, accounts, hashes = append(ids, id), append(accounts, acc), append(hashes, c.hash(id))
		expires, holders, until = append(expires, cl.ExpiresAt), append(holders, cl.Holder), append(until, cl.LeaseUntil)
		c.results[r.claim].Claim = ClaimInvite
		c.results[r.claim].Invitation = r.invitation(acc, id, numberOf[acc], cl.ExpiresAt)
	}
	if len(ids) == 0 {
		return nil
	}
	const q = `INSERT INTO invitations (id, account_id, token_hash, expires_at, lease_holder, lease_until)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bytea[], $4::timestamptz[], $5::text[], $6::timestamptz[])`
	if _, err := c.tx.ExecContext(ctx, q, pq.Array(ids), pq.Array(accounts), pq.ByteaArray(hashes),
		pq.Array(expires), pq.Array(holders), pq.Array(until)); err != nil {
		return fmt.Errorf("insert invitations: %w", mapErr(err))
	}
	return nil
}

func namedNumbers(rows []claimRow) []string {
	var out []string
	for _, r := range rows {
		if r.MultilineNumber != "" {
			out = append(out, r.MultilineNumber)
		}
	}
	return out
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

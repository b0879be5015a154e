package pipebench

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/smtp"
	"net/url"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/config"
	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/metrics"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// peer is the literal design of the row pipeline, the yardstick of the service's figures:
// what the textbook implementation achieves on the same Asynq, PostgreSQL and SMTP server.
// Per row task, one transaction locks the row, creates the account, reserves a number and
// creates the invitation; the email goes out on a connection of its own; a second
// transaction records the outcome; a task that then finds no row of its batch pending
// enqueues the real finalizer. After each row it tells the service's own feed loop
// (jobs.FeedLoop) that the row settled, so that its organization's next rows reach the queue
// (the api enqueues only what the organization's window lets in): feeding is shared, like
// Asynq, and the peer measures the rest. No batching, no group commit, no pooled SMTP
// connections.
//
// It knows only what the benchmark's files hold (rows identified by email, no number asked
// for) and has no failure outcome of its own: an error goes back to Asynq, which retries the
// task, and a retry after the first commit fails on the account's identifier. The benchmark
// injects no failures; the peer is there to be measured, not to replace the service.
type peer struct {
	db        *sqlx.DB
	queue     *asynq.Client
	feed      *jobs.FeedLoop
	smtpAddr  string
	from      *mail.Address
	publicURL string
	ttl       time.Duration
}

// startPeer runs the peer in this process until the benchmark ends: an Asynq server on the
// rows queue with the worker's concurrency and the peer's row handler, and one on the
// finalize queue with the service's own finalizer. getenv gives the worker's settings.
func startPeer(b *testing.B, getenv func(string) string) {
	b.Helper()
	cfg, err := config.Parse(getenv)
	if err != nil {
		b.Fatalf("peer configuration: %v", err)
	}
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		b.Fatalf("MAIL_FROM: %v", err)
	}
	smtpURL, err := url.Parse(cfg.SMTPURL)
	if err != nil {
		b.Fatalf("SMTP_URL: %v", err)
	}
	redisOpt := cfg.Redis
	db, err := store.Open(context.Background(), cfg.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	// A connection for every task at once, up to 40: PostgreSQL's default max_connections is
	// 100, and the api and the benchmark need some too.
	conns := min(max(20, cfg.WorkerConcurrency+4), 40)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	queue := asynq.NewClient(redisOpt)
	b.Cleanup(func() { queue.Close() })

	log := zerolog.New(zerolog.NewTestWriter(b)).Level(zerolog.WarnLevel)
	sender, err := mailer.New(mailer.Config{URL: cfg.SMTPURL, From: cfg.MailFrom}, log)
	if err != nil {
		b.Fatalf("mailer: %v", err)
	}
	b.Cleanup(func() { sender.Close() })
	inspector := asynq.NewInspector(redisOpt)
	b.Cleanup(func() { inspector.Close() })
	feeder := jobs.NewFeeder(store.New(db), jobs.NewClient(queue, jobs.Queues{}), inspector)
	finalizer := jobs.NewHandler(jobs.Config{PublicURL: cfg.PublicURL, InvitationTTL: cfg.InvitationTTL},
		store.New(db), sender, feeder, metrics.NewWorker(metrics.NewRegistry()), log)
	b.Cleanup(finalizer.Close) // after the servers have stopped: cleanups run last first

	feed := feeder.Loop(log)
	b.Cleanup(feed.Close)
	p := &peer{db: db, queue: queue, feed: feed, smtpAddr: smtpURL.Host, from: from, publicURL: cfg.PublicURL, ttl: cfg.InvitationTTL}
	mux := asynq.NewServeMux()
	mux.HandleFunc(jobs.TypeRow, p.handleRow)
	mux.Handle(jobs.TypeFinalize, finalizer.Mux())

	// Two servers with the worker's polling interval, as the worker has (jobs.NewServers): an
	// Asynq server polling several queues, or sleeping its default second on an empty one,
	// costs what Asynq costs, not what the design costs.
	server := func(concurrency int, name string) *asynq.Server {
		return asynq.NewServer(redisOpt, asynq.Config{
			Concurrency:       concurrency,
			Queues:            map[string]int{name: 1},
			TaskCheckInterval: 50 * time.Millisecond,
			LogLevel:          asynq.WarnLevel,
			ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
				b.Logf("literal peer: %s %s: %v", t.Type(), t.Payload(), err)
			}),
		})
	}
	rows := server(cfg.WorkerConcurrency, jobs.Queues{}.Rows())
	final := server(max(2, cfg.WorkerConcurrency/2), jobs.Queues{}.Finalize())
	if err := rows.Start(mux); err != nil {
		b.Fatalf("start peer: %v", err)
	}
	if err := final.Start(mux); err != nil {
		rows.Shutdown()
		b.Fatalf("start peer finalizer: %v", err)
	}
	b.Cleanup(func() {
		rows.Shutdown()
		final.Shutdown()
	})
}

// invitation is what the peer's first transaction created for a row.
type invitation struct {
	AccountID, InvitationID, Number string
	To, Firstname, Token            string
}

// handleRow settles one batch row.
func (p *peer) handleRow(ctx context.Context, t *asynq.Task) error {
	var task struct {
		BatchID string `json:"batch_id"`
		Line    int    `json:"line"`
	}
	if err := json.Unmarshal(t.Payload(), &task); err != nil {
		return fmt.Errorf("%w: decode row task: %v", asynq.SkipRetry, err)
	}
	inv, err := p.create(ctx, task.BatchID, task.Line)
	if err != nil {
		return err
	}
	if inv != nil {
		if err := p.send(inv); err != nil {
			return fmt.Errorf("send invitation: %w", err)
		}
		if err := p.record(ctx, task.BatchID, task.Line, inv); err != nil {
			return err
		}
		p.feed.Settled(task.BatchID)
	}
	return p.finalizeIfSettled(ctx, task.BatchID)
}

// create locks the row and, when it is pending, creates its account, reserves it a number and
// creates its invitation, in one transaction. It returns nil for a row that is not pending.
func (p *peer) create(ctx context.Context, batchID string, line int) (*invitation, error) {
	tx, err := p.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	const qrow = `SELECT status, identifier, identifier_kind, firstname, lastname, social_messaging,
			monitor_calls, monitor_sms, forwarding_number, restrict_incoming_social_messaging, language
		FROM batch_rows WHERE batch_id = $1 AND line = $2 FOR UPDATE`
	var r struct {
		Status          string `db:"status"`
		Identifier      string `db:"identifier"`
		IdentifierKind  string `db:"identifier_kind"`
		Firstname       string `db:"firstname"`
		Lastname        string `db:"lastname"`
		SocialMessaging bool   `db:"social_messaging"`
		MonitorCalls    string `db:"monitor_calls"`
		MonitorSMS      string `db:"monitor_sms"`
		Forwarding      string `db:"forwarding_number"`
		RestrictSocial  bool   `db:"restrict_incoming_social_messaging"`
		Language        string `db:"language"`
	}
	if err := tx.GetContext(ctx, &r, qrow, batchID, line); errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("lock row: %w", err)
	}
	if r.Status != "pending" {
		return nil, nil
	}

	const qstart = `UPDATE batches SET status = 'processing', started_at = now() WHERE id = $1 AND status = 'queued'`
	if _, err := tx.ExecContext(ctx, qstart, batchID); err != nil {
		return nil, fmt.Errorf("start batch: %w", err)
	}
	const qbatch = `SELECT organization_id, permission_group_id FROM batches WHERE id = $1`
	var orgID, groupID string
	if err := tx.QueryRowContext(ctx, qbatch, batchID).Scan(&orgID, &groupID); err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}

	inv := &invitation{To: r.Identifier, Firstname: r.Firstname}
	const qaccount = `INSERT INTO accounts (organization_id, permission_group_id, identifier, identifier_kind,
			firstname, lastname, social_messaging, monitor_calls, monitor_sms, forwarding_number,
			restrict_incoming_social_messaging, language, batch_id, batch_line)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`
	if err := tx.QueryRowContext(ctx, qaccount, orgID, groupID, r.Identifier, r.IdentifierKind,
		r.Firstname, r.Lastname, r.SocialMessaging, r.MonitorCalls, r.MonitorSMS, r.Forwarding,
		r.RestrictSocial, r.Language, batchID, line).Scan(&inv.AccountID); err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}

	const qnumber = `UPDATE numbers SET state = 'reserved', account_id = $2, updated_at = now()
		WHERE e164 = (SELECT e164 FROM numbers WHERE organization_id = $1 AND state = 'available'
			ORDER BY e164 LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING e164`
	if err := tx.QueryRowContext(ctx, qnumber, orgID, inv.AccountID).Scan(&inv.Number); err != nil {
		return nil, fmt.Errorf("reserve number: %w", err)
	}

	var hash []byte
	inv.Token, hash = token.New("")
	const qinvitation = `INSERT INTO invitations (account_id, token_hash, expires_at) VALUES ($1, $2, $3) RETURNING id`
	if err := tx.QueryRowContext(ctx, qinvitation, inv.AccountID, hash, time.Now().Add(p.ttl)).Scan(&inv.InvitationID); err != nil {
		return nil, fmt.Errorf("create invitation: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return inv, nil
}

// send emails the invitation's activation link over a new SMTP connection. net/smtp takes no
// context; the benchmark's sink answers at once.
func (p *peer) send(inv *invitation) error {
	msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Your MultiLine account\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello %s,\r\n\r\nyour MultiLine number is %s. Activate your account: %s/activate/%s\r\n",
		p.from, inv.To, inv.Firstname, inv.Number, p.publicURL, inv.Token)
	return smtp.SendMail(p.smtpAddr, nil, p.from.Address, []string{inv.To}, []byte(msg))
}

// record marks the invitation sent and the account invited, and settles the row, in one
// transaction.
func (p *peer) record(ctx context.Context, batchID string, line int, inv *invitation) error {
	tx, err := p.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	const qinvitation = `UPDATE invitations SET state = 'sent', sent_at = now() WHERE id = $1`
	if _, err := tx.ExecContext(ctx, qinvitation, inv.InvitationID); err != nil {
		return fmt.Errorf("mark invitation sent: %w", err)
	}
	const qaccount = `UPDATE accounts SET status = 'invited' WHERE id = $1`
	if _, err := tx.ExecContext(ctx, qaccount, inv.AccountID); err != nil {
		return fmt.Errorf("mark account invited: %w", err)
	}
	const qrow = `UPDATE batch_rows SET status = 'succeeded', settled_at = now(), invitation = 'sent',
			account_id = $3, invitation_id = $4, number = $5
		WHERE batch_id = $1 AND line = $2`
	if _, err := tx.ExecContext(ctx, qrow, batchID, line, inv.AccountID, inv.InvitationID, inv.Number); err != nil {
		return fmt.Errorf("settle row: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// finalizeIfSettled enqueues the batch's finalizer when none of its rows is pending. Two rows
// settling last at once may both enqueue it; its task id keeps one.
func (p *peer) finalizeIfSettled(ctx context.Context, batchID string) error {
	const q = `SELECT count(*) FROM batch_rows WHERE batch_id = $1 AND status = 'pending'`
	var pending int
	if err := p.db.GetContext(ctx, &pending, q, batchID); err != nil {
		return fmt.Errorf("count pending rows: %w", err)
	}
	if pending > 0 {
		return nil
	}
	_, err := p.queue.EnqueueContext(ctx, jobs.NewFinalizeTask(jobs.Queues{}, batchID))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue finalizer: %w", err)
	}
	return nil
}

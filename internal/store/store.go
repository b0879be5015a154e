// Package store holds every SQL statement of the service. PostgreSQL is the source of truth:
// the schema's constraints say what must never happen, and this package maps driver errors
// to its own sentinels at its boundary.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

var (
	// ErrNotFound means the row asked for does not exist (or is out of the caller's scope).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness or state rule of the schema refused the change.
	ErrConflict = errors.New("conflict")
)

// Store runs the service's queries against PostgreSQL.
type Store struct {
	db    *sqlx.DB
	stmts statements
}

// New returns a Store using db.
func New(db *sqlx.DB) *Store { return &Store{db: db} }

// DB returns the underlying handle, for health checks and tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// Open connects to PostgreSQL at url and checks that it answers.
func Open(ctx context.Context, url string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", DriverURL(url))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// DriverURL adds the driver settings the service relies on to a database URL, unless the
// URL sets them: binary_parameters=yes makes lib/pq send a query with parameters in one
// round trip instead of two, which halves the latency of every statement.
func DriverURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return raw // a key=value DSN or garbage: lib/pq reports what is wrong with it
	}
	q := u.Query()
	if !q.Has("binary_parameters") {
		q.Set("binary_parameters", "yes")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// WorkerURL adds to a database URL the settings of the worker's sessions, unless the URL
// sets them: plan_cache_mode=force_generic_plan keeps each prepared statement on one plan.
// The worker's statements are written for it (per-key lookups, no parameter a partial index
// depends on); left to choose, PostgreSQL planned the row tasks' one-key look afresh on every
// call, because a custom plan sees the array's length, and that planning was a third of its
// time in a batch. The api keeps the default: its queries are one-offs.
func WorkerURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return raw
	}
	q := u.Query()
	if !q.Has("plan_cache_mode") {
		q.Set("plan_cache_mode", "force_custom_plan")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// inTx runs fn in a transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// Unique and exclusion violations become ErrConflict; no rows becomes ErrNotFound.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "23505", "23P01": // unique_violation, exclusion_violation
			return fmt.Errorf("%w: %s", ErrConflict, pqErr.Message)
		case "23503": // foreign_key_violation: what the row refers to does not exist
			return fmt.Errorf("%w: %s", ErrNotFound, pqErr.Detail)
		case "22P02": // invalid_text_representation, e.g. a malformed uuid
			return ErrNotFound
		}
	}
	return err
}

// IsRowFault reports whether PostgreSQL refused a statement for what the data says (a value
// it cannot take, a constraint, a check of a trigger): when a statement worked on many rows,
// one of them may be at fault and the others fine.
func IsRowFault(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		case "22", "23", "P0", "44": // data exception, integrity, raised by a trigger, check option
			return true
		}
		return false
	}
	return errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound)
}

// Refusal is PostgreSQL's own account of why it refused a statement, fit for a row's reason.
func Refusal(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		if pqErr.Detail != "" {
			return pqErr.Message + " (" + pqErr.Detail + ")"
		}
		return pqErr.Message
	}
	return err.Error()
}

// IsTransient reports whether err is worth retrying: the connection dropped, the server is
// starting or shutting down, or a serialization conflict or deadlock was detected.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code.Class() {
		case "08", "53", "55", "57", "40": // connection, resources, object state, operator intervention, rollback
			return true
		}
		return false
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return false
	}
	// Network errors, driver.ErrBadConn, io.EOF and context deadlines.
	return true
}

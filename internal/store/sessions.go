package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrSessionExpired means an admin session exists but has expired; it is deleted when found.
var ErrSessionExpired = errors.New("session expired")

// CreateAdminSession stores a session of admin adminID under hash (the SHA-256 of its id),
// expiring ttl from now by the database clock, and returns when it expires. Sessions that
// have expired, anybody's, are deleted on the way: sign-ins bound the table.
func (s *Store) CreateAdminSession(ctx context.Context, adminID string, hash []byte, ttl time.Duration) (time.Time, error) {
	const q = `WITH swept AS (DELETE FROM admin_sessions WHERE expires_at <= now())
		INSERT INTO admin_sessions (token_hash, admin_id, expires_at)
		VALUES ($1, $2, now() + $3 * interval '1 microsecond')
		RETURNING expires_at`
	var expires time.Time
	if err := s.db.GetContext(ctx, &expires, q, hash, adminID, ttl.Microseconds()); err != nil {
		return time.Time{}, fmt.Errorf("create admin session: %w", mapErr(err))
	}
	return expires, nil
}

// AdminBySession returns the admin of the session stored under hash, with the privileges
// and scope the admin has now. ErrNotFound means there is no such session (never made,
// signed out, or its admin deleted); ErrSessionExpired means it has expired, and it is
// deleted.
func (s *Store) AdminBySession(ctx context.Context, hash []byte) (Admin, error) {
	const q = `SELECT s.expires_at <= now() AS expired, ` + adminColumns + `
		FROM admin_sessions s JOIN admins a ON a.id = s.admin_id
		WHERE s.token_hash = $1`
	var row struct {
		Expired bool `db:"expired"`
		Admin
	}
	if err := s.db.GetContext(ctx, &row, q, hash); err != nil {
		return Admin{}, fmt.Errorf("admin by session: %w", mapErr(err))
	}
	if row.Expired {
		if err := s.DeleteAdminSession(ctx, hash); err != nil {
			return Admin{}, err
		}
		return Admin{}, ErrSessionExpired
	}
	return row.Admin, nil
}

// DeleteAdminSession ends the session stored under hash; ending one that does not exist is
// not an error.
func (s *Store) DeleteAdminSession(ctx context.Context, hash []byte) error {
	const q = `DELETE FROM admin_sessions WHERE token_hash = $1`
	if _, err := s.db.ExecContext(ctx, q, hash); err != nil {
		return fmt.Errorf("delete admin session: %w", mapErr(err))
	}
	return nil
}

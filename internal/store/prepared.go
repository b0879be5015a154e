package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// statements holds the hot path's statements prepared once and reused on every connection
// (database/sql re-prepares them on a connection the first time it runs them there). A
// prepared statement skips PostgreSQL's parse and, once its plan is cached, its planning: for
// the row pipeline's short set-based statements that is most of their cost.
type statements struct {
	mu sync.Mutex
	m  map[string]*sqlx.Stmt
}

func (s *Store) prepared(ctx context.Context, q string) (*sqlx.Stmt, error) {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if st, ok := s.stmts.m[q]; ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", mapErr(err))
	}
	if s.stmts.m == nil {
		s.stmts.m = make(map[string]*sqlx.Stmt)
	}
	s.stmts.m[q] = st
	return st, nil
}

// ptx is a transaction whose statements go through Store.prepared.
type ptx struct {
	tx *sqlx.Tx
	s  *Store
}

func (t ptx) SelectContext(ctx context.Context, dest any, q string, args ...any) error {
	st, err := t.s.prepared(ctx, q)
	if err != nil {
		return err
	}
	return t.tx.StmtxContext(ctx, st).SelectContext(ctx, dest, args...)
}

func (t ptx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := t.s.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.tx.StmtxContext(ctx, st).ExecContext(ctx, args...)
}

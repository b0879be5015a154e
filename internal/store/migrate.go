package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrSchemaBehind means the database has migrations still to apply.
var ErrSchemaBehind = errors.New("database schema is behind: run `api migrate`")

func provider(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
}

// Migrate applies every pending migration and returns the versions it applied.
// It takes goose's advisory lock, so concurrent runs are safe.
func Migrate(ctx context.Context, db *sql.DB) ([]int64, error) {
	p, err := provider(db)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// CheckSchema returns ErrSchemaBehind when migrations are pending.
func CheckSchema(ctx context.Context, db *sql.DB) error {
	var table sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('goose_db_version')::text`).Scan(&table); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if !table.Valid {
		return fmt.Errorf("%w (the database has no schema yet)", ErrSchemaBehind)
	}
	p, err := provider(db)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if current < target {
		return fmt.Errorf("%w (database at version %d, this build needs %d)", ErrSchemaBehind, current, target)
	}
	return nil
}

// MigrationsFS exposes the embedded migrations, e.g. for tests that key a template database
// on their content.
func MigrationsFS() fs.FS { return migrations }

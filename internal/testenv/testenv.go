// Package testenv gives each test its own PostgreSQL database, cloned from a migrated
// template, and its own Redis key space, so tests run in parallel against real services.
//
// TEST_DATABASE_URL names a database on the server where test databases are created
// (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); TEST_REDIS_URL the
// Redis server (default redis://127.0.0.1:6379/0).
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the postgres driver

	"github.com/multiline/onboarding/internal/config"
	"github.com/multiline/onboarding/internal/store"
)

// AdminURL is the URL of the database through which test databases are created.
func AdminURL() string {
	if v := os.Getenv("TEST_DATABASE_URL"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// DB returns a fresh, migrated database of its own and its URL; it is dropped when the
// test ends.
func DB(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() {
		templateName, templateErr = ensureTemplate(ctx)
		dropAbandoned(ctx, templateName)
	})
	if templateErr != nil {
		t.Fatalf("test database template: %v", templateErr)
	}
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		t.Fatalf("open admin database: %v", err)
	}
	defer admin.Close()
	// The creation time in the name lets a later run drop what a killed run left behind.
	name := fmt.Sprintf("mltest_%d_%s", time.Now().Unix(), randomHex(4))
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, templateName)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	dbURL := withDatabase(AdminURL(), name)
	db, err := sqlx.Open("postgres", store.DriverURL(dbURL))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	db.SetMaxOpenConns(20)
	t.Cleanup(func() {
		db.Close()
		admin, err := sql.Open("postgres", AdminURL())
		if err != nil {
			t.Errorf("open admin database: %v", err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return db, dbURL
}

// ensureTemplate creates, once per migration set, a migrated database to clone. The name
// carries a hash of the migrations, so a changed migration gets a new template; an advisory
// lock keeps concurrent test binaries from building it twice.
func ensureTemplate(ctx context.Context) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "mltmpl_" + sum[:12]
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", config.Redact(AdminURL()), err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7351001)`); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7351001)`)

	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, markUsed(ctx, conn, name)
	}
	building := name + "_building"
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return "", err
	}
	db, err := sql.Open("postgres", withDatabase(AdminURL(), building))
	if err != nil {
		return "", err
	}
	_, err = store.Migrate(ctx, db)
	db.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name)); err != nil {
		return "", err
	}
	return name, markUsed(ctx, conn, name)
}

// markUsed notes in the template's comment when a test binary last used it, so dropAbandoned
// leaves alone the templates that other checkouts (with other migrations) are using.
func markUsed(ctx context.Context, conn *sql.Conn, template string) error {
	_, err := conn.ExecContext(ctx, fmt.Sprintf(`COMMENT ON DATABASE %s IS 'used %d'`, template, time.Now().Unix()))
	return err
}

// dropAbandoned drops test databases more than two hours old (a test binary killed before
// its cleanup leaves its databases behind) and templates of other migration sets that no test
// binary used in two hours.
func dropAbandoned(ctx context.Context, template string) {
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		return
	}
	defer admin.Close()
	rows, err := admin.QueryContext(ctx, `SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE datname ~ '^mltest_[0-9]+_' OR (datname ~ '^mltmpl_[0-9a-f]+$' AND datname <> $1)`, template)
	if err != nil {
		return
	}
	var old []string
	for rows.Next() {
		var name, comment string
		var used int64
		if rows.Scan(&name, &comment) != nil {
			continue
		}
		if strings.HasPrefix(name, "mltmpl_") {
			_, _ = fmt.Sscanf(comment, "used %d", &used) // a template without the note counts as unused
		} else {
			_, _ = fmt.Sscanf(name, "mltest_%d_", &used)
		}
		if time.Since(time.Unix(used, 0)) > 2*time.Hour {
			old = append(old, name)
		}
	}
	rows.Close()
	for _, name := range old {
		_, _ = admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	}
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(store.MigrationsFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(store.MigrationsFS(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%s\x00", path, b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("testenv: bad TEST_DATABASE_URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Context returns a context cancelled when the test ends, with a generous deadline.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

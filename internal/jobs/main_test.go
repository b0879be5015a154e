package jobs_test

import (
	"testing"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Connection pools of database/sql and go-redis close asynchronously.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).reaper"),
		// A pool that could not dial (a test's Redis was killed) retries once a second and
		// notices it was closed at its next try.
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"),
		goleak.IgnoreAnyFunction("github.com/lib/pq.(*conn).watchCancel"),
	)
}

func zerologNop() zerolog.Logger { return zerolog.Nop() }

package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/jobs"
	"github.com/multiline/onboarding/internal/testenv"
)

// checkOn runs a RedisCheck against srv and returns its error and what it logged.
func checkOn(t *testing.T, srv *testenv.RedisServer) (logged string, err error) {
	t.Helper()
	var buf syncBuffer
	rdb, rerr := jobs.RedisClient(srv.Redis().Opt)
	if rerr != nil {
		t.Fatal(rerr)
	}
	defer rdb.Close()
	err = jobs.NewRedisCheck(rdb, zerolog.New(&buf)).Check(context.Background())
	return buf.String(), err
}

func TestRedisCheck(t *testing.T) {
	t.Parallel()
	t.Run("evicting", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartRedisServer(t)
		if _, err := checkOn(t, srv); err != nil {
			t.Fatalf("a default redis-server: got %v, want nil", err)
		}
		ctx, c := context.Background(), srv.Redis().Client
		c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru")
		if _, err := checkOn(t, srv); err != nil {
			t.Errorf("allkeys-lru without maxmemory: got %v, want nil (nothing is evicted)", err)
		}
		c.ConfigSet(ctx, "maxmemory", "5mb")
		_, err := checkOn(t, srv)
		if !errors.Is(err, jobs.ErrRedisUnfit) || !strings.Contains(err.Error(), "set maxmemory-policy noeviction") ||
			!strings.Contains(err.Error(), "allkeys-lru") {
			t.Errorf("allkeys-lru with maxmemory 5mb: got %v, want ErrRedisUnfit saying what it is and to set noeviction", err)
		}
		c.ConfigSet(ctx, "maxmemory-policy", "noeviction")
		if _, err := checkOn(t, srv); err != nil {
			t.Errorf("noeviction with maxmemory: got %v, want nil", err)
		}
	})
	t.Run("config renamed", func(t *testing.T) {
		t.Parallel()
		// As some managed services do: CONFIG is gone, INFO memory still says the policy.
		srv := testenv.StartRedisServer(t, "--rename-command", "CONFIG", "", "--maxmemory", "5mb", "--maxmemory-policy", "volatile-lru")
		if _, err := checkOn(t, srv); !errors.Is(err, jobs.ErrRedisUnfit) || !strings.Contains(err.Error(), "volatile-lru") {
			t.Errorf("volatile-lru read from INFO: got %v, want ErrRedisUnfit naming volatile-lru", err)
		}
	})
	t.Run("nothing to read", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartRedisServer(t, "--rename-command", "CONFIG", "", "--rename-command", "INFO", "")
		logged, err := checkOn(t, srv)
		if err != nil {
			t.Errorf("CONFIG and INFO refused: got %v, want nil (the settings cannot be checked)", err)
		}
		if !strings.Contains(logged, "could not check") {
			t.Errorf("CONFIG and INFO refused: got log %q, want a line saying it could not check", logged)
		}
	})
	t.Run("cluster node", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartRedisServer(t, "--cluster-enabled", "yes")
		_, err := checkOn(t, srv)
		if !errors.Is(err, jobs.ErrRedisUnfit) || !strings.Contains(err.Error(), "redis-cluster://") {
			t.Errorf("a plain URL to a cluster node: got %v, want ErrRedisUnfit naming redis-cluster://", err)
		}
	})
}

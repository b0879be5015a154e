package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// ErrRedisUnfit marks a Redis that answers but must not hold the queues: a node of a
// cluster reached as one server, or a server that evicts keys. Both processes refuse to
// start on one, and /readyz reports it.
var ErrRedisUnfit = errors.New("redis is unfit for the queues")

// RedisClient returns a go-redis client for opt: one server, Sentinel's master or a
// Cluster, as Asynq itself would connect.
func RedisClient(opt asynq.RedisConnOpt) (redis.UniversalClient, error) {
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("REDIS_URL: no Redis client for %T", opt)
	}
	return rdb, nil
}

// RedisCheck looks at the Redis of REDIS_URL: that it answers, that a plain URL does not
// reach a node of a Redis Cluster (whose other nodes' slots would answer MOVED to every
// queue they hold), and that it does not evict keys. An evicting Redis (maxmemory set and
// a maxmemory-policy other than noeviction) drops queued tasks, or leaves the hash of an
// active task gone behind its entry, silently: batches stay unfinished for good.
type RedisCheck struct {
	rdb redis.UniversalClient
	log zerolog.Logger
	// unchecked is logged once: a server that refuses CONFIG GET and INFO (some managed
	// Redis services rename them) keeps refusing them.
	unchecked sync.Once
}

// NewRedisCheck returns a check of the Redis behind rdb.
func NewRedisCheck(rdb redis.UniversalClient, log zerolog.Logger) *RedisCheck {
	return &RedisCheck{rdb: rdb, log: log.With().Str("component", "redis_check").Logger()}
}

// Check returns nil when Redis answers and may hold the queues; an error wrapping
// ErrRedisUnfit when it answers and must not; another error when it does not answer.
func (c *RedisCheck) Check(ctx context.Context) error {
	if cc, ok := c.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return c.checkEviction(ctx, node, node.Options().Addr)
		})
	}
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	info, err := c.rdb.Info(ctx, "cluster").Result()
	switch {
	case err != nil:
		c.cannotCheck("cluster_enabled", err)
	case infoField(info, "cluster_enabled") == "1":
		return fmt.Errorf("%w: REDIS_URL reaches a node of a Redis Cluster (INFO cluster says cluster_enabled:1), which answers MOVED for the queues other nodes hold; name the cluster's nodes as redis-cluster://HOST1:PORT1,HOST2:PORT2,...",
			ErrRedisUnfit)
	}
	return c.checkEviction(ctx, c.rdb, "")
}

// Start runs Check at a process's start: an unfit Redis is refused (the error), one that
// does not answer yet is only logged, since /readyz reports it and Asynq connects when it
// can.
func (c *RedisCheck) Start(ctx context.Context) error {
	err := c.Check(ctx)
	switch {
	case errors.Is(err, ErrRedisUnfit):
		return err
	case err != nil:
		c.log.Warn().Err(err).Msg("redis does not answer at start; it is checked again by /readyz")
	}
	return nil
}

// checkEviction refuses a server with maxmemory set and a policy other than noeviction. It
// reads CONFIG GET, or INFO memory where CONFIG is refused; where both are, it logs that it
// could not check.
func (c *RedisCheck) checkEviction(ctx context.Context, rdb redis.Cmdable, addr string) error {
	policy, maxmemory, err := evictionSettings(ctx, rdb)
	if err != nil {
		c.cannotCheck("maxmemory-policy", err)
		return nil
	}
	if maxmemory == 0 || policy == "noeviction" {
		return nil
	}
	where := "Redis"
	if addr != "" {
		where = "Redis node " + addr
	}
	return fmt.Errorf("%w: %s evicts keys (maxmemory-policy %s with maxmemory %d bytes), which drops queued tasks and loses batches; set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and the same in redis.conf), or maxmemory 0",
		ErrRedisUnfit, where, policy, maxmemory)
}

// cannotCheck logs once that a setting could not be read.
func (c *RedisCheck) cannotCheck(setting string, err error) {
	c.unchecked.Do(func() {
		c.log.Warn().Err(err).Str("setting", setting).
			Msg("could not check redis's settings (CONFIG GET and INFO refused); make sure maxmemory-policy is noeviction and that REDIS_URL is not one node of a cluster")
	})
}

// evictionSettings reads maxmemory-policy and maxmemory.
func evictionSettings(ctx context.Context, rdb redis.Cmdable) (policy string, maxmemory int64, err error) {
	cfg, cerr := rdb.ConfigGet(ctx, "maxmemory*").Result()
	if cerr == nil && cfg["maxmemory-policy"] != "" {
		maxmemory, err = strconv.ParseInt(cfg["maxmemory"], 10, 64)
		return cfg["maxmemory-policy"], maxmemory, err
	}
	info, ierr := rdb.Info(ctx, "memory").Result()
	if ierr != nil {
		return "", 0, errors.Join(cerr, ierr)
	}
	policy = infoField(info, "maxmemory_policy")
	if policy == "" {
		return "", 0, errors.Join(cerr, errors.New("INFO memory has no maxmemory_policy"))
	}
	maxmemory, err = strconv.ParseInt(infoField(info, "maxmemory"), 10, 64)
	return policy, maxmemory, err
}

// infoField returns the value of field in the text of an INFO answer.
func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hibiken/asynq"
)

// RedisConn turns REDIS_URL into the connection every part of both processes uses (Asynq's
// servers, client and inspector, the queue UI, the reconciler, the watch and the health
// checks). It takes Asynq's own forms (redis://, rediss://, redis-socket://,
// redis-sentinel://, read by asynq.ParseRedisURI) and one more:
//
//	redis-cluster://[user:password@]host1:port1,host2:port2,...
//
// a Redis Cluster, reached through any of the nodes named (asynq.RedisClusterClientOpt). A
// redis:// or rediss:// URL naming several hosts is refused: Asynq would take the list for
// one address and fail at the first command.
func RedisConn(raw string) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included: keep only what is wrong.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("REDIS_URL is not a URL: %w", err)
	}
	switch u.Scheme {
	case "redis-cluster":
		return clusterConn(u)
	case "redis", "rediss":
		if strings.Contains(u.Host, ",") {
			return nil, fmt.Errorf("REDIS_URL %s names several hosts: a %s:// URL names one server; for a Redis Cluster write redis-cluster://%s, for Sentinel redis-sentinel://SENTINEL1:26379,SENTINEL2:26379?master=NAME",
				Redact(raw), u.Scheme, u.Host)
		}
	case "redis+cluster", "rediss-cluster", "rediss+cluster":
		return nil, fmt.Errorf("REDIS_URL scheme %s:// is not supported: a Redis Cluster is redis-cluster://HOST1:PORT1,HOST2:PORT2 (without TLS)", u.Scheme)
	}
	opt, err := asynq.ParseRedisURI(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w (the forms are redis://, rediss://, redis-socket://, redis-sentinel:// and redis-cluster://)", err)
	}
	return opt, nil
}

// clusterConn reads a redis-cluster:// URL.
func clusterConn(u *url.URL) (asynq.RedisConnOpt, error) {
	if u.Path != "" && u.Path != "/" && u.Path != "/0" {
		return nil, fmt.Errorf("REDIS_URL: a Redis Cluster has database 0 only; drop %q from the URL", u.Path)
	}
	if u.RawQuery != "" {
		return nil, fmt.Errorf("REDIS_URL: a redis-cluster:// URL takes no query parameters, got %q", u.RawQuery)
	}
	var addrs []string
	for _, a := range strings.Split(u.Host, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !strings.Contains(a, ":") {
			a += ":6379"
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("REDIS_URL: redis-cluster:// names no node; write redis-cluster://HOST1:PORT1,HOST2:PORT2")
	}
	opt := asynq.RedisClusterClientOpt{Addrs: addrs}
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
	}
	return opt, nil
}

package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
)

func TestRedisConnForms(t *testing.T) {
	cases := []struct {
		url  string
		want asynq.RedisConnOpt
	}{
		{"redis://localhost:6379/0", asynq.RedisClientOpt{Addr: "localhost:6379"}},
		{"redis://:pw@10.0.0.1:6380/2", asynq.RedisClientOpt{Addr: "10.0.0.1:6380", Password: "pw", DB: 2}},
		{"redis-sentinel://:spw@s1:26379,s2:26379,s3:26379?master=mymaster",
			asynq.RedisFailoverClientOpt{MasterName: "mymaster", SentinelAddrs: []string{"s1:26379", "s2:26379", "s3:26379"}, SentinelPassword: "spw"}},
		{"redis-cluster://n1:7000,n2:7001,n3:7002", asynq.RedisClusterClientOpt{Addrs: []string{"n1:7000", "n2:7001", "n3:7002"}}},
		{"redis-cluster://app:secret@n1:7000,n2:7001", asynq.RedisClusterClientOpt{Addrs: []string{"n1:7000", "n2:7001"}, Username: "app", Password: "secret"}},
		{"redis-cluster://:secret@n1:7000/", asynq.RedisClusterClientOpt{Addrs: []string{"n1:7000"}, Password: "secret"}},
	}
	for _, c := range cases {
		got, err := RedisConn(c.url)
		if err != nil {
			t.Errorf("%s: got error %v, want %+v", c.url, err, c.want)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.url, got, c.want)
		}
	}
}

func TestRedisConnRefusesWhatWouldFailLater(t *testing.T) {
	cases := map[string]string{
		"redis://n1:7000,n2:7001/0":      "redis-cluster://n1:7000,n2:7001",
		"rediss://n1:7000,n2:7001":       "redis-cluster://",
		"redis-cluster://":               "names no node",
		"redis-cluster://n1:7000/3":      "database 0 only",
		"redis-cluster://n1:7000?db=1":   "no query parameters",
		"redis+cluster://n1:7000":        "redis-cluster://",
		"memcache://localhost:11211":     "unsupported uri scheme",
		"redis+sentinel://s1:26379?m=x":  "redis-sentinel://",
		"redis://:pw@n1:1,n2:2/0":        "xxxxx",
		"redis://localhost:notaport/0/x": "",
		"redis-cluster://:pw@n1:7000,n2": "not a URL",
	}
	for url, want := range cases {
		_, err := RedisConn(url)
		if want == "" {
			continue // only that it does not panic
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("%s: the error shows the password: %v", url, err)
		}
	}
}

func TestParseRefusesABadRedisURL(t *testing.T) {
	_, err := Parse(func(k string) string {
		if k == "REDIS_URL" {
			return "redis://a:1,b:2"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "redis-cluster://") {
		t.Errorf("got %v, want the configuration refused with a message naming redis-cluster://", err)
	}
}

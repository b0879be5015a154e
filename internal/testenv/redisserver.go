package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server process of a test's own, on 127.0.0.1, with no persistence:
// a test can stop, kill, restart or flush it without touching the Redis other tests share.
type RedisServer struct {
	t    testing.TB
	bin  string
	dir  string // the server's --dir, empty because nothing is saved
	port int
	conf string   // a configuration file, the first argument (a sentinel's), or ""
	args []string // extra redis-server arguments
	// busPort is a cluster node's bus port; 0 for a server that is not a cluster node.
	busPort int
	client  *redis.Client

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	starts int
}

// StartRedisServer starts a private redis-server on a free port, waits until it answers PING
// and stops it when the test ends; it fails the test when redis-server is not on PATH. args
// are more redis-server arguments, such as "--maxmemory", "5mb".
func StartRedisServer(t testing.TB, args ...string) *RedisServer {
	t.Helper()
	return startServer(t, "", args...)
}

// startServer starts redis-server with configuration file conf ("" for none) and args.
func startServer(t testing.TB, conf string, args ...string) *RedisServer {
	t.Helper()
	return startNode(t, conf, false, args...)
}

// startNode starts redis-server with configuration file conf ("" for none) and args, as a
// cluster node when cluster is set.
func startNode(t testing.TB, conf string, cluster bool, args ...string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("testenv: this test runs a Redis server of its own and needs redis-server on PATH (apt-get install redis-server, brew install redis): %v", err)
	}
	s := &RedisServer{t: t, bin: bin, dir: t.TempDir(), conf: conf, args: args}
	if cluster {
		s.busPort = -1 // chosen at each try
	}
	// The free port is found by listening and closing, so another process may take it before
	// redis-server binds it; a few tries make that harmless.
	var lastErr error
	for range 5 {
		s.port = freePort(t)
		if s.busPort != 0 {
			s.busPort = freePort(t)
		}
		if lastErr = s.start(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("testenv: start redis-server: %v", lastErr)
	}
	s.client = redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() {
		s.client.Close()
		s.Kill() // nothing is saved, so there is nothing to shut down gracefully for
	})
	return s
}

// Port returns the server's port.
func (s *RedisServer) Port() int { return s.port }

// Log returns the end of the server's log, for a test's failure message.
func (s *RedisServer) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tail(filepath.Join(s.dir, fmt.Sprintf("redis-%d-%d.log", s.port, s.starts)))
}

// addrs returns the host:port of each server.
func addrs(servers []*RedisServer) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Addr()
	}
	return out
}

// Addr returns the server's host:port.
func (s *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns the server's redis:// URL, database 0.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Redis returns the whole server as a test's Redis, with an empty Prefix: processes using the
// default queue names (a real worker binary) see the test's tasks. Its client is closed when
// the test ends; the keys go with the server.
func (s *RedisServer) Redis() Redis {
	return Redis{URL: s.URL(), Prefix: "", Opt: asynq.RedisClientOpt{Addr: s.Addr()}, Client: s.client}
}

// Stop shuts the server down with SIGTERM and waits for it to exit.
func (s *RedisServer) Stop() { s.signal(syscall.SIGTERM) }

// Kill kills the server with SIGKILL, as a crash or an OOM kill would, and waits for it.
func (s *RedisServer) Kill() { s.signal(syscall.SIGKILL) }

// Start starts the server again on the same port, empty, and waits until it answers PING;
// it stops a server that is still running first.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("testenv: restart redis-server on %s: %v", s.Addr(), err)
	}
}

// FlushAll deletes every key on the server, as a failover to an empty replica would.
func (s *RedisServer) FlushAll() {
	s.t.Helper()
	if err := s.client.FlushAll(context.Background()).Err(); err != nil {
		s.t.Fatalf("testenv: FLUSHALL on %s: %v", s.Addr(), err)
	}
}

func (s *RedisServer) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// start runs redis-server on s.port and waits for PING; a server that exits first (the port
// is taken, say) is reported with the end of its log.
func (s *RedisServer) start() error {
	s.mu.Lock()
	s.starts++
	logFile := filepath.Join(s.dir, fmt.Sprintf("redis-%d-%d.log", s.port, s.starts))
	s.mu.Unlock()
	var argv []string
	if s.conf != "" {
		argv = append(argv, s.conf)
	}
	cmd := exec.Command(s.bin, append(append(argv,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no",
		"--logfile", logFile, "--loglevel", "notice"), s.args...)...)
	if s.busPort != 0 {
		// The cluster bus listens by default on the port plus 10000, which may be taken
		// (or past 65535): it gets a free port of its own.
		cmd.Args = append(cmd.Args, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(s.busPort))
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	ping := redis.NewClient(&redis.Options{Addr: s.Addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer ping.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := ping.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, tail(logFile))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on port %d did not answer PING within 10s (%v): %s", s.port, err, tail(logFile))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log)"
		}
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/testenv"
)

// TestProcesses runs the real api and worker binaries: they refuse a database whose schema
// is behind, migrate and seed-demo are safe to run again, and both stop cleanly on SIGTERM.
func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := t.TempDir()
	for _, name := range []string{"api", "worker"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, name), "github.com/multiline/onboarding/cmd/"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	db, dbURL := testenv.DB(t)
	db.MustExec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`) // an empty database
	redis := testenv.NewRedis(t)
	apiAddr, workerAddr := freeAddr(t), freeAddr(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "REDIS_URL="+redis.URL, "SMTP_URL=smtp://mailer:s3cret-pass@127.0.0.1:1",
		"API_ADDR="+apiAddr, "WORKER_ADDR="+workerAddr, "LOG_LEVEL=info")
	run := func(name string, args ...string) (string, string, error) {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	t.Run("refuse a schema that is behind", func(t *testing.T) {
		for _, c := range [][]string{{"api", "serve"}, {"worker"}} {
			_, stderr, err := run(c[0], c[1:]...)
			if err == nil || !strings.Contains(stderr, "run `api migrate`") {
				t.Errorf("%s on an empty database: got err %v, stderr %s; want a refusal naming api migrate", c[0], err, stderr)
			}
		}
	})
	t.Run("migrate and seed-demo run twice", func(t *testing.T) {
		var orgs []string
		for i := range 2 {
			_, stderr, err := run("api", "migrate")
			if err != nil {
				t.Fatalf("migrate: %v\n%s", err, stderr)
			}
			// The first run on the empty database applies every migration and says so; the
			// second has nothing to apply.
			want, notWant := `"applied":[1,`, "up to date"
			if i == 1 {
				want, notWant = "database is up to date", `"applied"`
			}
			if !strings.Contains(stderr, want) || strings.Contains(stderr, notWant) {
				t.Errorf("migrate run %d: got %s, want %q and not %q", i+1, stderr, want, notWant)
			}
			stdout, stderr, err := run("api", "seed-demo")
			if err != nil {
				t.Fatalf("seed-demo: %v\n%s", err, stderr)
			}
			var seed map[string]string
			if err := json.Unmarshal([]byte(stdout), &seed); err != nil || seed["admin_token"] == "" || seed["permission_group_id"] == "" {
				t.Fatalf("seed-demo printed %q, want the JSON of SPEC.md", stdout)
			}
			orgs = append(orgs, seed["organization_id"])
		}
		if orgs[0] != orgs[1] {
			t.Errorf("seed-demo made a second organization: %v", orgs)
		}
	})
	t.Run("stop cleanly on SIGTERM", func(t *testing.T) {
		for _, c := range []struct {
			name, addr, ready, stopped string
			args                       []string
		}{
			{"api", apiAddr, "/readyz", "api stopped cleanly", []string{"serve"}},
			{"worker", workerAddr, "/readyz", "worker stopped cleanly", nil},
		} {
			cmd := exec.Command(filepath.Join(bin, c.name), c.args...)
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitReady(t, "http://"+c.addr+c.ready, cmd)
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil || !strings.Contains(stderr.String(), c.stopped) {
					t.Errorf("%s after SIGTERM: exit %v, want 0 and %q in:\n%s", c.name, err, c.stopped, stderr.String())
				}
				if n := strings.Count(stderr.String(), `"message":"configuration"`); n != 1 || strings.Contains(stderr.String(), "s3cret-pass") {
					t.Errorf("%s: configuration logged %d times, password masked %v; want once and masked", c.name, n, !strings.Contains(stderr.String(), "s3cret-pass"))
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Errorf("%s did not stop within 30s of SIGTERM", c.name)
			}
		}
	})
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t *testing.T, url string, cmd *exec.Cmd) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatalf("%s never answered 200", url)
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/stacktest"
)

// setup starts a stack with a worker and an organization with numbers, and returns a runner
// of mlctl against it.
func setup(t *testing.T) (s *stacktest.Stack, orgID, groupID string, mlctl func(args ...string) (int, string, string)) {
	t.Helper()
	s = stacktest.New(t)
	s.StartWorker(4)
	orgID, groupID = s.Org("Acme", 100, 20)
	mlctl = func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		all := append([]string{}, args...)
		if len(all) > 0 {
			all = append(all[:1:1], append([]string{"--url", s.API.URL, "--token", s.RootToken}, all[1:]...)...)
		}
		code := run(ctx, all, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	return s, orgID, groupID, mlctl
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUploadCommand(t *testing.T) {
	s, org, group, mlctl := setup(t)
	badRow := append(stacktest.CSV("acme.example", 50, 2), []byte("Bad,Row,not-an-address,Maybe,,auto,on,,English\r\n")...)
	headerOnly := []byte(strings.SplitAfter(string(stacktest.CSV("x.example", 0, 0)), "\n")[0])

	t.Run("wait saves the report and exits 0", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "report.csv")
		file := writeFile(t, "accounts.csv", stacktest.CSV("acme.example", 1, 5))
		code, out, errOut := mlctl("upload", file, "--org", org, "--permission-group", group, "--invite", "--wait", "--poll", "100ms", "--report", report)
		if code != exitOK {
			t.Fatalf("exit: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if !strings.Contains(out, "5 succeeded, 0 failed, 0 canceled of 5; report saved to "+report) {
			t.Errorf("stdout: got\n%s\nwant the summary line", out)
		}
		if !strings.Contains(out, "5/5 processed") {
			t.Errorf("stdout: got\n%s\nwant plain progress lines (not a terminal)", out)
		}
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatalf("report: %v", err)
		}
		if lines := strings.Count(strings.TrimSpace(string(b)), "\n"); lines != 5 {
			t.Errorf("report: got %d data lines, want 5", lines)
		}
		s.SMTP.WaitForMessages(t, 5, 10*time.Second)
	})

	t.Run("one bad row exits 1 with the default report name", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		file := writeFile(t, "bad.csv", badRow)
		code, out, errOut := mlctl("upload", "--org", org, "--permission-group", group, file, "--wait", "--poll", "100ms")
		if code != exitFailed {
			t.Fatalf("exit: got %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		id := strings.Fields(out)[1]
		if _, err := os.Stat(filepath.Join(dir, "batch-"+strings.TrimSuffix(id, ":")+"-report.csv")); err != nil {
			t.Errorf("default report file: %v\nstdout:\n%s", err, out)
		}
		if !strings.Contains(out, "2 succeeded, 1 failed") {
			t.Errorf("stdout: got\n%s\nwant 2 succeeded, 1 failed", out)
		}
	})

	t.Run("header-only file exits 2 with the API's words", func(t *testing.T) {
		file := writeFile(t, "empty.csv", headerOnly)
		code, out, errOut := mlctl("upload", file, "--org", org, "--permission-group", group, "--wait")
		if code != exitUsage {
			t.Fatalf("exit: got %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "mlctl: The file has a header but no accounts") || !strings.Contains(errOut, "no_rows, HTTP 422") {
			t.Errorf("stderr: got\n%s\nwant the no_rows message", errOut)
		}
	})

	t.Run("dry run prints the errors", func(t *testing.T) {
		file := writeFile(t, "check.csv", append(stacktest.CSV("dry.example", 1, 1), []byte("Bad,Row,not-an-address,Maybe,,auto,on,,English\r\n")...))
		code, out, errOut := mlctl("upload", file, "--org", org, "--permission-group", group, "--dry-run")
		if code != exitFailed {
			t.Fatalf("exit: got %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if !strings.Contains(out, "Row 3\tsocial_messaging\tRow 3, social_messaging: ") || !strings.Contains(out, "2 rows: 1 ready to import, 1 with problems") {
			t.Errorf("stdout: got\n%s\nwant row 3's social_messaging error and the summary", out)
		}
	})

	t.Run("dry run with invite prints the shortfall", func(t *testing.T) {
		short, shortGroup := s.Org("Short", 500, 2)
		file := writeFile(t, "five.csv", stacktest.CSV("short.example", 1, 5))
		code, out, errOut := mlctl("upload", file, "--org", short, "--permission-group", shortGroup, "--dry-run", "--invite")
		if code != exitFailed {
			t.Fatalf("exit: got %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if !strings.Contains(out, "5 rows: 5 ready to import, 0 with problems") ||
			!strings.Contains(out, "Numbers: 5 rows need a free number, only 2 available: about 3 rows will fail with no number") {
			t.Errorf("stdout: got\n%s\nwant the summary and the shortfall", out)
		}
		if got := strings.Count(out, "\tmultiline_number\tWarning: Row "); got != 3 {
			t.Errorf("stdout: got %d warning lines, want 3:\n%s", got, out)
		}
		code, out, _ = mlctl("upload", file, "--org", short, "--permission-group", shortGroup, "--dry-run")
		if code != exitOK || strings.Contains(out, "Numbers:") || strings.Contains(out, "Warning") {
			t.Errorf("without --invite: got exit %d\n%s\nwant 0 and no shortfall", code, out)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"upload", "--org", org},
			{"upload", "a.csv", "b.csv", "--org", org, "--permission-group", group},
			{"upload", "a.csv", "--org", org, "--permission-group", group, "--report", "x.csv"},
			{"upload", "--nope"},
			{"frobnicate"},
			{"report"},
		} {
			if code, _, errOut := mlctl(args...); code != exitUsage {
				t.Errorf("mlctl %s: got exit %d, want 2 (stderr %q)", strings.Join(args, " "), code, errOut)
			}
		}
	})
}

func TestUploadScriptCommands(t *testing.T) {
	s, org, group, mlctl := setup(t)
	dest, _ := s.Org("Dest", 500, 5)
	file := writeFile(t, "accounts.csv", stacktest.CSV("acme.example", 1, 2))
	if code, out, errOut := mlctl("upload", file, "--org", org, "--permission-group", group, "--wait", "--poll", "100ms",
		"--report", filepath.Join(t.TempDir(), "r.csv")); code != exitOK {
		t.Fatalf("upload: exit %d\n%s\n%s", code, out, errOut)
	}

	t.Run("batches", func(t *testing.T) {
		code, out, errOut := mlctl("batches", "--org", org)
		if code != exitOK || !strings.Contains(out, "completed") || !strings.Contains(out, "accounts.csv") {
			t.Fatalf("batches: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})

	t.Run("token and URL from the environment", func(t *testing.T) {
		t.Setenv("MULTILINE_TOKEN", s.RootToken)
		t.Setenv("MULTILINE_URL", s.API.URL)
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"batches", "--org", org}, &stdout, &stderr); code != exitOK ||
			!strings.Contains(stdout.String(), "accounts.csv") {
			t.Errorf("batches: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant 0 and the batch", code, stdout.String(), stderr.String())
		}
	})

	t.Run("report", func(t *testing.T) {
		var list struct {
			Batches []batch `json:"batches"`
		}
		s.Do(http.MethodGet, "/v1/organizations/"+org+"/batches", s.RootToken, nil).JSON(t, &list)
		code, out, errOut := mlctl("report", list.Batches[0].ID, "-o", "-")
		if code != exitOK || !strings.Contains(out, "user1@acme.example") {
			t.Fatalf("report: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if code, _, errOut := mlctl("report", "no-such-batch"); code != exitFailed || !strings.Contains(errOut, "batch_not_found") {
			t.Errorf("report of a missing batch: got exit %d, stderr %q; want 1 and batch_not_found", code, errOut)
		}
		xlsx := filepath.Join(t.TempDir(), "report.xlsx")
		if code, _, errOut := mlctl("report", list.Batches[0].ID, "-o", xlsx); code != exitOK {
			t.Fatalf("report -o report.xlsx: exit %d, stderr %q", code, errOut)
		}
		if b, err := os.ReadFile(xlsx); err != nil || !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
			t.Errorf("report -o report.xlsx: got %.8q (%v), want a workbook (a zip file)", b, err)
		}
		if code, _, errOut := mlctl("report", list.Batches[0].ID, "--xlsx", "-o", "r.csv"); code != exitUsage {
			t.Errorf("report --xlsx -o r.csv: got exit %d, stderr %q; want a usage error", code, errOut)
		}
	})

	var accounts struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	s.Do(http.MethodGet, "/v1/organizations/"+org+"/accounts", s.RootToken, nil).JSON(t, &accounts)
	if len(accounts.Accounts) != 2 {
		t.Fatalf("accounts: got %d, want 2", len(accounts.Accounts))
	}
	ids := []string{accounts.Accounts[0].ID, accounts.Accounts[1].ID}

	t.Run("resend", func(t *testing.T) {
		code, out, errOut := mlctl(append([]string{"resend", "--org", org}, ids...)...)
		if code != exitOK || !strings.Contains(out, "2 invitations queued, 0 not sent") {
			t.Fatalf("resend: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})

	t.Run("move refused prints object details as JSON", func(t *testing.T) {
		empty, _ := s.Org("Empty", 900, 0)
		code, out, errOut := mlctl(append([]string{"move", "--to", empty}, ids...)...)
		if code != exitFailed {
			t.Fatalf("move to an organization without numbers: got exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "\n  {\"available\":0,\"needed\":2}\n") || strings.Contains(errOut, "map[") {
			t.Errorf("stderr: got\n%s\nwant the detail as {\"available\":0,\"needed\":2}", errOut)
		}
	})

	t.Run("move", func(t *testing.T) {
		code, out, errOut := mlctl(append([]string{"move", "--to", dest}, ids...)...)
		if code != exitOK || !strings.Contains(out, fmt.Sprintf("2 accounts moved to %s", dest)) {
			t.Fatalf("move: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if strings.Count(out, "\tgroup Staff\n") != 2 {
			t.Errorf("move: got\n%s\nwant each account in the destination's default group, Staff", out)
		}
	})
}

func TestUploadTokenFromEnvironment(t *testing.T) {
	t.Setenv("MULTILINE_TOKEN", "")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"batches", "--org", "x"}, &stdout, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "MULTILINE_TOKEN") {
		t.Errorf("no token: got exit %d, stderr %q; want 2 naming MULTILINE_TOKEN", code, stderr.String())
	}
}

func TestHelp(t *testing.T) {
	t.Setenv("MULTILINE_TOKEN", "s3cret-token")
	t.Setenv("MULTILINE_URL", "http://api.example:9999")
	mlctl := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if code, out, errOut := mlctl(args...); code != exitOK || !strings.Contains(out, "Usage:") || errOut != "" {
			t.Errorf("mlctl %s: got exit %d, stdout %q, stderr %q; want 0 and the usage on stdout only", args[0], code, out, errOut)
		}
	}
	for _, h := range []string{"-h", "--help"} {
		code, out, errOut := mlctl("upload", h)
		if code != exitOK || errOut != "" || !strings.Contains(out, "-permission-group") {
			t.Errorf("mlctl upload %s: got exit %d, stdout %q, stderr %q; want 0 and the flags on stdout only", h, code, out, errOut)
		}
		if !strings.Contains(out, "API base URL (default $MULTILINE_URL, else http://localhost:8080)\n") ||
			strings.Contains(out, "api.example") || strings.Contains(out, "s3cret") {
			t.Errorf("mlctl upload %s: got\n%s\nwant one default for --url and neither environment value shown", h, out)
		}
	}
	if code, out, errOut := mlctl("upload", "--nope"); code != exitUsage || out != "" ||
		!strings.Contains(errOut, "flag provided but not defined: -nope") || !strings.Contains(errOut, "-permission-group") {
		t.Errorf("mlctl upload --nope: got exit %d, stdout %q, stderr %q; want 2, the problem and the flags on stderr", code, out, errOut)
	}
	if code, out, errOut := mlctl(); code != exitUsage || out != "" || !strings.Contains(errOut, "Usage:") {
		t.Errorf("mlctl: got exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, out, errOut)
	}
}

func TestUploadProgressBar(t *testing.T) {
	done := time.Now()
	for _, tc := range []struct {
		b    batch
		left string
		want string
	}{
		{batch{Total: 10}, "", "[..............................]   0%  0/10  ok 0  failed 0"},
		{batch{Total: 10, Processed: 5, Succeeded: 4, Failed: 1}, "about 5s left", "[###############...............]  50%  5/10  ok 4  failed 1  about 5s left"},
		{batch{Total: 10, Processed: 10, Succeeded: 10, FinishedAt: &done}, "", "[##############################] 100%  10/10  ok 10  failed 0"},
	} {
		if got := bar(tc.b, tc.left); got != tc.want {
			t.Errorf("bar: got %q, want %q", got, tc.want)
		}
	}
	six := 6
	if got := eta(batch{Total: 10, Processed: 4, SecondsLeft: &six}); got != "about 6s left" {
		t.Errorf("eta: got %q, want about 6s left", got)
	}
	if got := eta(batch{Total: 10, Processed: 4}); got != "" {
		t.Errorf("eta without an estimate: got %q, want nothing", got)
	}
}

func TestUploadProgressOnTerminal(t *testing.T) {
	s, org, group, _ := setup(t)
	var bt batch
	s.Upload(s.RootToken, org, group, stacktest.CSV("tty.example", 1, 20), nil).JSON(t, &bt)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if _, err := waitBatch(ctx, newClient(s.API.URL, s.RootToken), bt, 10*time.Millisecond, &out, true); err != nil {
		t.Fatalf("waitBatch: %v", err)
	}
	got := out.String()
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("output: got %q, want it to end the bar's line", got)
	}
	draws := strings.Split(strings.TrimSuffix(got, "\n"), "\r")[1:]
	if len(draws) == 0 {
		t.Fatalf("output: got %q, want the bar drawn with \\r", got)
	}
	for _, d := range draws {
		if !strings.HasPrefix(d, clearLine) || strings.HasSuffix(d, " ") {
			t.Errorf("draw: got %q, want it to clear the line first and no padding", d)
		}
	}
	if last := draws[len(draws)-1]; last != clearLine+"[##############################] 100%  20/20  ok 20  failed 0" {
		t.Errorf("last draw: got %q, want the cleared line with the 100%% bar alone", last)
	}

	out.Reset()
	if _, err := waitBatch(ctx, newClient(s.API.URL, s.RootToken), bt, 10*time.Millisecond, &out, false); err != nil {
		t.Fatalf("waitBatch: %v", err)
	}
	if got := out.String(); strings.ContainsAny(got, "\r\x1b") {
		t.Errorf("not a terminal: got %q, want plain lines without \\r or escapes", got)
	}
}

func TestTemplateCommand(t *testing.T) {
	_, org, _, mlctl := setup(t)
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, errOut := mlctl("template", "--org", org)
	if code != exitOK || !strings.Contains(out, "multiline-accounts-template.csv") {
		t.Fatalf("csv: got %d %q %q, want 0 and the file name", code, out, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "multiline-accounts-template.csv")); err != nil || !bytes.HasPrefix(b, []byte("firstname,")) {
		t.Errorf("csv template: got %q, %v", b, err)
	}
	xlsx := filepath.Join(dir, "t.xlsx")
	code, out, errOut = mlctl("template", "--org", org, "--xlsx", "-o", xlsx)
	if code != exitOK || !strings.Contains(out, xlsx) {
		t.Fatalf("xlsx: got %d %q %q, want 0 and the file name", code, out, errOut)
	}
	if b, err := os.ReadFile(xlsx); err != nil || !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		t.Errorf("xlsx template: got %d bytes, %v; want a zip archive", len(b), err)
	}
	if code, _, errOut := mlctl("template"); code != exitUsage || !strings.Contains(errOut, "--org") {
		t.Errorf("no --org: got %d %q, want 2 naming --org", code, errOut)
	}
}

func TestListCommands(t *testing.T) {
	s, org, group, mlctl := setup(t)
	s.Invite(org, group, stacktest.CSV("list.example", 1, 1))
	file := writeFile(t, "one.csv", stacktest.CSV("list.example", 2, 1))
	code, out, errOut := mlctl("upload", file, "--org", org, "--permission-group", group, "--wait", "--poll", "50ms",
		"--report", filepath.Join(t.TempDir(), "r.csv"))
	if code != exitOK || !strings.Contains(out, ": 1 row accepted (") {
		t.Fatalf("upload of one row: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant 0 and \"1 row accepted\"", code, out, errOut)
	}
	accounts := s.Accounts(org)
	invited, notInvited := accounts["user1@list.example"], accounts["user2@list.example"]
	zone := time.Now().Format("MST")

	t.Run("orgs", func(t *testing.T) {
		code, out, errOut := mlctl("orgs")
		if code != exitOK {
			t.Fatalf("orgs: got exit %d, stderr %q", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") {
			t.Fatalf("orgs: got\n%s\nwant a header and one organization", out)
		}
		if f := strings.Fields(lines[1]); len(f) != 8 || f[0] != org || f[1] != "Acme" || f[2] != "19" || f[3] != "1" || f[7] != zone {
			t.Errorf("orgs: got %q, want id, Acme, 19 available, 1 reserved, a time in %s", lines[1], zone)
		}
	})

	t.Run("groups", func(t *testing.T) {
		code, out, errOut := mlctl("groups", "--org", org)
		if code != exitOK || !strings.Contains(out, group+"  Staff  ") || !strings.HasSuffix(strings.TrimSpace(out), " "+zone) {
			t.Errorf("groups: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant the Staff group with a time in %s", code, out, errOut, zone)
		}
		if code, _, errOut := mlctl("groups"); code != exitUsage || !strings.Contains(errOut, "--org") {
			t.Errorf("groups without --org: got exit %d, stderr %q; want 2 naming --org", code, errOut)
		}
	})

	t.Run("accounts", func(t *testing.T) {
		code, out, errOut := mlctl("accounts", "--org", org)
		if code != exitOK || !strings.Contains(out, invited.ID) || !strings.Contains(out, notInvited.ID) {
			t.Fatalf("accounts: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant both accounts", code, out, errOut)
		}
		for _, tc := range []struct{ status, want, not string }{
			{"invited", invited.ID, notInvited.ID},
			{"not_invited", notInvited.ID, invited.ID},
		} {
			code, out, errOut := mlctl("accounts", "--org", org, "--status", tc.status)
			if code != exitOK || !strings.Contains(out, tc.want) || strings.Contains(out, tc.not) {
				t.Errorf("accounts --status %s: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant %s only", tc.status, code, out, errOut, tc.want)
			}
		}
		if _, out, _ := mlctl("accounts", "--org", org, "--status", "active"); strings.Count(out, "\n") != 1 {
			t.Errorf("accounts --status active: got\n%s\nwant the header alone", out)
		}
		if code, _, errOut := mlctl("accounts", "--org", org, "--status", "pending"); code != exitUsage || !strings.Contains(errOut, "not_invited, invited, invitation_failed, invitation_expired, active") {
			t.Errorf("accounts --status pending: got exit %d, stderr %q; want 2 listing the statuses", code, errOut)
		}
	})

	t.Run("accounts past one page", func(t *testing.T) {
		big, bigGroup := s.Org("Big", 800, 0)
		for _, file := range [][]byte{stacktest.CSV("big.example", 1, 1000), stacktest.CSV("big.example", 1001, 1)} { // 1000 a file at most
			got := s.Upload(s.RootToken, big, bigGroup, file, nil)
			if got.Status != http.StatusAccepted {
				t.Fatalf("upload: got %d %s, want 202", got.Status, got.Body)
			}
			var b batch
			got.JSON(t, &b)
			if done := s.WaitBatch(b.ID, time.Minute); done.Failed != 0 {
				t.Fatalf("batch: got %d failed, want 0", done.Failed)
			}
		}
		code, out, errOut := mlctl("accounts", "--org", big)
		if got := strings.Count(out, "@big.example"); code != exitOK || got != 1001 || !strings.Contains(out, "user1001@big.example") {
			t.Errorf("accounts: got exit %d and %d accounts (stderr %q), want all 1001 over two pages", code, got, errOut)
		}
	})

	t.Run("one of a thing is singular", func(t *testing.T) {
		s.AgeInvitations(2*time.Minute, invited.ID)
		if _, out, errOut := mlctl("resend", "--org", org, invited.ID); !strings.Contains(out, "1 invitation queued, 0 not sent") {
			t.Errorf("resend: got\n%s%s\nwant 1 invitation queued", out, errOut)
		}
		check := writeFile(t, "check.csv", stacktest.CSV("list.example", 3, 1))
		if _, out, _ := mlctl("upload", check, "--org", org, "--permission-group", group, "--dry-run"); !strings.Contains(out, "1 row: 1 ready to import, 0 with problems") {
			t.Errorf("dry run: got\n%s\nwant 1 row", out)
		}
		dest, _ := s.Org("Dest", 700, 1)
		if _, out, errOut := mlctl("move", "--to", dest, invited.ID); !strings.Contains(out, "1 account moved to "+dest) {
			t.Errorf("move: got\n%s%s\nwant 1 account moved", out, errOut)
		}
	})
}

func TestFormatTime(t *testing.T) {
	at := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	if got, want := formatTime(at, time.FixedZone("CET", 3600)), "2026-12-01 22:00:00 CET"; got != want {
		t.Errorf("formatTime: got %q, want %q", got, want)
	}
}

// Every error mlctl prints is a line "mlctl: " and a message that starts with a capital,
// whether mlctl composed it (usage, a file it cannot read, no token) or the API did.
func TestErrorsStartWithACapital(t *testing.T) {
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 1)
	missing := filepath.Join(t.TempDir(), "missing.csv")
	empty := writeFile(t, "empty.csv", []byte("firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms\r\n"))
	auth := []string{"--url", s.API.URL, "--token", s.RootToken}
	for _, tc := range []struct {
		name string
		args []string
		want string // the start of the message
	}{
		{"unknown command", []string{"frobnicate"}, `Unknown command "frobnicate"`},
		{"no token", []string{"orgs", "--url", s.API.URL, "--token", ""}, "No admin token"},
		{"usage", append([]string{"batches"}, auth...), "The batches command takes --org"},
		{"usage of upload", append([]string{"upload", "--org", org}, auth...), "The upload command takes one FILE"},
		{"file not readable", append([]string{"upload", missing, "--org", org, "--permission-group", group}, auth...), "Read " + missing},
		{"API refusal", append([]string{"upload", empty, "--org", org, "--permission-group", group}, auth...), "The file has a header but no accounts"},
		{"API not found", append([]string{"report", "no-such-batch"}, auth...), `No batch has id "no-such-batch"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("MULTILINE_TOKEN", "")
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code == exitOK {
				t.Fatalf("got exit 0, want an error; stdout %q", stdout.String())
			}
			first, _, _ := strings.Cut(stderr.String(), "\n")
			if want := "mlctl: " + tc.want; !strings.HasPrefix(first, want) {
				t.Errorf("first line of stderr: got %q, want it to start with %q", first, want)
			}
		})
	}
}

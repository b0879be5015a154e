package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/multiline/onboarding/internal/stacktest"
)

// chromiumPath is Debian's chromium; the browser tests never download a browser.
const chromiumPath = "/usr/bin/chromium"

func TestUploadPageServed(t *testing.T) {
	s := stacktest.New(t)
	for _, tc := range []struct {
		path, contentType string
		status            int
		contains          string
	}{
		{"/", "text/html; charset=utf-8", http.StatusOK, `<script src="/ui/upload.js" defer></script>`},
		{"/ui/upload.js", "text/javascript; charset=utf-8", http.StatusOK, "sessionStorage"},
		{"/ui/api.js", "text/javascript; charset=utf-8", http.StatusOK, "Bearer"},
		{"/ui/progress.js", "text/javascript; charset=utf-8", http.StatusOK, "/cancel"},
		{"/ui/upload.css", "text/css; charset=utf-8", http.StatusOK, "progress"},
		{"/ui/upload.html", "application/json", http.StatusNotFound, "not_found"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := s.Do(http.MethodGet, tc.path, "", nil)
			if resp.Status != tc.status {
				t.Fatalf("status: got %d, want %d", resp.Status, tc.status)
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.contentType) {
				t.Errorf("Content-Type: got %q, want %q", got, tc.contentType)
			}
			if !strings.Contains(string(resp.Body), tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
			if tc.status == http.StatusOK {
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
					t.Errorf("Content-Security-Policy: got %q, want script-src 'self' and nothing inline", csp)
				}
			}
		})
	}
}

// browserContext starts headless Debian chromium with the flags this machine needs (its
// closed network refuses Chromium's background connections) and a fresh profile.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("chromium not installed: apt-get install chromium")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// waitJS evaluates expr until it is true. It polls from Go because Runtime.evaluate is not
// subject to the page's Content-Security-Policy, which forbids eval in the page.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("wait for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
			t.Fatalf("%s did not happen in %s; the page shows:\n%s", what, timeout, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func textOf(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).textContent`, id)))
	if err != nil {
		t.Fatalf("read #%s: %v", id, err)
	}
	return s
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrowserUpload walks the Multiple Accounts flow in headless Chromium: sign in with the
// keyboard, choose the organization and group, check a file with a bad row, Import & Invite
// a good file, watch the progress bar reach 100 %, download the report, and see a
// file-level error for a file with a header and no accounts.
func TestBrowserUpload(t *testing.T) {
	ctx := browserContext(t)
	s := stacktest.New(t)
	s.StartWorker(4)
	s.Org("Other Org", 900, 2)
	orgID, groupID := s.Org("Acme Onboarding", 100, 20)
	downloads := t.TempDir()

	const rows = 6
	good := writeTemp(t, "accounts.csv", stacktest.CSV("acme.example", 1, rows))
	badRow := writeTemp(t, "one-bad-row.csv", append(stacktest.CSV("acme.example", 50, 1),
		[]byte("Bad,Row,not-an-address,Maybe,,auto,on,,English\r\n")...))
	tooMany := writeTemp(t, "too-many.csv", stacktest.CSV("acme.example", 200, 22)) // 22 rows, 20 numbers
	headerOnly := writeTemp(t, "header-only.csv", []byte(strings.SplitAfter(string(stacktest.CSV("x.example", 0, 0)), "\n")[0]))

	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.API.URL+"/"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
			})
			return err
		}),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), s.RootToken+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("upload")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}

	t.Run("choose organization and group", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`{const s = document.getElementById("org"); s.value = %q; s.dispatchEvent(new Event("change"));}`, orgID))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the group list", fmt.Sprintf(`document.getElementById("group").value === %q`, groupID), 10*time.Second)
		if got := textOf(t, ctx, "org-numbers"); !strings.Contains(got, "20 available") {
			t.Errorf("numbers line: got %q, want 20 available", got)
		}
	})

	t.Run("check only lists row errors", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{badRow}),
			chromedp.Click(chromedp.ID("check")),
		); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the check result", `!document.getElementById("check-result").hidden`, 10*time.Second)
		if got := textOf(t, ctx, "check-summary"); !strings.Contains(got, "2 rows: 1 ready to import, 1 with problems") {
			t.Errorf("summary: got %q", got)
		}
		if got := textOf(t, ctx, "check-errors"); !strings.Contains(got, "social_messaging") {
			t.Errorf("errors table: got %q, want a social_messaging error", got)
		}
		problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#check-errors tbody td:nth-child(3)")].map((td) => td.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) == 0 {
			t.Fatal("problem cells: got none, want the row's errors")
		}
		for _, p := range problems {
			if strings.HasPrefix(strings.ToLower(p), "row ") {
				t.Errorf("problem cell %q repeats the row and column of its own row", p)
			}
			if r, _ := utf8.DecodeRuneInString(p); unicode.IsLower(r) {
				t.Errorf("problem cell %q starts lower case", p)
			}
		}
	})

	t.Run("check only warns of too few numbers", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{tooMany}),
			chromedp.Click(chromedp.ID("check")),
		); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the new check result", `document.getElementById("check-summary").textContent.startsWith("22 rows")`, 10*time.Second)
		want := "22 rows: 22 ready to import, 0 with problems. Import & Invite: only 20 numbers available for 22 rows that need one: about 2 rows will fail with no number."
		if got := textOf(t, ctx, "check-summary"); !strings.Contains(got, want) {
			t.Errorf("summary: got %q, want %q", got, want)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#check-errors tbody tr.warning").length`))
		if err != nil {
			t.Fatal(err)
		}
		if got := textOf(t, ctx, "check-errors"); n != 2 || !strings.Contains(got, "multiline_numberWarning: 22 rows need a free number and 20 are Available") {
			t.Errorf("table: got %d warning rows, %q; want 2, the last naming the shortfall", n, got)
		}
	})

	t.Run("import and invite reaches 100 %", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{good}),
			chromedp.Click(chromedp.ID("import-invite")),
		); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the progress bar at 100 %", `document.getElementById("progress-pct").textContent === "100 %" && !document.getElementById("report").hidden`, 60*time.Second)
		want := fmt.Sprintf("%d of %d rows processed: %d succeeded, 0 failed", rows, rows, rows)
		if got := textOf(t, ctx, "progress-text"); !strings.Contains(got, want) {
			t.Errorf("progress: got %q, want %q", got, want)
		}
		s.SMTP.WaitForMessages(t, rows, 10*time.Second)
		var o struct {
			Numbers struct{ Available, Reserved, Assigned int }
		}
		s.Do(http.MethodGet, "/v1/organizations/"+orgID, s.RootToken, nil).JSON(t, &o)
		if o.Numbers.Available != 20-rows {
			t.Fatalf("API numbers: got %+v, want %d available", o.Numbers, 20-rows)
		}
		want = fmt.Sprintf("Numbers: %d available, %d reserved, %d assigned", o.Numbers.Available, o.Numbers.Reserved, o.Numbers.Assigned)
		waitJS(t, ctx, "the numbers line refreshed", fmt.Sprintf(`document.getElementById("org-numbers").textContent === %q`, want), 5*time.Second)
	})

	t.Run("download report", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("report"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the report saved", `document.getElementById("report-status").textContent.startsWith("Report saved")`, 10*time.Second)
		var saved string
		deadline := time.Now().Add(10 * time.Second)
		for saved == "" && time.Now().Before(deadline) {
			matches, _ := filepath.Glob(filepath.Join(downloads, "batch-operations-report-*.csv"))
			if len(matches) > 0 {
				saved = matches[0]
			}
			time.Sleep(100 * time.Millisecond)
		}
		if saved == "" {
			t.Fatalf("no report in the download folder; the page says %q", textOf(t, ctx, "report-status"))
		}
		f, err := os.Open(saved)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		if lines := strings.Count(strings.TrimSpace(string(b)), "\n"); lines != rows {
			t.Errorf("report: got %d data lines, want %d:\n%s", lines, rows, b)
		}
		waitJS(t, ctx, "the batch in the history", `document.querySelectorAll("#batches tbody tr").length === 1`, 10*time.Second)
	})

	t.Run("file-level error", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{headerOnly}),
			chromedp.Click(chromedp.ID("import")),
		); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the error", `!document.getElementById("error").hidden`, 10*time.Second)
		got := textOf(t, ctx, "error")
		code, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("error").dataset.code`))
		if !strings.Contains(got, "The file has a header but no accounts") || strings.Contains(got, "no_rows") || code != "no_rows" {
			t.Errorf("error: got %q (data-code %q), want the API's no_rows message without its code, and data-code no_rows", got, code)
		}
	})

	t.Run("usable at phone width", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 800)); err != nil {
			t.Fatal(err)
		}
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if w > 375 {
			t.Errorf("page width at a 375px viewport: got %d, want at most 375 (no sideways scrolling)", w)
		}
	})
}

package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/multiline/onboarding/internal/stacktest"
)

// signInAndChoose signs in on the upload page with the root token and chooses orgID's groupID.
func signInAndChoose(t *testing.T, ctx context.Context, s *stacktest.Stack, orgID, groupID string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.API.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), s.RootToken+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("upload")),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`{const s = document.getElementById("org"); s.value = %q; s.dispatchEvent(new Event("change"));}`, orgID)),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	waitJS(t, ctx, "the group list", fmt.Sprintf(`document.getElementById("group").value === %q`, groupID), 10*time.Second)
}

// TestBrowserCancel starts Import & Invite with no worker running, so the batch stays at 0 %,
// clicks Cancel, then starts a worker: the page follows the batch to canceled, hides Cancel and
// offers the report.
func TestBrowserCancel(t *testing.T) {
	ctx := browserContext(t)
	s := stacktest.New(t)
	orgID, groupID := s.Org("Cancel Org", 100, 20)
	signInAndChoose(t, ctx, s, orgID, groupID)
	file := writeTemp(t, "accounts.csv", stacktest.CSV("acme.example", 1, 10))

	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
		chromedp.Click(chromedp.ID("import-invite")),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the Cancel button", `!document.getElementById("cancel").hidden && !document.getElementById("cancel").disabled`, 10*time.Second)
	waitJS(t, ctx, "progress from the event stream", `document.getElementById("progress-card").dataset.source === "events"`, 5*time.Second)
	if got := textOf(t, ctx, "progress-text"); !strings.Contains(got, "0 of 10 rows processed") {
		t.Errorf("progress before cancel: got %q, want 0 of 10 rows processed", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("cancel"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "Canceling…", `document.getElementById("cancel").textContent === "Canceling…"`, 10*time.Second)
	s.StartWorker(2) // runs the finalizer the cancel enqueued
	waitJS(t, ctx, "the batch canceled", `document.getElementById("progress-text").textContent.includes("(canceled)")`, 30*time.Second)
	if got := textOf(t, ctx, "progress-text"); !strings.Contains(got, "10 canceled") {
		t.Errorf("progress after cancel: got %q, want 10 canceled", got)
	}
	if got := textOf(t, ctx, "progress-eta"); !strings.HasPrefix(got, "Canceled: 10 rows were not run") {
		t.Errorf("after cancel: got %q, want Canceled: 10 rows were not run…", got)
	}
	waitJS(t, ctx, "Cancel hidden and the report offered", `document.getElementById("cancel").hidden && !document.getElementById("report").hidden`, 5*time.Second)
	waitJS(t, ctx, "the history says canceled", `document.querySelector("#batches tbody tr td:nth-child(3)").textContent.startsWith("canceled")`, 10*time.Second)
}

// TestBrowserReopen uploads a batch through the API with no worker running, so it is still
// running when the page signs in, and refuses its event stream: its Progress button in Batch
// Operation Reports follows it by polling to 100 % once a worker starts. Checking the next file then clears that batch's card, and
// uploading one clears the check's card.
func TestBrowserReopen(t *testing.T) {
	ctx := browserContext(t)
	s := stacktest.New(t)
	orgID, groupID := s.Org("Reopen Org", 100, 20)
	if resp := s.Upload(s.RootToken, orgID, groupID, stacktest.CSV("acme.example", 1, 5), map[string]string{"invite": "true"}); resp.Status != 202 {
		t.Fatalf("upload: got %d, want 202: %s", resp.Status, resp.Body)
	}
	signInAndChoose(t, ctx, s, orgID, groupID)
	file := writeTemp(t, "next.csv", stacktest.CSV("acme.example", 50, 2))
	// The event stream refused, as by a proxy or filter that blocks it: the page polls.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`{const f = window.fetch; window.fetch = (u, o) =>
		o && o.headers && o.headers.Accept === "text/event-stream" ? Promise.reject(new TypeError("blocked")) : f(u, o);}`)); err != nil {
		t.Fatalf("block the event stream: %v", err)
	}

	t.Run("progress of a running batch", func(t *testing.T) {
		// The history is drawn again when the organization's list loads, so the button is found
		// and clicked in one step: a node found in one drawing may be gone by the click.
		waitJS(t, ctx, "a click on the Progress button", `{const b = document.querySelector("#batches tbody tr button");
			b?.textContent === "Progress" ? (b.click(), true) : false}`, 10*time.Second)
		waitJS(t, ctx, "the progress card", `!document.getElementById("progress-card").hidden`, 5*time.Second)
		if got := textOf(t, ctx, "progress-text"); !strings.Contains(got, "0 of 5 rows processed") {
			t.Errorf("progress: got %q, want 0 of 5 rows processed", got)
		}
		waitJS(t, ctx, "the fallback to polling", `document.getElementById("progress-card").dataset.source === "polling"`, 5*time.Second)
		s.StartWorker(2)
		waitJS(t, ctx, "the progress bar at 100 %", `document.getElementById("progress-pct").textContent === "100 %" && !document.getElementById("report").hidden`, 30*time.Second)
		if got := textOf(t, ctx, "progress-text"); !strings.Contains(got, "5 of 5 rows processed: 5 succeeded") {
			t.Errorf("progress: got %q, want 5 of 5 rows processed: 5 succeeded", got)
		}
		waitJS(t, ctx, "the history's Report button", `document.querySelector("#batches tbody tr button")?.textContent === "Report"`, 10*time.Second)
	})

	t.Run("check clears the batch card", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
			chromedp.Click(chromedp.ID("check")),
		); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the check result", `!document.getElementById("check-result").hidden`, 10*time.Second)
		waitJS(t, ctx, "the batch card gone", `document.getElementById("progress-card").hidden`, time.Second)
	})

	t.Run("upload clears the check card", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("import"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the new batch's progress", `!document.getElementById("progress-card").hidden && document.getElementById("progress-text").textContent.includes("of 2 rows")`, 10*time.Second)
		waitJS(t, ctx, "the check card gone", `document.getElementById("check-result").hidden`, time.Second)
	})
}

// TestBrowserErrorBox uploads a file without four mandatory columns: the error box names them
// once, in one sentence, with no list repeating each and no raw (code, HTTP status) line.
func TestBrowserErrorBox(t *testing.T) {
	ctx := browserContext(t)
	s := stacktest.New(t)
	orgID, groupID := s.Org("Error Org", 100, 5)
	signInAndChoose(t, ctx, s, orgID, groupID)
	file := writeTemp(t, "short.csv", []byte("firstname,lastname\r\nA,B\r\n"))
	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
		chromedp.Click(chromedp.ID("import")),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the error", `!document.getElementById("error").hidden`, 10*time.Second)
	got := textOf(t, ctx, "error")
	if !strings.HasPrefix(got, `Missing mandatory columns "email address or device"`) {
		t.Errorf("error: got %q, want it to start with the API's message, capitalized", got)
	}
	for _, bad := range []string{"is missing", "missing_columns", "HTTP 422"} {
		if strings.Contains(got, bad) {
			t.Errorf("error: got %q, want no %q", got, bad)
		}
	}
	if n := strings.Count(got, `"monitor_sms"`); n != 1 {
		t.Errorf("error names monitor_sms %d times, want once: %q", n, got)
	}
}

package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/multiline/onboarding/internal/stacktest"
)

// screenshotDir holds the README's pictures of the page, written again when
// UPDATE_SCREENSHOT=1.
const screenshotDir = "../../docs"

// saveScreenshot writes the whole page to docs/name when UPDATE_SCREENSHOT=1.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("UPDATE_SCREENSHOT") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(screenshotDir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("wrote %s", path)
}

// startInviteOnPage uploads file with Import & Invite on a signed-in page, with no worker
// running, waits until the page follows the batch from its event stream at 0 rows, and
// returns the batch's id.
func startInviteOnPage(t *testing.T, ctx context.Context, s *stacktest.Stack, orgID, file string, rows int) string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
		chromedp.Click(chromedp.ID("import-invite")),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the batch followed from its event stream", fmt.Sprintf(`document.getElementById("progress-card").dataset.source === "events" &&
		document.getElementById("progress-text").textContent.startsWith("0 of %d rows processed")`, rows), 10*time.Second)
	var list struct {
		Batches []struct{ ID string }
	}
	s.Do(http.MethodGet, "/v1/organizations/"+orgID+"/batches", s.RootToken, nil).JSON(t, &list)
	if len(list.Batches) != 1 {
		t.Fatalf("batches: got %d, want the one just uploaded", len(list.Batches))
	}
	return list.Batches[0].ID
}

// waitRows waits until the progress card says done of rows processed.
func waitRows(t *testing.T, ctx context.Context, done, rows int) {
	t.Helper()
	waitJS(t, ctx, fmt.Sprintf("%d of %d rows processed", done, rows), fmt.Sprintf(
		`document.getElementById("progress-text").textContent.startsWith("%d of %d rows processed")`, done, rows), 10*time.Second)
}

// TestBrowserProgress follows an Import & Invite batch that no worker runs yet: rows settled
// in-process move it to 60 %, where the page shows the time left and Cancel, and its row in
// the history says the same; a worker then finishes it and the page offers the report. The
// two states are the README's pictures (docs/upload-progress.png, docs/upload-page.png).
func TestBrowserProgress(t *testing.T) {
	ctx := browserContext(t)
	s := stacktest.New(t)
	s.Org("Other Org", 900, 2)
	orgID, groupID := s.Org("Acme Onboarding", 100, 20)
	signInAndChoose(t, ctx, s, orgID, groupID)
	const rows = 10
	id := startInviteOnPage(t, ctx, s, orgID, writeTemp(t, "accounts.csv", stacktest.CSV("acme.example", 1, rows)), rows)

	t.Run("partway", func(t *testing.T) {
		s.RunRows(id, 2, 3, 4) // line 1 is the header
		waitRows(t, ctx, 3, rows)
		s.RunRows(id, 5, 6, 7)
		waitRows(t, ctx, 6, rows)
		waitJS(t, ctx, "the time left", `document.getElementById("progress-eta").textContent.startsWith("About ")`, 5*time.Second)
		waitJS(t, ctx, "the history row at 6 of 10", `document.querySelector("#batches tbody tr td:nth-child(4)")?.textContent === "6 ok, 0 failed of 10"`, 5*time.Second)
		for id, want := range map[string]string{
			"progress-pct":  "60 %",
			"progress-text": "6 of 10 rows processed: 6 succeeded, 0 failed (processing).",
			"cancel":        "Cancel batch",
		} {
			if got := textOf(t, ctx, id); got != want {
				t.Errorf("#%s: got %q, want %q", id, got, want)
			}
		}
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`["cancel", "report"].map((id) => {
			const b = document.getElementById(id); return id + (b.hidden ? " hidden" : b.disabled ? " disabled" : " shown");
		}).join(", ") + "; history: " + document.querySelector("#batches tbody tr").innerText.replace(/\s+/g, " ").trim()`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(shown, "cancel shown, report hidden; history: ") || !strings.HasSuffix(shown, "accounts.csv processing · invite 6 ok, 0 failed of 10 Progress") {
			t.Errorf("buttons and history: got %q, want Cancel shown, the report hidden, the batch processing with its Progress button", shown)
		}
		saveScreenshot(t, ctx, "upload-progress.png")
	})

	t.Run("finished", func(t *testing.T) {
		s.StartWorker(4)
		waitJS(t, ctx, "the progress bar at 100 %", `document.getElementById("progress-pct").textContent === "100 %" && !document.getElementById("report").hidden`, 30*time.Second)
		waitJS(t, ctx, "the history's Report button", `document.querySelector("#batches tbody tr button")?.textContent === "Report"`, 10*time.Second)
		waitJS(t, ctx, "the numbers line refreshed", `document.getElementById("org-numbers").textContent === "Numbers: 10 available, 10 reserved, 0 assigned"`, 10*time.Second)
		for id, want := range map[string]string{
			"progress-text": "10 of 10 rows processed: 10 succeeded, 0 failed (completed).",
			"progress-eta":  "Finished.",
			"report":        "Download report",
		} {
			if got := textOf(t, ctx, id); got != want {
				t.Errorf("#%s: got %q, want %q", id, got, want)
			}
		}
		if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("cancel").hidden`)); !hidden {
			t.Error("Cancel: shown, want hidden once the batch finished")
		}
		s.SMTP.WaitForMessages(t, rows, 10*time.Second)
		saveScreenshot(t, ctx, "upload-page.png")
	})
}

// TestBrowserStreamDrop follows a batch from its event stream until the API closes the
// connection mid-batch: the page polls and follows the batch to 100 %.
func TestBrowserStreamDrop(t *testing.T) {
	ctx := browserContext(t)
	s := stacktest.New(t)
	orgID, groupID := s.Org("Drop Org", 100, 20)
	signInAndChoose(t, ctx, s, orgID, groupID)
	const rows = 8
	id := startInviteOnPage(t, ctx, s, orgID, writeTemp(t, "accounts.csv", stacktest.CSV("acme.example", 1, rows)), rows)
	s.RunRows(id, 2, 3)
	waitRows(t, ctx, 2, rows) // from the stream: the page has not polled yet
	if got := textOf(t, ctx, "progress-pct"); got != "25 %" {
		t.Errorf("progress before the drop: got %q, want 25 %%", got)
	}

	s.API.CloseClientConnections() // the stream's connection among them, as a restart would
	waitJS(t, ctx, "the fallback to polling", `document.getElementById("progress-card").dataset.source === "polling"`, 10*time.Second)
	s.StartWorker(4)
	waitJS(t, ctx, "the progress bar at 100 %", `document.getElementById("progress-pct").textContent === "100 %" && !document.getElementById("report").hidden`, 30*time.Second)
	if got, want := textOf(t, ctx, "progress-text"), "8 of 8 rows processed: 8 succeeded, 0 failed (completed)."; got != want {
		t.Errorf("progress: got %q, want %q", got, want)
	}
	if got := textOf(t, ctx, "error"); got != "" {
		t.Errorf("error box: got %q, want nothing (the drop is not the admin's problem)", got)
	}
}

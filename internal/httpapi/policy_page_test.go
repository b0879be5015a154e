package httpapi_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/emersion/go-smtp"

	"github.com/multiline/onboarding/internal/stacktest"
)

// TestBrowserPolicy drives the invitation policy on the upload page in headless Chromium:
// the organization's allowed domains and raised pool alert under its numbers, Resend failed
// on the finished batch's card, and Undo (clicked twice) in Batch Operation Reports.
func TestBrowserPolicy(t *testing.T) {
	ctx := browserContext(t)
	s := stacktest.New(t)
	var refuse atomic.Bool
	refuse.Store(true)
	s.SMTP.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if refuse.Load() && strings.HasPrefix(rcpt, "user2@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	})
	s.StartWorker(4)
	org, group := s.Org("Acme", 100, 10)
	if got := s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken,
		map[string]any{"allowed_email_domains": []string{"@acme.example"}, "pool_alert_threshold": 20}); got.Status != 200 {
		t.Fatalf("settings: got %d %s", got.Status, got.Body)
	}
	file := writeTemp(t, "accounts.csv", stacktest.CSV("acme.example", 1, 3))
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.API.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), s.RootToken+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("upload")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}

	t.Run("the organization's domains and pool alert", func(t *testing.T) {
		waitJS(t, ctx, "the domains line", `!document.getElementById("org-domains").hidden`, 10*time.Second)
		if got := textOf(t, ctx, "org-domains"); !strings.Contains(got, "Email addresses must end in @acme.example") {
			t.Errorf("domains line: got %q", got)
		}
		if got := textOf(t, ctx, "org-alert"); !strings.HasPrefix(got, "Threshold exceeded for invitations since ") {
			t.Errorf("alert line: got %q, want the raised pool alert (10 available under a threshold of 20)", got)
		}
	})

	t.Run("resend failed on the finished batch", func(t *testing.T) {
		// The group list loads after the organization's lines: a click before it has its
		// group only says to choose one.
		waitJS(t, ctx, "the group list", fmt.Sprintf(`document.getElementById("group").value === %q`, group), 10*time.Second)
		if err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
			chromedp.Click(chromedp.ID("import-invite")),
		); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the finished batch's Resend failed", `!document.getElementById("resend").hidden && document.getElementById("resend").textContent === "Resend failed"`, 60*time.Second)
		s.SMTP.WaitForMessages(t, 2, 10*time.Second)
		refuse.Store(false)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("resend"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the resend's outcome", `document.getElementById("report-status").textContent.startsWith("1 invitation queued, 0 not sent")`, 10*time.Second)
		s.SMTP.WaitForMessages(t, 3, 10*time.Second)
		if n := len(s.MessagesTo("user2@acme.example")); n != 1 {
			t.Errorf("user2@ got %d emails, want the resent one", n)
		}
	})

	t.Run("undo in Batch Operation Reports asks twice", func(t *testing.T) {
		undoButton := `[...document.querySelectorAll("#batches tbody tr button")].find((b) => b.textContent === %q)`
		waitJS(t, ctx, "the history's Undo", fmt.Sprintf(undoButton+` !== undefined`, "Undo"), 10*time.Second)
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(undoButton+`.click()`, "Undo"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the confirmation", fmt.Sprintf(undoButton+` !== undefined`, "Remove its accounts?"), 5*time.Second)
		if n := len(s.Accounts(org)); n != 3 {
			t.Fatalf("after one click: got %d accounts, want all 3", n)
		}
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(undoButton+`.click()`, "Remove its accounts?"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the undo's outcome", `document.getElementById("history-status").textContent.startsWith("Undone: 3 accounts removed")`, 10*time.Second)
		waitJS(t, ctx, "the history row undone", `document.querySelector("#batches tbody tr").textContent.includes("undone: 3 removed, 0 kept")`, 5*time.Second)
		if n := len(s.Accounts(org)); n != 0 {
			t.Errorf("after the undo: got %d accounts, want none", n)
		}
	})
}

package mailer

import (
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/smtptest"
)

func TestRenderBatchSummary(t *testing.T) {
	t.Parallel()
	base := BatchSummary{
		Organization: "Acme <Corp>", Uploader: "admin@acme.test", Mode: "invite",
		Total: 1000, Succeeded: 990, Failed: 10, Duration: 3*time.Minute + 12*time.Second + 400*time.Millisecond,
		TopReasons: []ReasonCount{{"no Available number left in the organization", 7}, {"smtp rcpt: 550 5.1.1 No such user", 3}},
		ReportURL:  "https://multiline.example/v1/batches/b-1/report.csv", BatchID: "b-1",
		FinishedAt: time.Date(2026, time.November, 24, 14, 5, 0, 0, time.UTC),
	}
	canceled := base
	canceled.Mode, canceled.Succeeded, canceled.Failed, canceled.Canceled, canceled.TopReasons, canceled.ReportURL = "import", 400, 0, 600, nil, ""

	cases := []struct {
		name    string
		s       BatchSummary
		subject string
		want    []string // in text and in html's visible text
		absent  []string
	}{
		{"completed", base, "Batch finished for Acme <Corp>: 990 of 1000 succeeded, 10 failed",
			[]string{"has finished", "Import & Invite", "admin@acme.test", "3m 12s", "24 November 2026, 14:05 UTC",
				"no Available number left in the organization", "550 5.1.1 No such user", "b-1", "attached as a CSV file"},
			[]string{"was canceled"}},
		{"canceled", canceled, "Batch canceled for Acme <Corp>: 400 of 1000 succeeded, 600 canceled",
			[]string{"was canceled", "Import", "600"},
			[]string{"Most common failure reasons", "Download the report"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			subject, text, htmlBody, err := RenderBatchSummary(c.s)
			if err != nil {
				t.Fatalf("RenderBatchSummary: %v", err)
			}
			if subject != c.subject {
				t.Errorf("subject: got %q, want %q", subject, c.subject)
			}
			visible := visibleText(htmlBody)
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("text: missing %q", w)
				}
				if !strings.Contains(visible, w) {
					t.Errorf("html: missing %q", w)
				}
			}
			for _, w := range c.absent {
				if strings.Contains(strings.ToLower(text), strings.ToLower(w)) || strings.Contains(visible, w) {
					t.Errorf("got %q, want it absent", w)
				}
			}
			if strings.Contains(htmlBody, "<Corp>") {
				t.Error("html: organization not escaped")
			}
			if c.s.ReportURL != "" && !strings.Contains(htmlBody, `href="`+c.s.ReportURL+`"`) {
				t.Error("html: no link to the report")
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	cases := map[time.Duration]string{
		0: "under a second", 400 * time.Millisecond: "under a second", 45 * time.Second: "45s",
		3*time.Minute + 12*time.Second: "3m 12s", 2*time.Hour + 5*time.Second: "2h 0m 5s",
	}
	for d, want := range cases {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v): got %q, want %q", d, got, want)
		}
	}
}

func TestBatchSummaryDeliveredWithReport(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)
	subject, text, htmlBody, err := RenderBatchSummary(BatchSummary{Organization: "Acme", Total: 1, Succeeded: 1, BatchID: "b-9"})
	if err != nil {
		t.Fatal(err)
	}
	report := []byte("row,email address or device,status\r\n2,anna@example.com,succeeded\r\n")
	send(t, m, Message{To: "boss@acme.test", Subject: subject, Text: text, HTML: htmlBody, MessageID: "<batch-b-9-boss@multiline>",
		Attachments: []Attachment{{Name: "batch-b-9-report.csv", ContentType: "text/csv; charset=utf-8", Data: report}}})

	got := srv.WaitForMessages(t, 1, 5*time.Second)[0]
	atts := got.Attachments()
	if len(atts) != 1 || atts[0].Filename != "batch-b-9-report.csv" || string(atts[0].Body) != string(report) {
		t.Fatalf("attachments: got %d, want the report CSV unchanged", len(atts))
	}
	if got.Subject() != subject || !strings.Contains(got.HTML(), "b-9") {
		t.Errorf("got subject %q, want %q with the batch id in the body", got.Subject(), subject)
	}
}

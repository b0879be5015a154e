package mailer

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// BatchSummary is what administrators are told when a batch finishes.
type BatchSummary struct {
	Organization string
	Uploader     string // who uploaded the file, e.g. an admin's email
	Mode         string // "import" or "invite" (shown as "Import", "Import & Invite"), or any text
	Total        int
	Succeeded    int
	Failed       int
	Canceled     int // rows left undone because the batch was canceled
	Duration     time.Duration
	TopReasons   []ReasonCount // most common failure reasons, most frequent first
	ReportURL    string        // where the report CSV can be downloaded; optional
	BatchID      string
	FinishedAt   time.Time
}

// ReasonCount is a failure reason and how many rows failed with it.
type ReasonCount struct {
	Reason string
	Count  int
}

// summaryView is what the summary templates see.
type summaryView struct {
	Organization, Uploader, Mode       string
	Total, Succeeded, Failed, Canceled int
	WasCanceled                        bool
	Duration, ReportURL, BatchID       string
	FinishedAt                         string
	TopReasons                         []ReasonCount
}

var summaryTemplates = struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}{
	subject: texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/batch_summary.subject")),
	text:    texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/batch_summary.txt")),
	html:    htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/batch_summary.html")),
}

// RenderBatchSummary writes the administrators' summary email, in English.
func RenderBatchSummary(s BatchSummary) (subject, text, html string, err error) {
	v := summaryView{
		Organization: s.Organization,
		Uploader:     s.Uploader,
		Mode:         modeName(s.Mode),
		Total:        s.Total,
		Succeeded:    s.Succeeded,
		Failed:       s.Failed,
		Canceled:     s.Canceled,
		WasCanceled:  s.Canceled > 0,
		Duration:     formatDuration(s.Duration),
		ReportURL:    s.ReportURL,
		BatchID:      s.BatchID,
		TopReasons:   s.TopReasons,
	}
	if !s.FinishedAt.IsZero() {
		at := s.FinishedAt.UTC()
		v.FinishedAt = FormatDate(at, "en") + ", " + at.Format("15:04") + " UTC"
	}
	var sb, tb, hb bytes.Buffer
	if err := summaryTemplates.subject.Execute(&sb, v); err != nil {
		return "", "", "", fmt.Errorf("render summary subject: %w", err)
	}
	if err := summaryTemplates.text.Execute(&tb, v); err != nil {
		return "", "", "", fmt.Errorf("render summary text: %w", err)
	}
	if err := summaryTemplates.html.Execute(&hb, v); err != nil {
		return "", "", "", fmt.Errorf("render summary html: %w", err)
	}
	return cleanHeaderText(sb.String()), tb.String(), hb.String(), nil
}

func modeName(mode string) string {
	switch strings.ToLower(strings.TrimSpace(mode)) {
	case "import":
		return "Import"
	case "invite", "import_invite", "import & invite", "import_and_invite":
		return "Import & Invite"
	}
	return mode
}

// formatDuration writes d as "1h 2m 3s", "3m 12s" or "45s".
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Second {
		return "under a second"
	}
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

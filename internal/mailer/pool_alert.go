package mailer

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"
)

// PoolAlert is what an organization's alert recipients are told when its pool runs short:
// the vendor's "Threshold exceeded for invitations".
type PoolAlert struct {
	Organization   string
	OrganizationID string
	Available      int // Available numbers when the alert was raised
	Needed         int // numbers its pending rows needed then
	Threshold      int // its alert threshold; 0 for none
	RaisedAt       time.Time
}

// poolAlertView is what the pool alert templates see.
type poolAlertView struct {
	PoolAlert
	Shortfall int
	RaisedAt  string
}

var poolAlertTemplates = struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}{
	subject: texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/pool_alert.subject")),
	text:    texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/pool_alert.txt")),
	html:    htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/pool_alert.html")),
}

// RenderPoolAlert writes the pool alert email, in English.
func RenderPoolAlert(a PoolAlert) (subject, text, html string, err error) {
	at := a.RaisedAt.UTC()
	v := poolAlertView{PoolAlert: a, Shortfall: max(a.Needed-a.Available, 0),
		RaisedAt: FormatDate(at, "en") + ", " + at.Format("15:04") + " UTC"}
	var sb, tb, hb bytes.Buffer
	if err := poolAlertTemplates.subject.Execute(&sb, v); err != nil {
		return "", "", "", fmt.Errorf("render pool alert subject: %w", err)
	}
	if err := poolAlertTemplates.text.Execute(&tb, v); err != nil {
		return "", "", "", fmt.Errorf("render pool alert text: %w", err)
	}
	if err := poolAlertTemplates.html.Execute(&hb, v); err != nil {
		return "", "", "", fmt.Errorf("render pool alert html: %w", err)
	}
	return cleanHeaderText(sb.String()), tb.String(), hb.String(), nil
}

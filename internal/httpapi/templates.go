package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
)

// templateJSON is an invitation template as the API shows it.
type templateJSON struct {
	Language     string     `json:"language"`
	Custom       bool       `json:"custom"` // false: the built-in default is in force
	Subject      string     `json:"subject"`
	Text         string     `json:"text"`
	HTML         string     `json:"html"`
	SMS          string     `json:"sms"` // the text of invitations by SMS, to device accounts
	UpdatedAt    *time.Time `json:"updated_at"`
	Placeholders []string   `json:"placeholders"`
}

// englishNames are the values NormalizeLanguage turns into English on purpose; anything else
// it turns into English is not a language we know.
var englishNames = map[string]bool{"en": true, "english": true, "inglese": true, "englisch": true,
	"anglais": true, "inglés": true, "ingles": true}

// pathLanguage reads {language} as a code (it) or a name (Italian, Italiano).
func pathLanguage(r *http.Request) (string, error) {
	raw := strings.ToLower(strings.TrimSpace(r.PathValue("language")))
	code := mailer.NormalizeLanguage(raw)
	base, _, _ := strings.Cut(strings.ReplaceAll(raw, "_", "-"), "-")
	if code == mailer.DefaultLanguage && !englishNames[raw] && !englishNames[base] {
		return "", errorf(http.StatusNotFound, "unknown_language",
			"invitation templates exist for en, it, de, fr and es (or English, Italian, German, French, Spanish), not %q", r.PathValue("language"))
	}
	return code, nil
}

// templateInForce returns the organization's template for lang, or the default.
func (s *Server) templateInForce(r *http.Request, org, lang string) (templateJSON, error) {
	out := templateJSON{Language: lang, Placeholders: placeholders()}
	t, err := s.store.InvitationTemplate(r.Context(), org, lang)
	switch {
	case errors.Is(err, store.ErrNotFound):
		d := mailer.DefaultInvitationTemplate(lang)
		out.Subject, out.Text, out.HTML, out.SMS = d.Subject, d.Text, d.HTML, d.SMS
	case err != nil:
		return out, err
	default:
		out.Custom, out.Subject, out.Text, out.HTML, out.SMS, out.UpdatedAt = true, t.Subject, t.Text, t.HTML, t.SMS, &t.UpdatedAt
		if out.SMS == "" {
			out.SMS = mailer.DefaultInvitationSMS(lang)
		}
	}
	return out, nil
}

func placeholders() []string {
	out := make([]string, len(mailer.Placeholders))
	for i, p := range mailer.Placeholders {
		out[i] = "{{." + p + "}}"
	}
	return out
}

func (s *Server) getInvitationTemplate(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, lang, err := s.templatePath(r, admin)
	if err != nil {
		return err
	}
	return s.writeTemplateInForce(w, r, org, lang)
}

func (s *Server) putInvitationTemplate(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, lang, err := s.templatePath(r, admin)
	if err != nil {
		return err
	}
	var body mailer.Template
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := validTemplate(body); err != nil {
		return err
	}
	if _, err := s.store.PutInvitationTemplate(r.Context(), store.InvitationTemplate{OrganizationID: org,
		Language: lang, Subject: body.Subject, Text: body.Text, HTML: body.HTML, SMS: body.SMS}); err != nil {
		return err
	}
	return s.writeTemplateInForce(w, r, org, lang)
}

func (s *Server) deleteInvitationTemplate(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, lang, err := s.templatePath(r, admin)
	if err != nil {
		return err
	}
	if _, err := s.store.DeleteInvitationTemplate(r.Context(), org, lang); err != nil {
		return err
	}
	return s.writeTemplateInForce(w, r, org, lang)
}

// previewInvitationTemplate renders the template in the body, or the one in force for the
// fields the body leaves out (all of them when the body is empty), with sample data.
func (s *Server) previewInvitationTemplate(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, lang, err := s.templatePath(r, admin)
	if err != nil {
		return err
	}
	inForce, err := s.templateInForce(r, org, lang)
	if err != nil {
		return err
	}
	var body struct {
		Subject *string `json:"subject"`
		Text    *string `json:"text"`
		HTML    *string `json:"html"`
		SMS     *string `json:"sms"`
	}
	if err := decodeOptionalJSON(r, &body); err != nil {
		return err
	}
	t := mailer.Template{Subject: inForce.Subject, Text: inForce.Text, HTML: inForce.HTML, SMS: inForce.SMS}
	for _, f := range []struct{ from, to *string }{{body.Subject, &t.Subject}, {body.Text, &t.Text}, {body.HTML, &t.HTML}, {body.SMS, &t.SMS}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if t.SMS == "" {
		t.SMS = mailer.DefaultInvitationSMS(lang)
	}
	if err := validTemplate(t); err != nil {
		return err
	}
	data := mailer.SampleInvitationData(lang)
	data.Link = strings.TrimRight(s.cfg.PublicURL, "/") + "/activate/sample-token"
	subject, text, html, err := mailer.RenderInvitation(t, data)
	if err != nil {
		return invalidTemplate(err)
	}
	smsText, err := mailer.RenderInvitationSMS(t.SMS, data)
	if err != nil {
		return invalidTemplate(err)
	}
	info := mailer.SMSSegments(smsText)
	writeJSON(w, http.StatusOK, templatePreview{Language: lang, Subject: subject, Text: text, HTML: html,
		SMS: smsText, SMSEncoding: info.Encoding, SMSCharacters: info.Units, SMSSegments: info.Segments})
	return nil
}

// templatePreview is a template rendered with sample data, and how its SMS travels:
// sms_encoding (GSM-7 or UCS-2), sms_characters (in that encoding's units) and
// sms_segments (160 or 153 GSM-7 characters a segment, 70 or 67 UCS-2).
type templatePreview struct {
	Language      string `json:"language"`
	Subject       string `json:"subject"`
	Text          string `json:"text"`
	HTML          string `json:"html"`
	SMS           string `json:"sms"`
	SMSEncoding   string `json:"sms_encoding"`
	SMSCharacters int    `json:"sms_characters"`
	SMSSegments   int    `json:"sms_segments"`
}

// templatePath checks scope, the organization and the language of a template route.
func (s *Server) templatePath(r *http.Request, admin store.Admin) (org, lang string, err error) {
	if org, err = s.existingOrg(r, admin); err != nil {
		return "", "", err
	}
	if lang, err = pathLanguage(r); err != nil {
		return "", "", err
	}
	return org, lang, nil
}

func validTemplate(t mailer.Template) error {
	if err := mailer.ValidateInvitationTemplate(t); err != nil {
		return invalidTemplate(err)
	}
	return nil
}

// invalidTemplate turns the mailer's verdict into a 422 that names the field at fault.
func invalidTemplate(err error) error {
	var te *mailer.TemplateError
	if !errors.As(err, &te) {
		return err
	}
	return errorf(http.StatusUnprocessableEntity, "invalid_template",
		"the template cannot be used: its %s %s; fix it and send it again", te.Field, te.Message).
		with(map[string]string{"field": te.Field, "message": te.Message})
}

// decodeOptionalJSON is decodeJSON for bodies that may be left out: an empty body leaves v
// as it is.
func decodeOptionalJSON(r *http.Request, v any) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return decodeJSON(r, v)
}

// writeTemplateInForce answers with the template an organization's invitations use now.
func (s *Server) writeTemplateInForce(w http.ResponseWriter, r *http.Request, org, lang string) error {
	t, err := s.templateInForce(r, org, lang)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

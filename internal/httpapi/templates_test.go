package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/stacktest"
	"github.com/multiline/onboarding/internal/store"
)

type previewBody struct {
	Subject       string `json:"subject"`
	Text          string `json:"text"`
	HTML          string `json:"html"`
	SMS           string `json:"sms"`
	SMSEncoding   string `json:"sms_encoding"`
	SMSCharacters int    `json:"sms_characters"`
	SMSSegments   int    `json:"sms_segments"`
}

type templateBody struct {
	Language string `json:"language"`
	Custom   bool   `json:"custom"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
	SMS      string `json:"sms"`
}

func TestInvitationTemplateValidation(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, _ := s.Org("Acme", 0, 0)
	path := "/v1/organizations/" + org + "/invitation-templates/it"
	good := map[string]string{"subject": "Invito da {{.Organization}}", "text": "Attiva: {{.Link}}", "html": `<a href="{{.Link}}">Attiva</a>`}
	with := func(field, v string) map[string]string {
		out := map[string]string{}
		for k, x := range good {
			out[k] = x
		}
		out[field] = v
		return out
	}
	tests := []struct {
		name, field, message string
		body                 map[string]string
	}{
		{"does not parse", "html", "Does not parse", with("html", `<a href="{{.Link}}">{{if .Number}}</a>`)},
		{"unknown placeholder", "text", "Unknown placeholder {{.Password}}", with("text", "{{.Link}} {{.Password}}")},
		{"no link in text", "text", "Must contain the activation link", with("text", "Benvenuto")},
		{"no link in html", "html", "Must contain the activation link", with("html", "<p>{{.Link}}</p>")},
		{"empty subject", "subject", "Is required", with("subject", " ")},
		{"subject on two lines", "subject", "single line", with("subject", "Ciao\nBcc: x@evil.test")},
		{"function not allowed", "text", `Function "printf" is not supported`, with("text", `{{printf "%s" .Link}}`)},
		{"link for all but Bob", "text", "is inside {{if}} or {{with}}", with("text", `{{if ne .FirstName "Bob"}}{{.Link}}{{end}}`)},
		{"html link for all but Bob", "html", "is inside {{if}} or {{with}}", with("html", `{{if ne .FirstName "Bob"}}<a href="{{.Link}}">Attiva</a>{{end}}`)},
		{"field of the link for Zed", "text", "placeholders are text and have no fields", with("text", `{{.Link}}{{if eq .FirstName "Zed"}}{{.Link.Foo}}{{end}}`)},
		{"bidi control in the subject", "subject", "bidirectional control character U+202E", with("subject", "Invito da \u202E{{.Organization}}")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Do("PUT", path, s.RootToken, tc.body)
			var e struct {
				Error struct {
					Code    string              `json:"code"`
					Message string              `json:"message"`
					Details []map[string]string `json:"details"`
				} `json:"error"`
			}
			got.JSON(t, &e)
			if got.Status != http.StatusUnprocessableEntity || e.Error.Code != "invalid_template" {
				t.Fatalf("got %d %s, want 422 invalid_template", got.Status, got.Body)
			}
			if len(e.Error.Details) != 1 || e.Error.Details[0]["field"] != tc.field || !strings.Contains(e.Error.Details[0]["message"], tc.message) {
				t.Errorf("details: got %v, want field %s with %q", e.Error.Details, tc.field, tc.message)
			}
			if !strings.Contains(e.Error.Message, tc.field) {
				t.Errorf("message %q does not name the field %s", e.Error.Message, tc.field)
			}
		})
	}
	var shown templateBody
	s.Do("GET", path, s.RootToken, nil).JSON(t, &shown)
	if shown.Custom {
		t.Errorf("a refused template was stored: %+v", shown)
	}
}

func TestInvitationTemplateLifecycle(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, _ := s.Org("Acme", 0, 0)
	other, _ := s.Org("Other", 100, 0)
	base := "/v1/organizations/" + org + "/invitation-templates/"

	var def templateBody
	if got := s.Do("GET", base+"German", s.RootToken, nil); got.Status != http.StatusOK {
		t.Fatalf("get default: got %d %s", got.Status, got.Body)
	} else {
		got.JSON(t, &def)
	}
	if def.Custom || def.Language != "de" || !strings.Contains(def.Subject, "eingeladen") {
		t.Errorf("default: got %+v, want the German default", def)
	}
	var preview previewBody
	s.Do("POST", base+"de/preview", s.RootToken, nil).JSON(t, &preview)
	if preview.Subject != "Beispiel GmbH hat Sie zu MultiLine eingeladen" || !strings.Contains(preview.Text, stacktest.PublicURL+"/activate/sample-token") {
		t.Errorf("preview of the default: got %v", preview)
	}

	custom := map[string]string{"subject": "Willkommen, {{.FirstName}}", "text": "Los: {{.Link}}", "html": `<a href="{{.Link}}">Los</a> {{.FullName}}`}
	var put templateBody
	if got := s.Do("PUT", base+"de", s.RootToken, custom); got.Status != http.StatusOK {
		t.Fatalf("put: got %d %s", got.Status, got.Body)
	} else {
		got.JSON(t, &put)
	}
	var shown templateBody
	s.Do("GET", base+"de-CH", s.RootToken, nil).JSON(t, &shown)
	if !put.Custom || !shown.Custom || shown.Subject != custom["subject"] || shown.HTML != custom["html"] {
		t.Errorf("after put: got %+v, want the custom template", shown)
	}
	s.Do("POST", base+"de/preview", s.RootToken, map[string]string{}).JSON(t, &preview)
	if preview.Subject != "Willkommen, Anna" || !strings.Contains(preview.HTML, "Anna Schmidt") {
		t.Errorf("preview of the custom template: got %v", preview)
	}
	s.Do("POST", base+"de/preview", s.RootToken, map[string]string{"subject": "Hallo <{{.LastName}}>"}).JSON(t, &preview)
	if preview.Subject != "Hallo <Schmidt>" || preview.Text == "" {
		t.Errorf("preview with a subject only: got %v", preview)
	}
	if got := s.Do("POST", base+"de/preview", s.RootToken, map[string]string{"html": "<p>no link</p>"}); got.Status != http.StatusUnprocessableEntity {
		t.Errorf("preview of an invalid template: got %d, want 422", got.Status)
	}
	if got := s.Do("DELETE", base+"de", s.RootToken, nil); got.Status != http.StatusOK {
		t.Errorf("delete: got %d %s", got.Status, got.Body)
	}
	s.Do("GET", base+"de", s.RootToken, nil).JSON(t, &shown)
	if shown.Custom || shown.Subject != def.Subject {
		t.Errorf("after delete: got %+v, want the default again", shown)
	}

	for name, tc := range map[string]struct {
		path, tok string
		status    int
		code      string
	}{
		"unknown language":        {base + "klingon", s.RootToken, http.StatusNotFound, "unknown_language"},
		"unknown organization":    {"/v1/organizations/00000000-0000-0000-0000-000000000000/invitation-templates/en", s.RootToken, http.StatusNotFound, "organization_not_found"},
		"out of scope":            {base + "en", s.NewAdmin("other@test.example", []string{other}, string(store.PrivAccounts)), http.StatusForbidden, "out_of_scope"},
		"without accounts":        {base + "en", s.NewAdmin("numbers@test.example", nil, string(store.PrivNumbers)), http.StatusForbidden, "missing_privilege"},
		"without a token at all":  {base + "en", "", http.StatusUnauthorized, "unauthenticated"},
		"an English name is fine": {base + "Inglese", s.RootToken, http.StatusOK, ""},
	} {
		t.Run(name, func(t *testing.T) {
			got := s.Do("GET", tc.path, tc.tok, nil)
			if got.Status != tc.status || (tc.code != "" && got.ErrorCode(t) != tc.code) {
				t.Errorf("got %d %s, want %d %s", got.Status, got.Body, tc.status, tc.code)
			}
		})
	}
}

// TestSMSTemplate: the sms field beside the email's, with the email's checks, and a preview
// that says the encoding and the segments.
func TestSMSTemplate(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, _ := s.Org("Acme", 0, 0)
	base := "/v1/organizations/" + org + "/invitation-templates/"
	var def templateBody
	s.Do("GET", base+"it", s.RootToken, nil).JSON(t, &def)
	if !strings.Contains(def.SMS, "{{.Link}}") || !strings.Contains(def.SMS, "Attiva") {
		t.Errorf("default SMS: got %q, want the Italian text with {{.Link}}", def.SMS)
	}
	email := map[string]string{"subject": "Invito", "text": "Attiva: {{.Link}}", "html": `<a href="{{.Link}}">Attiva</a>`}
	with := func(sms string) map[string]string {
		out := map[string]string{"sms": sms}
		for k, v := range email {
			out[k] = v
		}
		return out
	}
	for _, bad := range []struct{ sms, message string }{
		{"Ciao {{.FirstName}}", "must contain the activation link"},
		{"Ciao{{if .FirstName}} {{.Link}}{{end}}", "inside {{if}} or {{with}}"},
		{"{{.Password}} {{.Link}}", "unknown placeholder"},
	} {
		got := s.Do("PUT", base+"it", s.RootToken, with(bad.sms))
		if code, msg := got.Error(t); got.Status != http.StatusUnprocessableEntity || code != "invalid_template" || !strings.Contains(msg, bad.message) {
			t.Errorf("sms %q: got %d %s %q, want 422 invalid_template about %q", bad.sms, got.Status, code, msg, bad.message)
		}
	}
	custom := "Ciao {{.FirstName}} €, {{.Organization}}: {{.Link}}"
	if got := s.Do("PUT", base+"it", s.RootToken, with(custom)); got.Status != http.StatusOK {
		t.Fatalf("put: got %d %s", got.Status, got.Body)
	}
	var shown templateBody
	s.Do("GET", base+"it", s.RootToken, nil).JSON(t, &shown)
	if shown.SMS != custom {
		t.Errorf("after put: got sms %q, want %q", shown.SMS, custom)
	}
	var preview previewBody
	s.Do("POST", base+"it/preview", s.RootToken, nil).JSON(t, &preview)
	want := "Ciao Giulia €, Esempio S.p.A.: " + stacktest.PublicURL + "/activate/sample-token"
	if preview.SMS != want || preview.SMSEncoding != "GSM-7" || preview.SMSCharacters != len(want)-len("€")+2 || preview.SMSSegments != 1 {
		t.Errorf("preview: got %q %s %d characters %d segments, want %q GSM-7 %d characters 1 segment",
			preview.SMS, preview.SMSEncoding, preview.SMSCharacters, preview.SMSSegments, want, len(want)-len("€")+2)
	}
	s.Do("POST", base+"it/preview", s.RootToken, map[string]string{"sms": strings.Repeat("ç", 60) + " {{.Link}}"}).JSON(t, &preview)
	if preview.SMSEncoding != "UCS-2" || preview.SMSSegments != 2 {
		t.Errorf("preview of a UCS-2 text: got %s %d segments (%d characters), want UCS-2 in 2", preview.SMSEncoding, preview.SMSSegments, preview.SMSCharacters)
	}
}

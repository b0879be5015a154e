package mailer

import (
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/smtptest"
)

var expires = time.Date(2026, time.November, 24, 18, 0, 0, 0, time.UTC)

var tagRe = regexp.MustCompile(`<[^>]*>`)

// visibleText strips tags and entities from an HTML body, roughly as a
// reader sees it.
func visibleText(h string) string {
	return html.UnescapeString(tagRe.ReplaceAllString(h, ""))
}

func TestDefaultInvitationsRenderInEveryLanguage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		lang     string
		subject  string   // in the subject
		number   []string // in text and html when a number is reserved
		choose   string   // in text and html when the user picks a number
		words    []string // register and greeting, in text and html
		textOnly string   // the sentence that introduces the bare link
		date     string
		greeting string // without a name
	}{
		{"en", "has invited you to MultiLine", []string{"Your MultiLine number +15550100001 is reserved"},
			"choose your MultiLine number from a short list", []string{"Hello Anna Rossi,", "valid until"}, "open this link", "24 November 2026", "Hello,"},
		{"it", "La invita a MultiLine", []string{"Il Suo numero MultiLine +15550100001", "riservato per Lei"},
			"potrà scegliere il Suo numero MultiLine da un breve elenco", []string{"Gentile Anna Rossi,", "Se non si aspettava questo invito, può ignorare", "valido fino al giorno"}, "apra il seguente link", "24 novembre 2026", "Gentile utente,"},
		{"de", "hat Sie zu MultiLine eingeladen", []string{"Ihre MultiLine-Nummer +15550100001", "für Sie reserviert"},
			"wählen Sie Ihre MultiLine-Nummer aus einer kurzen Liste", []string{"Guten Tag Anna Rossi,", "Falls Sie diese Einladung nicht erwartet haben", "Mit freundlichen Grüßen"}, "öffnen Sie bitte", "24. November 2026", "Guten Tag,"},
		{"fr", "vous invite à rejoindre MultiLine", []string{"Votre numéro MultiLine +15550100001 vous est réservé"},
			"vous choisirez votre numéro MultiLine dans une courte liste", []string{"Bonjour Anna Rossi,", "valable jusqu'au", "Cordialement"}, "ouvrez le lien suivant", "24 novembre 2026", "Bonjour,"},
		{"es", "le invita a MultiLine", []string{"Su número de MultiLine, +15550100001, ya está reservado para usted"},
			"podrá elegir su número de MultiLine de una breve lista", []string{"Hola, Anna Rossi:", "Si no esperaba esta invitación, puede ignorar", "válido hasta el"}, "abra el siguiente enlace", "24 de noviembre de 2026", "Hola:"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			t.Parallel()
			tmpl := DefaultInvitationTemplate(c.lang)
			if err := ValidateInvitationTemplate(tmpl); err != nil {
				t.Fatalf("default template does not validate: %v", err)
			}
			d := InvitationData{
				FirstName: "Anna", LastName: "Rossi", Organization: "Acme <Telecom> & Co",
				Number: "+15550100001", Link: "https://multiline.example/activate/tok-123",
				ExpiresAt: expires, Language: c.lang,
			}
			subject, text, htmlBody, err := RenderInvitation(tmpl, d)
			if err != nil {
				t.Fatalf("RenderInvitation: %v", err)
			}
			if !strings.Contains(subject, c.subject) || !strings.Contains(subject, "Acme <Telecom> & Co") {
				t.Errorf("subject: got %q, want it to contain %q and the organization", subject, c.subject)
			}
			plainHTML := visibleText(htmlBody)
			if !strings.Contains(text, c.textOnly) {
				t.Errorf("text: missing %q", c.textOnly)
			}
			want := append(append([]string{d.Link, c.date, "Acme <Telecom> & Co"}, c.number...), c.words...)
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("text: missing %q in\n%s", w, text)
				}
				if !strings.Contains(plainHTML, w) {
					t.Errorf("html: missing %q", w)
				}
			}
			if !strings.Contains(htmlBody, `href="https://multiline.example/activate/tok-123"`) {
				t.Errorf("html: no button linking to the activation link")
			}
			if !strings.Contains(htmlBody, "Acme &lt;Telecom&gt; &amp; Co") {
				t.Errorf("html: organization not escaped by the template engine")
			}
			if !strings.Contains(htmlBody, `<html lang="`+c.lang+`">`) {
				t.Errorf("html: missing lang=%q", c.lang)
			}

			d.Number, d.FirstName, d.LastName = "", "", ""
			_, text, htmlBody, err = RenderInvitation(tmpl, d)
			if err != nil {
				t.Fatalf("RenderInvitation without number: %v", err)
			}
			for _, body := range []string{text, visibleText(htmlBody)} {
				if !strings.Contains(body, c.choose) || strings.Contains(body, c.number[0]) {
					t.Errorf("without number: got %q, want the choose-a-number sentence", body)
				}
				if !strings.Contains(body, c.greeting) {
					t.Errorf("without name: missing greeting %q", c.greeting)
				}
			}
		})
	}
}

func TestFormatDate(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		lang string
		at   time.Time
		want string
	}{
		{"en", expires, "24 November 2026"},
		{"it", expires, "24 novembre 2026"},
		{"de", expires, "24. November 2026"},
		{"fr", expires, "24 novembre 2026"},
		{"es", expires, "24 de noviembre de 2026"},
		{"fr", first, "1er mars 2026"},
		{"it", first, "1º marzo 2026"},
		{"de", first, "1. März 2026"},
		{"German", first, "1. März 2026"},
		{"klingon", first, "1 March 2026"},
		{"en", time.Time{}, ""},
	}
	for _, c := range cases {
		if got := FormatDate(c.at, c.lang); got != c.want {
			t.Errorf("FormatDate(%v, %q): got %q, want %q", c.at, c.lang, got, c.want)
		}
	}
}

func TestNormalizeLanguage(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"English": "en", "italian": "it", " German ": "de", "Français": "fr", "Spanish": "es",
		"Deutsch": "de", "español": "es", "de-CH": "de", "pt": "en", "": "en", "fr_CA": "fr",
	}
	for in, want := range cases {
		if got := NormalizeLanguage(in); got != want {
			t.Errorf("NormalizeLanguage(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestCustomTemplate(t *testing.T) {
	t.Parallel()
	custom := Template{
		Subject: "Welcome to {{.Organization}}, {{.FirstName}}",
		Text:    "Hi {{.FirstName}}, activate: {{.Link}} (by {{.ExpiresAt}}){{if .Number}} number {{.Number}}{{end}}",
		HTML:    `<p>Hi {{.FirstName}}</p><a href="{{.Link}}">Go</a><p>{{.Organization}}</p>`,
	}
	if err := ValidateInvitationTemplate(custom); err != nil {
		t.Fatalf("ValidateInvitationTemplate: %v", err)
	}
	d := InvitationData{
		FirstName: "<b>Eve</b>\r\nBcc: x@evil.test", Organization: `"Quotes" & <tags>`,
		Link: "https://m.example/activate/abc", ExpiresAt: expires, Language: "de",
	}
	subject, text, htmlBody, err := RenderInvitation(custom, d)
	if err != nil {
		t.Fatalf("RenderInvitation: %v", err)
	}
	if want := `Welcome to "Quotes" & <tags>, <b>Eve</b> Bcc: x@evil.test`; subject != want {
		t.Errorf("subject: got %q, want %q", subject, want)
	}
	if want := "Hi <b>Eve</b>\r\nBcc: x@evil.test, activate: https://m.example/activate/abc (by 24. November 2026)"; text != want {
		t.Errorf("text: got %q, want %q", text, want)
	}
	if strings.Contains(htmlBody, "<b>Eve") || !strings.Contains(htmlBody, "&lt;b&gt;Eve&lt;/b&gt;") {
		t.Errorf("html: got %q, want the name escaped", htmlBody)
	}

	// A javascript: link is neutralised by html/template.
	d.Link = "javascript:alert(1)"
	if _, _, htmlBody, _ = RenderInvitation(custom, d); strings.Contains(htmlBody, "javascript:") {
		t.Errorf("html: got %q, want the javascript: URL filtered", htmlBody)
	}
}

func TestValidateInvitationTemplate(t *testing.T) {
	t.Parallel()
	good := DefaultInvitationTemplate("en")
	with := func(f func(*Template)) Template { c := good; f(&c); return c }
	cases := []struct {
		name  string
		tmpl  Template
		field string
		msg   string
	}{
		{"subject parse error", with(func(c *Template) { c.Subject = "Hi {{.FirstName" }), "subject", "does not parse"},
		{"text parse error", with(func(c *Template) { c.Text = "{{if .Number}}x {{.Link}}" }), "text", "does not parse"},
		{"html parse error", with(func(c *Template) { c.HTML = `<a href="{{.Link}}">{{end}}` }), "html", "does not parse"},
		{"unknown placeholder in subject", with(func(c *Template) { c.Subject = "Hi {{.Nickname}}" }), "subject", "unknown placeholder {{.Nickname}}"},
		{"unknown placeholder in text", with(func(c *Template) { c.Text = "{{.Link}} {{.Password}}" }), "text", "unknown placeholder {{.Password}}"},
		{"unknown placeholder in untaken branch", with(func(c *Template) { c.HTML = `<a href="{{.Link}}">x</a>{{if false}}{{.Secret}}{{end}}` }), "html", "unknown placeholder {{.Secret}}"},
		{"unknown placeholder via $", with(func(c *Template) { c.Text = "{{.Link}} {{$.Token}}" }), "text", "unknown placeholder {{.Token}}"},
		{"text lacks link", with(func(c *Template) { c.Text = "Hello {{.FirstName}}" }), "text", "activation link"},
		{"html lacks link", with(func(c *Template) { c.HTML = "<p>Hello {{.FirstName}}</p>" }), "html", "activation link"},
		{"html link only in text", with(func(c *Template) { c.HTML = "<p>{{.Link}}</p>" }), "html", "activation link"},
		{"link only in a branch", with(func(c *Template) { c.Text = "{{if .Number}}{{.Link}}{{end}}" }), "text", "activation link"},
		{"empty subject", with(func(c *Template) { c.Subject = " " }), "subject", "required"},
		{"empty html", with(func(c *Template) { c.HTML = "" }), "html", "required"},
		{"multi-line subject", with(func(c *Template) { c.Subject = "Hi\nBcc: x@y.z" }), "subject", "single line"},
		{"range", with(func(c *Template) { c.Text = "{{.Link}}{{range 1000000000}}x{{end}}" }), "text", "{{range}} is not supported"},
		{"printf", with(func(c *Template) { c.Subject = `{{printf "%0999999999d" 1}}` }), "subject", `function "printf" is not supported`},
		{"define", with(func(c *Template) { c.Text = `{{define "x"}}y{{end}}{{.Link}}` }), "text", "not supported"},
		{"template call", with(func(c *Template) { c.Text = `{{template "text"}}{{.Link}}` }), "text", "{{template}} is not supported"},
		{"field of a field", with(func(c *Template) { c.Text = "{{.Link}} {{.FirstName.Length}}" }), "text", "placeholders are text and have no fields"},
		{"too long", with(func(c *Template) { c.HTML = strings.Repeat("x", maxBodyBytes+1) }), "html", "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateInvitationTemplate(c.tmpl)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want *TemplateError", err)
			}
			if te.Field != c.field || !strings.Contains(te.Message, c.msg) {
				t.Errorf("got %s: %q, want %s: containing %q", te.Field, te.Message, c.field, c.msg)
			}
		})
	}
}

func TestSampleInvitationDataPreviews(t *testing.T) {
	t.Parallel()
	for _, lang := range Languages {
		subject, text, htmlBody, err := RenderInvitation(DefaultInvitationTemplate(lang), SampleInvitationData(lang))
		if err != nil || subject == "" || !strings.Contains(text, "/activate/sample-token") || !strings.Contains(htmlBody, "/activate/sample-token") {
			t.Errorf("%s preview: got err=%v subject=%q, want a rendered preview with the sample link", lang, err, subject)
		}
	}
}

func TestInvitationDelivered(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	m := newMailer(t, srv.URL(), nil, nil)
	for i, lang := range Languages {
		d := SampleInvitationData(lang)
		d.Link = "https://m.example/activate/" + lang
		subject, text, htmlBody, err := RenderInvitation(DefaultInvitationTemplate(lang), d)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		send(t, m, Message{To: lang + "@example.com", ToName: d.FirstName + " " + d.LastName,
			Subject: subject, Text: text, HTML: htmlBody, MessageID: "<invitation-" + lang + "@multiline>"})
		got := srv.WaitForMessages(t, i+1, 5*time.Second)[i]
		if got.Subject() != subject {
			t.Errorf("%s subject: got %q, want %q", lang, got.Subject(), subject)
		}
		if !strings.Contains(got.Text(), d.Link) || !strings.Contains(got.HTML(), `href="`+d.Link+`"`) {
			t.Errorf("%s: the link did not survive transport", lang)
		}
		if got.Text() != strings.ReplaceAll(text, "\n", "\r\n") {
			t.Errorf("%s text: got %q, want %q", lang, got.Text(), text)
		}
	}
}

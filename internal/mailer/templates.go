package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
	"time"
)

//go:embed templates
var templateFS embed.FS

// Template is an invitation email before rendering: a subject and a text
// body for text/template and an HTML body for html/template, using the
// placeholders {{.FirstName}} {{.LastName}} {{.FullName}} {{.Organization}}
// {{.Number}} {{.Link}} {{.ExpiresAt}}. SMS is the text of the invitation by SMS, to
// accounts identified by a device number, with the same placeholders; "" means the default
// text of the language (see DefaultInvitationSMS).
type Template struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	SMS     string `json:"sms"`
}

// InvitationData is what one invitation email says.
type InvitationData struct {
	FirstName    string
	LastName     string
	Organization string
	Number       string // the reserved MultiLine number, "" when the user picks one at activation
	Link         string // {PUBLIC_URL}/activate/{token}
	ExpiresAt    time.Time
	Language     string // formats ExpiresAt; see NormalizeLanguage
}

// invitationView is the data templates see: strings only, the date already
// written in the invitation's language.
type invitationView struct {
	FirstName, LastName, FullName, Organization, Number, Link, ExpiresAt string
}

// Placeholders lists the fields an invitation template may use.
var Placeholders = []string{"FirstName", "LastName", "FullName", "Organization", "Number", "Link", "ExpiresAt"}

// allowedFuncs are the only functions a custom template may call: enough for
// conditions, and none that can blow up the output (printf widths) or loop.
var allowedFuncs = map[string]bool{"and": true, "or": true, "not": true, "eq": true, "ne": true}

const (
	maxSubjectBytes = 1000
	maxBodyBytes    = 100 << 10
	maxOutputBytes  = 1 << 20
)

// TemplateError says which part of a template is wrong and why.
type TemplateError struct {
	Field   string `json:"field"` // "subject", "text" or "html"
	Message string `json:"message"`
}

// Error reads like "invitation template html: unknown placeholder {{.Foo}}".
func (e *TemplateError) Error() string {
	return "invitation template " + e.Field + ": " + e.Message
}

var defaultInvitations = loadDefaults()

func loadDefaults() map[string]Template {
	out := make(map[string]Template, len(Languages))
	read := func(name string) string {
		b, err := templateFS.ReadFile("templates/" + name)
		if err != nil {
			panic(fmt.Sprintf("mailer: embedded template %s: %v", name, err))
		}
		return string(b)
	}
	for _, lang := range Languages {
		out[lang] = Template{
			Subject: strings.TrimSpace(read("invitation." + lang + ".subject")),
			Text:    read("invitation." + lang + ".txt"),
			HTML:    read("invitation." + lang + ".html"),
			SMS:     DefaultInvitationSMS(lang),
		}
	}
	return out
}

// DefaultInvitationTemplate returns the built-in template for lang, English
// when lang is not one of Languages.
func DefaultInvitationTemplate(lang string) Template {
	return defaultInvitations[NormalizeLanguage(lang)]
}

// SampleInvitationData returns made-up data in lang's style, for previews.
func SampleInvitationData(lang string) InvitationData {
	lang = NormalizeLanguage(lang)
	names := map[string][3]string{
		"en": {"Jane", "Smith", "Example Ltd"},
		"it": {"Giulia", "Rossi", "Esempio S.p.A."},
		"de": {"Anna", "Schmidt", "Beispiel GmbH"},
		"fr": {"Camille", "Martin", "Exemple SA"},
		"es": {"Lucía", "García", "Ejemplo S.L."},
	}[lang]
	return InvitationData{
		FirstName: names[0], LastName: names[1], Organization: names[2],
		Number:    "+15550100001",
		Link:      "https://multiline.example/activate/sample-token",
		ExpiresAt: time.Now().UTC().AddDate(0, 0, 7),
		Language:  lang,
	}
}

// RenderInvitation fills t with d; the subject comes back on one line.
func RenderInvitation(t Template, d InvitationData) (subject, text, html string, err error) {
	p, err := cachedInvitation(t)
	if err != nil {
		return "", "", "", err
	}
	return p.render(d)
}

// parsed keeps parsed templates: parsing costs far more than rendering, and a batch renders
// the same few templates a thousand times. Executing a parsed template is safe for
// concurrent use.
var parsed = parseCache[Template, *parsedInvitation]{parse: parseInvitation}

func cachedInvitation(t Template) (*parsedInvitation, error) { return parsed.get(t) }

// parseCache keeps up to 256 parsed templates by their source; custom templates come and
// go, so a full cache starts again empty.
type parseCache[K comparable, V any] struct {
	mu    sync.Mutex
	m     map[K]V
	parse func(K) (V, error)
}

func (c *parseCache[K, V]) get(src K) (V, error) {
	c.mu.Lock()
	v, ok := c.m[src]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := c.parse(src)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 256 {
		c.m = make(map[K]V)
	}
	c.m[src] = v
	return v, nil
}

// ValidateInvitationTemplate refuses, with a *TemplateError, a template that
// does not parse, uses an unknown placeholder or function, fails to render,
// or does not carry the activation link whatever the data: both bodies must
// write {{.Link}} outside every {{if}} and {{with}}, and nothing may use
// .Link in any other way.
//
// An SMS text, when t has one, must pass ValidateInvitationSMS.
func ValidateInvitationTemplate(t Template) error {
	if t.SMS != "" {
		if err := ValidateInvitationSMS(t.SMS); err != nil {
			return err
		}
	}
	p, err := parseInvitation(t)
	if err != nil {
		return err
	}
	if err := p.checkLinks(); err != nil {
		return err
	}
	for _, d := range validationData() {
		subject, text, html, err := p.render(d)
		if err != nil {
			return err
		}
		if subject == "" {
			return &TemplateError{Field: "subject", Message: "renders empty"}
		}
		if err := CheckLink(text, html, d.Link); err != nil {
			return err
		}
	}
	return nil
}

// validationData is what validation renders a template with: two languages, with and
// without a reserved number.
func validationData() []InvitationData {
	var out []InvitationData
	for _, lang := range []string{"en", "de"} {
		for _, number := range []string{"+15550100001", ""} {
			d := SampleInvitationData(lang)
			d.Number = number
			d.Link = "https://multiline.example/activate/validation-token"
			out = append(out, d)
		}
	}
	return out
}

// CheckLink returns a *TemplateError when a rendered invitation lacks its
// activation link: the text body must hold link, and the HTML body must link
// to it with href. Workers check every invitation with it before sending.
func CheckLink(text, html, link string) error {
	if !strings.Contains(text, link) {
		return &TemplateError{Field: "text", Message: "must contain the activation link {{.Link}}"}
	}
	href := hrefForm(link)
	if !strings.Contains(html, `href="`+href+`"`) && !strings.Contains(html, `href='`+href+`'`) {
		return &TemplateError{Field: "html", Message: `must contain the activation link as <a href="{{.Link}}">`}
	}
	return nil
}

var hrefTemplate = htmltemplate.Must(htmltemplate.New("href").Parse(`<a href="{{.}}">`))

// hrefForm returns link as html/template writes it in a quoted href
// attribute: normalised, with & as &amp;.
func hrefForm(link string) string {
	var b strings.Builder
	if err := hrefTemplate.Execute(&b, link); err != nil {
		return link
	}
	return strings.TrimSuffix(strings.TrimPrefix(b.String(), `<a href="`), `">`)
}

// checkLinks applies checkLink to the subject and both bodies. Call it before
// the first render, which adds html/template's escapers to the HTML tree.
func (p *parsedInvitation) checkLinks() error {
	parts := []struct {
		field string
		root  *parse.ListNode
		need  string // what to say when the part has no {{.Link}} at its top level
	}{
		{"subject", p.subject.Tree.Root, ""},
		{"text", p.text.Tree.Root, "must contain the activation link {{.Link}} outside any {{if}} or {{with}}"},
		{"html", p.html.Tree.Root, `must contain the activation link as <a href="{{.Link}}">, outside any {{if}} or {{with}}`},
	}
	for _, part := range parts {
		top, problem := checkLink(part.root)
		switch {
		case problem != "":
			return &TemplateError{Field: part.field, Message: problem}
		case !top && part.need != "":
			return &TemplateError{Field: part.field, Message: part.need}
		}
	}
	return nil
}

// parsedInvitation is a Template that parsed and passed the structural checks.
type parsedInvitation struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

func parseInvitation(t Template) (*parsedInvitation, error) {
	fields := []struct {
		name, src string
		max       int
	}{{"subject", t.Subject, maxSubjectBytes}, {"text", t.Text, maxBodyBytes}, {"html", t.HTML, maxBodyBytes}}
	for _, f := range fields {
		switch {
		case strings.TrimSpace(f.src) == "":
			return nil, &TemplateError{Field: f.name, Message: "is required"}
		case len(f.src) > f.max:
			return nil, &TemplateError{Field: f.name, Message: fmt.Sprintf("is longer than %d bytes", f.max)}
		}
	}
	if strings.ContainsAny(t.Subject, "\r\n") {
		return nil, &TemplateError{Field: "subject", Message: "must be a single line"}
	}
	if r, ok := BidiControl(t.Subject); ok {
		return nil, &TemplateError{Field: "subject", Message: fmt.Sprintf(
			"contains the bidirectional control character %U, which can make text show in another order; remove it", r)}
	}
	var p parsedInvitation
	var err error
	if p.subject, err = texttemplate.New("subject").Parse(t.Subject); err != nil {
		return nil, &TemplateError{Field: "subject", Message: parseMessage(err)}
	}
	if p.text, err = texttemplate.New("text").Parse(t.Text); err != nil {
		return nil, &TemplateError{Field: "text", Message: parseMessage(err)}
	}
	if p.html, err = htmltemplate.New("html").Parse(t.HTML); err != nil {
		return nil, &TemplateError{Field: "html", Message: parseMessage(err)}
	}
	checks := []struct {
		field string
		n     int
		root  *parse.ListNode
	}{
		{"subject", len(p.subject.Templates()), p.subject.Tree.Root},
		{"text", len(p.text.Templates()), p.text.Tree.Root},
		{"html", len(p.html.Templates()), p.html.Tree.Root},
	}
	for _, c := range checks {
		if c.n > 1 {
			return nil, &TemplateError{Field: c.field, Message: "{{define}} and {{block}} are not supported"}
		}
		if msg := checkNodes(c.root); msg != "" {
			return nil, &TemplateError{Field: c.field, Message: msg}
		}
	}
	return &p, nil
}

// parseMessage drops the "template: " prefix Go puts on parse errors and
// keeps the line number: "does not parse: html:3: unexpected EOF".
func parseMessage(err error) string {
	return "does not parse: " + strings.TrimPrefix(err.Error(), "template: ")
}

func (p *parsedInvitation) render(d InvitationData) (subject, text, html string, err error) {
	v := invitationView{
		FirstName:    d.FirstName,
		LastName:     d.LastName,
		FullName:     strings.Join(strings.Fields(d.FirstName+" "+d.LastName), " "),
		Organization: d.Organization,
		Number:       d.Number,
		Link:         d.Link,
		ExpiresAt:    FormatDate(d.ExpiresAt, d.Language),
	}
	var sb, tb, hb bytes.Buffer
	if err := p.subject.Execute(&limitWriter{w: &sb}, v); err != nil {
		return "", "", "", &TemplateError{Field: "subject", Message: execMessage(err)}
	}
	if err := p.text.Execute(&limitWriter{w: &tb}, v); err != nil {
		return "", "", "", &TemplateError{Field: "text", Message: execMessage(err)}
	}
	if err := p.html.Execute(&limitWriter{w: &hb}, v); err != nil {
		return "", "", "", &TemplateError{Field: "html", Message: execMessage(err)}
	}
	return cleanHeaderText(sb.String()), tb.String(), hb.String(), nil
}

func execMessage(err error) string {
	if errors.Is(err, errTooLong) {
		return fmt.Sprintf("renders more than %d bytes", maxOutputBytes)
	}
	return "does not render: " + strings.TrimPrefix(err.Error(), "template: ")
}

var errTooLong = errors.New("output too long")

// limitWriter stops a template that writes more than maxOutputBytes.
type limitWriter struct {
	w *bytes.Buffer
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > maxOutputBytes {
		return 0, errTooLong
	}
	return l.w.Write(p)
}

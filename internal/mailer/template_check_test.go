package mailer

import (
	"errors"
	"strings"
	"testing"
)

// TestLinkDoesNotDependOnTheData checks the rules that keep an invitation's activation link
// and its rendering the same for everyone: the sample data that validation renders with
// takes only some branches, so these are decided on the parse tree.
func TestLinkDoesNotDependOnTheData(t *testing.T) {
	t.Parallel()
	good := Template{Subject: "Invitation from {{.Organization}}", Text: "Activate: {{.Link}}", HTML: `<a href="{{.Link}}">Activate</a>`}
	text := func(s string) Template { c := good; c.Text = s; return c }
	html := func(s string) Template { c := good; c.HTML = s; return c }
	subject := func(s string) Template { c := good; c.Subject = s; return c }
	refused := []struct {
		name  string
		tmpl  Template
		field string
		msg   string
	}{
		{"link for all but Bob", text(`{{if ne .FirstName "Bob"}}{{.Link}}{{end}}`), "text", "is inside {{if}} or {{with}}"},
		{"html link for all but Bob", html(`{{if ne .FirstName "Bob"}}<a href="{{.Link}}">go</a>{{end}}`), "html", "is inside {{if}} or {{with}}"},
		{"second link in a branch", text(`{{.Link}}{{if .Number}} again: {{.Link}}{{end}}`), "text", "is inside {{if}} or {{with}}"},
		{"link in else", text(`{{if .Number}}x{{else}}{{.Link}}{{end}}`), "text", "is inside {{if}} or {{with}}"},
		{"link in with", text(`{{.Link}}{{with .Number}}{{$.Link}}{{end}}`), "text", "is inside {{if}} or {{with}}"},
		{"link in a subject branch", subject(`Hi{{if .Number}} {{.Link}}{{end}}`), "subject", "is inside {{if}} or {{with}}"},
		{"link as condition", text(`{{.Link}}{{if .Link}}x{{end}}`), "text", "must not decide what an invitation says"},
		{"with the link", text(`{{.Link}}{{with .Link}}{{.}}{{end}}`), "text", "must not decide what an invitation says"},
		{"link in a variable", text(`{{$l := .Link}}{{$l}}`), "text", "on its own, as {{.Link}}"},
		{"link compared", text(`{{.Link}}{{eq .Link "x"}}`), "text", "on its own, as {{.Link}}"},
		{"field of the link for Zed", text(`{{.Link}}{{if eq .FirstName "Zed"}}{{.Link.Foo}}{{end}}`), "text", "{{.Link.Foo}}: placeholders are text and have no fields"},
		{"field of the link in html", html(`<a href="{{.Link.String}}">go</a>`), "html", "{{.Link.String}}: placeholders are text"},
		{"field of the link via $", text(`{{.Link}}{{if .Number}}{{$.Link.Foo}}{{end}}`), "text", "{{.Link.Foo}}: placeholders are text"},
		{"field of a variable", text(`{{.Link}}{{$x := .}}{{if .Number}}{{$x.Link}}{{end}}`), "text", "a variable holds text and has no fields"},
		{"field of a parenthesised value", text(`{{.Link}}{{(.).Link}}`), "text", "is not supported"},
		{"eq with a number for Zed", text(`{{.Link}}{{if eq .FirstName "Zed"}}{{if eq .Number 1}}x{{end}}{{end}}`), "text", "compare them with text in double quotes"},
		{"ne with a bool", subject(`Hi{{if ne .Number true}}!{{end}}`), "subject", "compare them with text in double quotes"},
		{"not without argument", text(`{{.Link}}{{if eq .FirstName "Zed"}}{{not}}{{end}}`), "text", "not takes 1 argument, not 0"},
		{"eq with one argument", text(`{{.Link}}{{if eq .FirstName}}x{{end}}`), "text", "eq takes at least 2 arguments, not 1"},
		{"ne with three arguments", text(`{{.Link}}{{if ne .FirstName "a" "b"}}x{{end}}`), "text", "ne takes 2 arguments, not 3"},
		{"function as a bare argument", text(`{{.Link}}{{if eq not .Number}}x{{end}}`), "text", "put the call of not in parentheses"},
		{"argument to a placeholder", text(`{{.Link}}{{.FirstName "x"}}`), "text", "only a function"},
		{"placeholder after a pipe", text(`{{.Link}}{{.FirstName | .LastName}}`), "text", "only a function"},
		{"bidi override in the subject", subject("Invitation \u202Efrom {{.Organization}}"), "subject", "bidirectional control character U+202E"},
		{"bidi isolate in the subject", subject("Invitation \u2066{{.Organization}}\u2069"), "subject", "bidirectional control character U+2066"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateInvitationTemplate(c.tmpl)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TemplateError", err)
			}
			if te.Field != c.field || !strings.Contains(te.Message, c.msg) {
				t.Errorf("got %s: %q, want %s: containing %q", te.Field, te.Message, c.field, c.msg)
			}
		})
	}

	accepted := []struct {
		name string
		tmpl Template
	}{
		{"condition around other text", text(`Hi{{if eq .FirstName "Bob"}} Bob{{end}}: {{.Link}}`)},
		{"branch inside the link", html(`<a href="{{.Link}}">{{if .Number}}{{.Number}}{{else}}Activate{{end}}</a>`)},
		{"piped comparison and $.Link", text(`{{if .FirstName | eq "Bob"}}Bob, {{end}}{{$.Link}}`)},
		{"nested calls", text(`{{if and .FirstName (not .Number)}}Pick a number. {{end}}{{.Link}}`)},
		{"link in the subject", subject(`Activate {{.Link}}`)},
		{"variable of a placeholder", text(`{{$n := .FirstName}}{{if $n}}Hi {{$n}}, {{end}}{{.Link}}`)},
	}
	for _, c := range accepted {
		if err := ValidateInvitationTemplate(c.tmpl); err != nil {
			t.Errorf("%s: got %v, want accepted", c.name, err)
		}
	}
}

func TestCheckLink(t *testing.T) {
	t.Parallel()
	links := []string{
		"https://multiline.example/activate/tok-123",
		"https://multiline.example/a?x=1&y=2/activate/tok",   // & becomes &amp; in the HTML
		"https://multiline.example/on boarding/activate/tok", // the space becomes %20 in href
	}
	for _, link := range links {
		d := SampleInvitationData("en")
		d.Link = link
		_, text, html, err := RenderInvitation(DefaultInvitationTemplate("en"), d)
		if err != nil {
			t.Fatalf("render with %q: %v", link, err)
		}
		if err := CheckLink(text, html, link); err != nil {
			t.Errorf("default template with %q: got %v, want the link found", link, err)
		}
	}

	// What validation refuses still renders; the send-time check is what stops Bob's email.
	unchecked := Template{Subject: "Hi", Text: `{{if ne .FirstName "Bob"}}{{.Link}}{{end}}`,
		HTML: `<p>{{if ne .FirstName "Bob"}}<a href="{{.Link}}">go</a>{{end}}</p>`}
	cases := []struct {
		name, text, html, field string
	}{
		{"text without the link", "Hello", `<a href="L">go</a>`, "text"},
		{"html with the link only as text", "L", "<p>L</p>", "html"},
		{"html with the link filtered", "L", `<a href="#ZgotmplZ">go</a>`, "html"},
	}
	for _, c := range cases {
		var te *TemplateError
		if err := CheckLink(c.text, c.html, "L"); !errors.As(err, &te) || te.Field != c.field {
			t.Errorf("%s: got %v, want a *TemplateError for %s", c.name, err, c.field)
		}
	}
	for name, wantField := range map[string]string{"Alice": "", "Bob": "text"} {
		d := SampleInvitationData("en")
		d.FirstName = name
		_, text, html, err := RenderInvitation(unchecked, d)
		if err != nil {
			t.Fatalf("render for %s: %v", name, err)
		}
		err = CheckLink(text, html, d.Link)
		var te *TemplateError
		switch {
		case wantField == "" && err != nil:
			t.Errorf("%s: got %v, want the link found", name, err)
		case wantField != "" && (!errors.As(err, &te) || te.Field != wantField):
			t.Errorf("%s: got %v, want the %s body refused", name, err, wantField)
		}
	}
}

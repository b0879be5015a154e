package mailer

import (
	"bytes"
	"fmt"
	"strings"
	texttemplate "text/template"
	"unicode"
)

// An invitation by SMS is one text template per organization and language, beside the
// email's (Template.SMS), with the placeholders of the email and the same rule for the link:
// {{.Link}} on its own, outside every {{if}} and {{with}}.

// maxSMSBytes bounds an SMS template: ten segments of UCS-2 text, written as UTF-8, and room
// for the template's actions.
const maxSMSBytes = 2000

var defaultSMS = loadDefaultSMS()

func loadDefaultSMS() map[string]string {
	out := make(map[string]string, len(Languages))
	for _, lang := range Languages {
		b, err := templateFS.ReadFile("templates/invitation." + lang + ".sms")
		if err != nil {
			panic(fmt.Sprintf("mailer: embedded SMS template %s: %v", lang, err))
		}
		out[lang] = strings.TrimSpace(string(b))
	}
	return out
}

// DefaultInvitationSMS returns the built-in SMS text for lang, English when lang is not one
// of Languages.
func DefaultInvitationSMS(lang string) string { return defaultSMS[NormalizeLanguage(lang)] }

// ValidateInvitationSMS refuses, with a *TemplateError of field "sms", an SMS template that
// does not parse, uses an unknown placeholder or function, or does not carry the activation
// link whatever the data; the checks of ValidateInvitationTemplate.
func ValidateInvitationSMS(src string) error {
	t, err := parseSMS(src)
	if err != nil {
		return err
	}
	for _, d := range validationData() {
		text, err := renderSMS(t, d)
		if err != nil {
			return err
		}
		if err := CheckSMSLink(text, d.Link); err != nil {
			return err
		}
	}
	return nil
}

// RenderInvitationSMS fills the SMS template src with d. The people's and organization's
// names come from uploads and admins: control characters (line breaks included) and
// bidirectional controls in them are dropped, runs of spaces made one, so that a name can
// neither reorder nor break up the text around the link.
func RenderInvitationSMS(src string, d InvitationData) (string, error) {
	t, err := cachedSMS(src)
	if err != nil {
		return "", err
	}
	return renderSMS(t, d)
}

// CheckSMSLink returns a *TemplateError when a rendered SMS lacks its activation link.
// Workers check every SMS with it before sending.
func CheckSMSLink(text, link string) error {
	if !strings.Contains(text, link) {
		return &TemplateError{Field: "sms", Message: "must contain the activation link {{.Link}}"}
	}
	return nil
}

func parseSMS(src string) (*texttemplate.Template, error) {
	switch {
	case strings.TrimSpace(src) == "":
		return nil, &TemplateError{Field: "sms", Message: "is required"}
	case len(src) > maxSMSBytes:
		return nil, &TemplateError{Field: "sms", Message: fmt.Sprintf("is longer than %d bytes", maxSMSBytes)}
	}
	if r, ok := BidiControl(src); ok {
		return nil, &TemplateError{Field: "sms", Message: fmt.Sprintf(
			"contains the bidirectional control character %U, which can make text show in another order; remove it", r)}
	}
	t, err := texttemplate.New("sms").Parse(src)
	if err != nil {
		return nil, &TemplateError{Field: "sms", Message: parseMessage(err)}
	}
	if len(t.Templates()) > 1 {
		return nil, &TemplateError{Field: "sms", Message: "{{define}} and {{block}} are not supported"}
	}
	if msg := checkNodes(t.Tree.Root); msg != "" {
		return nil, &TemplateError{Field: "sms", Message: msg}
	}
	top, problem := checkLink(t.Tree.Root)
	switch {
	case problem != "":
		return nil, &TemplateError{Field: "sms", Message: problem}
	case !top:
		return nil, &TemplateError{Field: "sms", Message: "must contain the activation link {{.Link}} outside any {{if}} or {{with}}"}
	}
	return t, nil
}

var parsedSMS = parseCache[string, *texttemplate.Template]{parse: parseSMS}

func cachedSMS(src string) (*texttemplate.Template, error) { return parsedSMS.get(src) }

func renderSMS(t *texttemplate.Template, d InvitationData) (string, error) {
	first, last := smsText(d.FirstName), smsText(d.LastName)
	v := invitationView{
		FirstName:    first,
		LastName:     last,
		FullName:     strings.Join(strings.Fields(first+" "+last), " "),
		Organization: smsText(d.Organization),
		Number:       smsText(d.Number),
		Link:         d.Link,
		ExpiresAt:    FormatDate(d.ExpiresAt, d.Language),
	}
	var b bytes.Buffer
	if err := t.Execute(&limitWriter{w: &b}, v); err != nil {
		return "", &TemplateError{Field: "sms", Message: execMessage(err)}
	}
	return strings.TrimSpace(b.String()), nil
}

// smsText neutralises a value for an SMS: no control or bidirectional control characters,
// one space between words.
func smsText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case isBidiControl(r):
			return -1
		case unicode.IsControl(r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

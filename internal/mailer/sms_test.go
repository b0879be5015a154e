package mailer_test

import (
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/mailer"
)

func TestSMSSegments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		text     string
		encoding string
		units    int
		segments int
	}{
		{"empty", "", mailer.EncodingGSM7, 0, 0},
		{"160 GSM-7", strings.Repeat("a", 160), mailer.EncodingGSM7, 160, 1},
		{"161 GSM-7", strings.Repeat("a", 161), mailer.EncodingGSM7, 161, 2},
		{"306 GSM-7", strings.Repeat("a", 306), mailer.EncodingGSM7, 306, 2},
		{"307 GSM-7", strings.Repeat("a", 307), mailer.EncodingGSM7, 307, 3},
		{"extension counts two", strings.Repeat("€", 80), mailer.EncodingGSM7, 160, 1},
		{"extension over the edge", strings.Repeat("a", 159) + "[", mailer.EncodingGSM7, 161, 2},
		{"GSM accents", "è é ù ì ò à Ä Ö Ñ Ü ß", mailer.EncodingGSM7, 21, 1},
		{"70 UCS-2", strings.Repeat("ç", 70), mailer.EncodingUCS2, 70, 1},
		{"71 UCS-2", strings.Repeat("ç", 71), mailer.EncodingUCS2, 71, 2},
		{"135 UCS-2", strings.Repeat("ó", 135), mailer.EncodingUCS2, 135, 3},
		{"emoji counts two", strings.Repeat("😀", 35), mailer.EncodingUCS2, 70, 1},
	} {
		got := mailer.SMSSegments(tc.text)
		if got.Encoding != tc.encoding || got.Units != tc.units || got.Segments != tc.segments {
			t.Errorf("%s: got %+v, want %s, %d units, %d segments", tc.name, got, tc.encoding, tc.units, tc.segments)
		}
	}
}

func TestDefaultSMSInEveryLanguage(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, lang := range mailer.Languages {
		src := mailer.DefaultInvitationSMS(lang)
		if err := mailer.ValidateInvitationSMS(src); err != nil {
			t.Errorf("%s: %v", lang, err)
		}
		d := mailer.SampleInvitationData(lang)
		d.Link = "https://multiline.example/activate/" + strings.Repeat("x", 43)
		text, err := mailer.RenderInvitationSMS(src, d)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		// The built-in texts are GSM-7 themselves: with plain names, one segment.
		if !strings.Contains(text, d.Organization) || !strings.Contains(text, d.FirstName) || !strings.Contains(text, d.Link) {
			t.Errorf("%s: %q lacks the name, the organization or the link", lang, text)
		}
		d.FirstName, d.Organization = "Ana", "Acme"
		plain, _ := mailer.RenderInvitationSMS(src, d)
		info := mailer.SMSSegments(plain)
		if info.Encoding != mailer.EncodingGSM7 || info.Segments != 1 {
			t.Errorf("%s: %q is %+v, want one GSM-7 segment", lang, plain, info)
		}
		if seen[text] {
			t.Errorf("%s: same text as another language", lang)
		}
		seen[text] = true
	}
}

func TestValidateInvitationSMS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ src, want string }{
		{"Join {{.Organization}}: {{.Link}}", ""},
		{"", "is required"},
		{"Join {{.Organization}}", "must contain the activation link"},
		{"Join{{if .FirstName}} {{.Link}}{{end}}", "inside {{if}} or {{with}}"},
		{"{{.Foo}} {{.Link}}", "Foo"},
		{"{{.Link}} {{", "does not parse"},
		{"\u202e{{.Link}}", "bidirectional"},
	} {
		err := mailer.ValidateInvitationSMS(tc.src)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: got %v, want nil", tc.src, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want an error about %q", tc.src, err, tc.want)
		}
	}
}

func TestSMSNeutralisesNames(t *testing.T) {
	t.Parallel()
	d := mailer.SampleInvitationData("en")
	d.FirstName = "Eve\r\nSTOP\u202e  now"
	text, err := mailer.RenderInvitationSMS(mailer.DefaultInvitationSMS("en"), d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text, "\r\n\u202e") || !strings.Contains(text, "Eve STOP now") {
		t.Errorf("got %q, want the name on one line without controls", text)
	}
}

package csvfile

import (
	"errors"
	"strings"
	"testing"
)

// TestMessagesQuoteAtMostMaxQuoted puts a huge value in every place a message quotes one and
// checks that each message quotes only its start, cut with an ellipsis.
func TestMessagesQuoteAtMostMaxQuoted(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("é", 1<<20) // 2 MiB of UTF-8
	row := func(cells ...string) string {
		return "firstname,lastname," + mandatoryHeader + ",forwarding_number,Language\n" + strings.Join(cells, ",") + "\n"
	}
	tests := []struct {
		name string
		data string
		opts Options
	}{
		{"firstname", row(huge, "B", "a@example.com", "No", "off", "off", "", ""), Options{}},
		{"lastname", row("A", huge, "a@example.com", "No", "off", "off", "", ""), Options{}},
		{"email", row("A", "B", "a@"+huge+".com", "No", "off", "off", "", ""), Options{}},
		{"phone", row("A", "B", "+1"+strings.Repeat("5", 1<<20), "No", "off", "off", "", ""), Options{}},
		{"social_messaging", row("A", "B", "a@example.com", huge, "off", "off", "", ""), Options{}},
		{"monitor_calls", row("A", "B", "a@example.com", "No", huge, "off", "", ""), Options{}},
		{"forwarding_number", row("A", "B", "a@example.com", "No", "off", "off", huge, ""), Options{}},
		{"language", row("A", "B", "a@example.com", "No", "off", "off", "", huge), Options{}},
		{"extra cell", row("A", "B", "a@example.com", "No", "off", "off", "", "", huge), Options{}},
		{"cell without header", mandatoryHeader + ",,Language\na@example.com,No,off,off," + huge + ",en\n", Options{}},
		{"ignored restrict", mandatoryHeader + ",restrict_incoming_social_messaging\na@example.com,No,off,off," + huge + "\n",
			Options{SocialMessaging: true}},
		{"unknown column", mandatoryHeader + "," + huge + "\na@example.com,No,off,off\n", Options{}},
		{"header in one cell", `"email address or device,` + huge + `"` + "\na\n", Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.data), tc.opts)
			var messages []string
			var fe *FileError
			switch {
			case errors.As(err, &fe):
				messages = append([]string{fe.Message}, fe.Details...)
			case err != nil:
				t.Fatalf("parse: %v", err)
			default:
				for _, r := range f.Rows {
					for _, e := range r.Errors {
						messages = append(messages, e.Error())
					}
					messages = append(messages, r.Notices...)
				}
			}
			if len(messages) == 0 {
				t.Fatalf("no message about the huge value")
			}
			cut := false
			for _, m := range messages {
				if len(m) > 1000 {
					t.Errorf("message of %d bytes, want at most 1000: %.300s…", len(m), m)
				}
				cut = cut || strings.Contains(m, "…\"")
			}
			if !cut {
				t.Errorf("no message quotes the value cut with an ellipsis: %q", messages)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	exact := strings.Repeat("a", maxQuoted)
	tests := []struct{ in, want string }{
		{"", `""`},
		{"on", `"on"`},
		{"tab\there", `"tab\there"`},
		{exact, `"` + exact + `"`},
		{exact + "b", `"` + exact + `…"`},
		{strings.Repeat("é", maxQuoted+1), `"` + strings.Repeat("é", maxQuoted) + `…"`},
	}
	for _, tc := range tests {
		if got := quote(tc.in); got != tc.want {
			t.Errorf("quote(%.20q…): got %.30q… (%d bytes), want %.30q… (%d bytes)", tc.in, got, len(got), tc.want, len(tc.want))
		}
	}
}

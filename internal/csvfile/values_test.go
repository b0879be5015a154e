package csvfile

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
)

// baseRow is a valid data row, by column index.
var baseRow = [numColumns]string{"Ann", "Lee", "ann@example.com", "Yes", "", "auto", "on", "", "", ""}

// fileWith returns a file with header10 and one row per given row.
func fileWith(rows ...[numColumns]string) []byte {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(Columns(true))
	for _, r := range rows {
		_ = w.Write(r[:])
	}
	w.Flush()
	return []byte(b.String())
}

// rowWith returns baseRow with col set to value.
func rowWith(col int, value string) [numColumns]string {
	r := baseRow
	r[col] = value
	return r
}

func TestValues(t *testing.T) {
	long := strings.Repeat("é", MaxNameLength)
	tests := []struct {
		name    string
		col     int
		value   string
		opts    Options
		wantErr string           // the row's only error, "" for none
		get     func(Row) string // the normalised value, when wantErr is ""
		want    string
	}{
		// names
		{"unicode name", colFirstname, "Zoë 李 Ølsen-O'Brien", Options{}, "", func(r Row) string { return r.Firstname }, "Zoë 李 Ølsen-O'Brien"},
		{"name at the limit", colLastname, long, Options{}, "", func(r Row) string { return r.Lastname }, long},
		{"name too long", colLastname, long + "x", Options{}, `row 2, lastname: "` + long + `…" is 101 characters long; the limit is 100`, nil, ""},
		{"name with control", colFirstname, "A\x07nn", Options{}, `row 2, firstname: "A\ann" contains the control character U+0007; remove it`, nil, ""},
		{"name with tab", colFirstname, "A\tnn", Options{}, `row 2, firstname: "A\tnn" contains a line break or a tab; write the name on one line`, nil, ""},
		{"formula is data", colFirstname, "=1+2", Options{}, "", func(r Row) string { return r.Firstname }, "=1+2"},
		{"name with bidi override", colFirstname, "Ann\u202Egnp.exe", Options{}, `row 2, firstname: "Ann\u202egnp.exe" contains the invisible bidirectional control character U+202E, which makes text show in another order than it is written; remove it`, nil, ""},
		{"name with bidi isolate", colLastname, "\u2067Lee\u2069", Options{}, `row 2, lastname: "\u2067Lee\u2069" contains the invisible bidirectional control character U+2067, which makes text show in another order than it is written; remove it`, nil, ""},
		{"name with bidi embedding", colLastname, "Lee\u202A", Options{}, `row 2, lastname: "Lee\u202a" contains the invisible bidirectional control character U+202A, which makes text show in another order than it is written; remove it`, nil, ""},
		{"encoded-word is data", colFirstname, "=?utf-8?q?Urgent=0D=0AReply-To:_attacker@evil.test?=", Options{}, "", func(r Row) string { return r.Firstname }, "=?utf-8?q?Urgent=0D=0AReply-To:_attacker@evil.test?="},
		{"right-to-left name", colFirstname, "\u05D3\u05E0\u05D4", Options{}, "", func(r Row) string { return r.Firstname }, "\u05D3\u05E0\u05D4"},

		// identifier
		{"email lower-cased", colIdentifier, "Ann.Lee@Example.COM", Options{}, "", func(r Row) string { return r.Identifier + " " + r.IdentifierKind }, "ann.lee@example.com email"},
		{"email with display name", colIdentifier, "Bob <b@x.com>", Options{}, `row 2, email address or device: "Bob <b@x.com>" has more than the address; put only the address, e.g. b@x.com`, nil, ""},
		{"email in brackets", colIdentifier, "<b@x.com>", Options{}, `row 2, email address or device: "<b@x.com>" has more than the address; put only the address, e.g. b@x.com`, nil, ""},
		{"two emails", colIdentifier, "a@x.com; b@x.com", Options{}, `row 2, email address or device: "a@x.com; b@x.com" is not a valid email address; write it as name@example.com`, nil, ""},
		{"email without dot", colIdentifier, "ann@localhost", Options{}, `row 2, email address or device: "ann@localhost" is not a valid email address: the domain after @ must be a name such as example.com`, nil, ""},
		{"email without local part", colIdentifier, "@example.com", Options{}, `row 2, email address or device: "@example.com" is not a valid email address; write it as name@example.com`, nil, ""},
		{"phone with +", colIdentifier, "+1 555 010 0001", Options{}, "", func(r Row) string { return r.Identifier + " " + r.IdentifierKind }, "+15550100001 phone"},
		{"phone in parentheses", colIdentifier, "(+44) 20 7946 0958", Options{}, "", func(r Row) string { return r.Identifier }, "+442079460958"},
		{"phone with national prefix", colIdentifier, "+44 (0)20 7946 0958", Options{}, "", func(r Row) string { return r.Identifier }, "+442079460958"},
		{"phone without + (Excel)", colIdentifier, "15550100001", Options{}, "", func(r Row) string { return r.Identifier }, "+15550100001"},
		{"phone with 00", colIdentifier, "0039 06 1234 5678", Options{}, "", func(r Row) string { return r.Identifier }, "+390612345678"},
		{"phone kept as text", colIdentifier, "'+1 555 010 0001", Options{}, "", func(r Row) string { return r.Identifier }, "+15550100001"},
		{"phone with dashes", colIdentifier, "+1-555-010-0001", Options{}, "", func(r Row) string { return r.Identifier }, "+15550100001"},
		{"phone in scientific notation", colIdentifier, "1.555E+10", Options{}, `row 2, email address or device: "1.555E+10": Excel turned this number into scientific notation; format the column as Text and re-enter it`, nil, ""},
		{"phone in European scientific notation", colIdentifier, "4,4207946E+11", Options{}, `row 2, email address or device: "4,4207946E+11": Excel turned this number into scientific notation; format the column as Text and re-enter it`, nil, ""},
		{"phone too short", colIdentifier, "+1 555 0100", Options{}, `row 2, email address or device: "+1 555 0100" is too short for a phone number with country code +1; write the full number, e.g. +1 555 010 0001`, nil, ""},
		{"phone too long", colIdentifier, "+1 555 010 0001 0001", Options{}, `row 2, email address or device: "+1 555 010 0001 0001" is too long for a phone number with country code +1`, nil, ""},
		{"phone with unknown country code", colIdentifier, "+999 1234 5678", Options{}, `row 2, email address or device: "+999 1234 5678" does not start with a known country code; write it as a phone number with country code, e.g. +1 555 010 0001`, nil, ""},
		{"national number", colIdentifier, "020 7946 0958", Options{}, `row 2, email address or device: "020 7946 0958" is not a phone number with country code, e.g. +1 555 010 0001`, nil, ""},
		{"phone with extension", colIdentifier, "+1 555 010 0001 ext 5", Options{}, `row 2, email address or device: "+1 555 010 0001 ext 5" is not an email address or a phone number with country code, e.g. +1 555 010 0001`, nil, ""},
		{"neither", colIdentifier, "ann", Options{}, `row 2, email address or device: "ann" is not an email address or a phone number with country code, e.g. +1 555 010 0001`, nil, ""},
		{"phone with SMTP offload", colIdentifier, "+1 555 010 0001", Options{SMTPDataOffload: true}, `row 2, email address or device: "+1 555 010 0001" is a phone number, but this organization uses SMTP data offload: give the user's email address`, nil, ""},
		{"email with SMTP offload", colIdentifier, "a@example.com", Options{SMTPDataOffload: true}, "", func(r Row) string { return r.Identifier }, "a@example.com"},
		{"identifier empty", colIdentifier, "", Options{}, `row 2, email address or device: is required; use an email address or a phone number with country code, e.g. +1 555 010 0001`, nil, ""},

		// social_messaging
		{"social yes", colSocialMessaging, "YES", Options{}, "", func(r Row) string { return fmt.Sprint(r.SocialMessaging) }, "true"},
		{"social no", colSocialMessaging, "no", Options{}, "", func(r Row) string { return fmt.Sprint(r.SocialMessaging) }, "false"},
		{"social other", colSocialMessaging, "true", Options{}, `row 2, social_messaging: "true" is not one of Yes, No`, nil, ""},
		{"social empty", colSocialMessaging, "", Options{}, `row 2, social_messaging: is required; use Yes, No`, nil, ""},

		// multiline_number
		{"multiline number", colMultilineNumber, "+1 (555) 010-0002", Options{}, "", func(r Row) string { return r.MultilineNumber }, "+15550100002"},
		{"multiline number without +", colMultilineNumber, "442079460958", Options{}, "", func(r Row) string { return r.MultilineNumber }, "+442079460958"},
		{"multiline number scientific", colMultilineNumber, "4.4207946E+11", Options{}, `row 2, multiline_number: "4.4207946E+11": Excel turned this number into scientific notation; format the column as Text and re-enter it`, nil, ""},
		{"multiline number letters", colMultilineNumber, "call me", Options{}, `row 2, multiline_number: "call me" is not a phone number with country code, e.g. +1 555 010 0001; letters and extensions are not allowed`, nil, ""},

		// monitor_calls and monitor_sms
		{"monitor_calls auto", colMonitorCalls, "AUTO", Options{}, "", func(r Row) string { return r.MonitorCalls }, "auto"},
		{"monitor_calls off", colMonitorCalls, "Off", Options{}, "", func(r Row) string { return r.MonitorCalls }, "off"},
		{"monitor_calls on", colMonitorCalls, "on", Options{}, `row 2, monitor_calls: "on" is not one of auto, off`, nil, ""},
		{"monitor_calls empty", colMonitorCalls, "", Options{}, `row 2, monitor_calls: is required; use auto, off`, nil, ""},
		{"monitor_sms on", colMonitorSMS, "On", Options{}, "", func(r Row) string { return r.MonitorSMS }, "on"},
		{"monitor_sms auto", colMonitorSMS, "auto", Options{}, `row 2, monitor_sms: "auto" is not one of on, off`, nil, ""},
		{"monitor_sms empty", colMonitorSMS, "", Options{}, `row 2, monitor_sms: is required; use on, off`, nil, ""},

		// forwarding_number
		{"forwarding with +", colForwardingNumber, "+44 20 7946 0958", Options{}, "", func(r Row) string { return r.ForwardingNumber }, "+442079460958"},
		{"forwarding with 00", colForwardingNumber, "0044-20-7946-0958", Options{}, "", func(r Row) string { return r.ForwardingNumber }, "+442079460958"},
		{"forwarding with dots and parentheses", colForwardingNumber, "(1) 555.010.0001", Options{}, "", func(r Row) string { return r.ForwardingNumber }, "+15550100001"},
		{"forwarding 4 digits", colForwardingNumber, "1234", Options{}, "", func(r Row) string { return r.ForwardingNumber }, "+1234"},
		{"forwarding 18 digits", colForwardingNumber, "123456789012345678", Options{}, "", func(r Row) string { return r.ForwardingNumber }, "+123456789012345678"},
		{"forwarding 3 digits", colForwardingNumber, "123", Options{}, `row 2, forwarding_number: "123" has 3 digits; a forwarding number has 4 to 18 digits with country code`, nil, ""},
		{"forwarding 19 digits", colForwardingNumber, "1234567890123456789", Options{}, `row 2, forwarding_number: "1234567890123456789" has 19 digits; a forwarding number has 4 to 18 digits with country code`, nil, ""},
		{"forwarding letters", colForwardingNumber, "12ab34", Options{}, `row 2, forwarding_number: "12ab34" is not a forwarding number: use 4 to 18 digits with country code, e.g. +44 20 7946 0958`, nil, ""},
		{"forwarding scientific", colForwardingNumber, "4.4207946E+11", Options{}, `row 2, forwarding_number: "4.4207946E+11": Excel turned this number into scientific notation; format the column as Text and re-enter it`, nil, ""},

		// restrict_incoming_social_messaging
		{"restrict true", colRestrict, "TRUE", Options{SocialMessaging: true}, "", func(r Row) string { return fmt.Sprint(r.RestrictIncomingSocialMessaging) }, "true"},
		{"restrict false", colRestrict, "false", Options{SocialMessaging: true}, "", func(r Row) string { return fmt.Sprint(r.RestrictIncomingSocialMessaging) }, "false"},
		{"restrict yes", colRestrict, "yes", Options{SocialMessaging: true}, `row 2, restrict_incoming_social_messaging: "yes" is not one of true, false`, nil, ""},
		{"restrict for an org without social messaging", colRestrict, "maybe", Options{}, "", func(r Row) string { return fmt.Sprint(r.RestrictIncomingSocialMessaging) }, "false"},

		// Language
		{"language English", colLanguage, "english", Options{}, "", func(r Row) string { return r.Language }, "en"},
		{"language Italian", colLanguage, "ITALIAN", Options{}, "", func(r Row) string { return r.Language }, "it"},
		{"language German", colLanguage, "German", Options{}, "", func(r Row) string { return r.Language }, "de"},
		{"language French", colLanguage, "French", Options{}, "", func(r Row) string { return r.Language }, "fr"},
		{"language Spanish", colLanguage, "Spanish", Options{}, "", func(r Row) string { return r.Language }, "es"},
		{"language code", colLanguage, "IT", Options{}, "", func(r Row) string { return r.Language }, "it"},
		{"language code with region", colLanguage, "fr-CA", Options{}, "", func(r Row) string { return r.Language }, "fr"},
		{"language native name", colLanguage, "Français", Options{}, "", func(r Row) string { return r.Language }, "fr"},
		{"language native name 2", colLanguage, "Español", Options{}, "", func(r Row) string { return r.Language }, "es"},
		{"language empty", colLanguage, "", Options{}, "", func(r Row) string { return r.Language }, ""},
		{"language other", colLanguage, "Klingon", Options{}, `row 2, Language: "Klingon" is not one of English, Italian, German, French, Spanish (or en, it, de, fr, es)`, nil, ""},
		{"language Portuguese", colLanguage, "pt", Options{}, `row 2, Language: "pt" is not one of English, Italian, German, French, Spanish (or en, it, de, fr, es)`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(fileWith(rowWith(tt.col, tt.value)), tt.opts)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			row := f.Rows[0]
			var got []string
			for _, e := range row.Errors {
				got = append(got, e.Error())
			}
			if tt.wantErr == "" {
				if len(got) > 0 {
					t.Fatalf("errors: got %q, want none", got)
				}
				if v := tt.get(row); v != tt.want {
					t.Errorf("value: got %q, want %q", v, tt.want)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.wantErr {
				t.Errorf("errors:\ngot  %q\nwant %q", got, tt.wantErr)
			}
			if len(row.Errors) == 1 {
				e := row.Errors[0]
				if e.Line != 2 || e.Column != allColumns[tt.col] || e.Value != strings.TrimSpace(tt.value) {
					t.Errorf("FieldError: got line %d column %q value %q, want 2 %q %q", e.Line, e.Column, e.Value, allColumns[tt.col], tt.value)
				}
			}
		})
	}
}

func TestValuesTrimmed(t *testing.T) {
	r := [numColumns]string{"  Ann ", "\u00A0Lee\u00A0", " ann@example.com ", " yes", "", " off ", "on ", "", "", " en "}
	f, err := Parse(fileWith(r), Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	row := f.Rows[0]
	if got := fmt.Sprint(row.Firstname, "|", row.Lastname, "|", row.Identifier, "|", row.MonitorCalls, "|", row.Language); got != "Ann|Lee|ann@example.com|off|en" {
		t.Errorf("got %q, want Ann|Lee|ann@example.com|off|en", got)
	}
	if len(row.Errors) > 0 {
		t.Errorf("errors: got %v, want none", row.Errors)
	}
}

func TestRestrictIgnoredWhenSocialMessagingNo(t *testing.T) {
	no := rowWith(colSocialMessaging, "No")
	no[colRestrict] = "true"
	yes := rowWith(colRestrict, "true")
	yes[colIdentifier] = "b@example.com"
	noBad := no
	noBad[colIdentifier], noBad[colRestrict] = "c@example.com", "whatever"
	f, err := Parse(fileWith(no, yes, noBad), Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.Invalid() != 0 {
		t.Fatalf("errors: got %v, want none", f.Errors())
	}
	if f.Rows[0].RestrictIncomingSocialMessaging || !f.Rows[1].RestrictIncomingSocialMessaging {
		t.Errorf("restrict: got %v %v, want false true", f.Rows[0].RestrictIncomingSocialMessaging, f.Rows[1].RestrictIncomingSocialMessaging)
	}
	if want := `restrict_incoming_social_messaging "true" ignored: it applies only when social_messaging is Yes`; len(f.Rows[0].Notices) != 1 || f.Rows[0].Notices[0] != want {
		t.Errorf("row notices: got %q, want %q", f.Rows[0].Notices, want)
	}
	if want := "the restrict_incoming_social_messaging column was ignored on rows 2, 4 because social_messaging is No there"; !contains(f.Notices, want) {
		t.Errorf("file notices: got %q, want %q", f.Notices, want)
	}

	f, err = Parse(fileWith(yes), Options{SocialMessaging: false})
	if err != nil {
		t.Fatal(err)
	}
	if f.Rows[0].RestrictIncomingSocialMessaging {
		t.Errorf("restrict for an org without social messaging: got true, want false")
	}
	if want := "the restrict_incoming_social_messaging column was ignored: this organization does not use social messaging"; !contains(f.Notices, want) {
		t.Errorf("file notices: got %q, want %q", f.Notices, want)
	}
}

func TestDuplicates(t *testing.T) {
	a := baseRow
	a[colMultilineNumber] = "+1 555 010 0001"
	b := rowWith(colIdentifier, "other@example.com")
	b[colMultilineNumber] = "15550100001"
	c := rowWith(colIdentifier, "ANN@example.com")
	phone1 := rowWith(colIdentifier, "+1 555 010 0009")
	phone2 := rowWith(colIdentifier, "1 (555) 010-0009")
	f, err := Parse(fileWith(a, b, c, phone1, phone2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`row 3, multiline_number: "15550100001" is also the multiline_number of row 2; a number goes to one account`,
		`row 4, email address or device: "ANN@example.com" is a duplicate of row 2; each account appears once per file`,
		`row 6, email address or device: "1 (555) 010-0009" is a duplicate of row 5; each account appears once per file`,
	}
	var got []string
	for _, e := range f.Errors() {
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\ngot  %q\nwant %q", got, want)
	}
	if f.Valid() != 2 || f.Invalid() != 3 {
		t.Errorf("valid/invalid: got %d/%d, want 2/3", f.Valid(), f.Invalid())
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

package store_test

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/multiline/onboarding/internal/store"
)

// Every reason a person reads in the report starts with a capital, whatever the code and
// however the detail was composed (a Go error, PostgreSQL's words, a row's problems).
func TestOutcomeReasonStartsWithACapital(t *testing.T) {
	for _, o := range []store.Outcome{
		{Code: store.CodeInvalid, Detail: `row 3, social_messaging: "Maybe" is not one of Yes, No`},
		{Code: store.CodeAccountExists},
		{Code: store.CodeNumberUnavailable, Detail: "+15550000001 is reserved, not Available"},
		{Code: store.CodeNoNumber},
		{Code: store.CodeRejected, Detail: "value too long for type character varying(200)"},
		{Code: store.CodeCanceled},
		{Code: store.CodeGaveUp, Detail: "9 attempts: dial tcp: connection refused"},
		{Code: store.CodeGaveUp, AccountID: "a", Detail: "9 attempts: 421 try later"},
		{Code: store.CodeInvitationFailed, Detail: "550 5.1.1 no such user"},
		{Code: store.CodeInvitationNotSent},
		{Code: "some_future_code", Detail: "écrit en minuscules"},
	} {
		got := o.Reason()
		if r, _ := utf8.DecodeRuneInString(got); got == "" || !unicode.IsUpper(r) {
			t.Errorf("reason of %s (%q): got %q, want a sentence starting with a capital", o.Code, o.Detail, got)
		}
	}
	if got, want := (store.Outcome{Code: store.CodeInvalid, Detail: `row 3, social_messaging: "Maybe" is not one of Yes, No`}).Reason(),
		`Row 3, social_messaging: "Maybe" is not one of Yes, No`; got != want {
		t.Errorf("reason of a row refused at upload: got %q, want %q", got, want)
	}
	if got := (store.Outcome{Code: store.CodeNone}).Reason(); got != "" {
		t.Errorf("reason of a row that succeeded: got %q, want none", got)
	}
}

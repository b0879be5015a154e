package httpapi_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/multiline/onboarding/internal/sentence"
	"github.com/multiline/onboarding/internal/stacktest"
)

// personText collects the text of an answer that a person reads, by JSON path: the message of
// an error and of a row, the details that are strings, each notice, each reason.
func personText(v any, path string, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := path + "." + k
			switch s, isString := x.(string); {
			case isString && (k == "message" || k == "reason" || k == "invitation_error"):
				out[p] = s
			case k == "details" || k == "notices":
				if list, ok := x.([]any); ok {
					for i, d := range list {
						if s, ok := d.(string); ok {
							out[fmt.Sprintf("%s[%d]", p, i)] = s
						} else {
							personText(d, fmt.Sprintf("%s[%d]", p, i), out)
						}
					}
				}
			default:
				personText(x, p, out)
			}
		}
	case []any:
		for i, x := range v {
			personText(x, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// TestMessagesStartWithACapital sends requests whose answers hold every kind of text a person
// reads (the message of an error, text details, details that are objects, row problems,
// warnings and notices of a dry run, reasons) and checks that each starts with a capital.
// Details that are values the client sent come back exactly as sent.
func TestMessagesStartWithACapital(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, tokA, _ := invitedTokens(t, s, 2)
	var group string
	s.DB.Get(&group, `SELECT id FROM permission_groups WHERE organization_id = $1`, org)
	accts := s.Accounts(org)
	short := []byte(csvHeader + "A,B,a-new@acme.test,No,,auto,on\r\n")
	dryRun := []byte("firstname,lastname,email address or device,social_messaging,multiline_number,monitor_calls,monitor_sms,restrict_incoming_social_messaging\r\n" +
		"Note: delete this line\r\n" +
		"Jos\xe9,Rossi,jose@acme.test,Maybe,,auto,on,\r\n" + // Windows-1252 é; a bad social_messaging
		"Ann,Lee,a@acme.test,No,+15550000999,auto,on,true\r\n" + // an account already; a number not in the pool
		"Bo,Li,bo@acme.test,No,,auto,on,\r\n" + "Cy,Li,cy@acme.test,No,,auto,on,\r\n" + "Di,Li,di@acme.test,No,,auto,on,\r\n")
	for _, tc := range []struct {
		name   string
		send   func() stacktest.Response
		status int
		values []string // values the client sent, answered exactly as sent
	}{
		{"bad JSON", func() stacktest.Response {
			status, _, body := raw(t, s, "POST", "/v1/accounts/move", "application/json", `{"account_ids": [`)
			return stacktest.Response{Status: status, Body: []byte(body)}
		}, http.StatusBadRequest, nil},
		{"unknown field", func() stacktest.Response {
			return s.Do("POST", "/v1/organizations", s.RootToken, map[string]any{"nmae": "Typo"})
		}, http.StatusBadRequest, nil},
		{"missing columns", func() stacktest.Response {
			return s.Upload(s.RootToken, org, group, []byte("firstname,lastname\r\nA,B\r\n"), nil)
		}, http.StatusUnprocessableEntity, nil},
		{"header but no accounts", func() stacktest.Response {
			return s.Upload(s.RootToken, org, group, []byte(csvHeader), nil)
		}, http.StatusUnprocessableEntity, nil},
		{"row problems, warnings and notices of a dry run", func() stacktest.Response {
			return s.Upload(s.RootToken, org, group, dryRun, map[string]string{"dry_run": "true", "invite": "true"})
		}, http.StatusOK, nil},
		{"a form field that is not true or false", func() stacktest.Response {
			return s.Upload(s.RootToken, org, group, short, map[string]string{"dry_run": "maybe"})
		}, http.StatusBadRequest, nil},
		{"an unknown permission group", func() stacktest.Response {
			return s.Upload(s.RootToken, org, "no-such-group", short, nil)
		}, http.StatusUnprocessableEntity, nil},
		{"an unknown batch id", func() stacktest.Response {
			return s.Do("GET", "/v1/batches/00000000-0000-0000-0000-000000000000", s.RootToken, nil)
		}, http.StatusNotFound, nil},
		{"an unknown endpoint", func() stacktest.Response { return s.Do("GET", "/v1/nothing", s.RootToken, nil) }, http.StatusNotFound, nil},
		{"no token", func() stacktest.Response { return s.Do("GET", "/v1/organizations", "", nil) }, http.StatusUnauthorized, nil},
		{"a body over its limit", func() stacktest.Response {
			return s.Do("POST", "/v1/organizations", s.RootToken, map[string]string{"name": strings.Repeat("n", 2<<20)})
		}, http.StatusRequestEntityTooLarge, nil},
		{"a refused activation", func() stacktest.Response {
			return s.Do("POST", "/v1/activation/"+tokA, "", map[string]string{"number": "+15559999999"})
		}, http.StatusConflict, nil},
		{"an activation link that does not exist", func() stacktest.Response {
			return s.Do("GET", "/v1/activation/"+strings.Repeat("x", 32), "", nil)
		}, http.StatusNotFound, nil},
		{"numbers that are not phone numbers", func() stacktest.Response {
			return s.Do("POST", "/v1/organizations/"+org+"/numbers", s.RootToken, map[string][]string{"numbers": {"call me"}})
		}, http.StatusUnprocessableEntity, []string{"call me"}},
		{"an invitation template without its link", func() stacktest.Response {
			return s.Do("PUT", "/v1/organizations/"+org+"/invitation-templates/en", s.RootToken,
				map[string]string{"subject": "Hi", "text": "no link", "html": `<a href="{{.Link}}">go</a>`})
		}, http.StatusUnprocessableEntity, nil},
		{"a move of accounts that are not there", func() stacktest.Response {
			return s.Do("POST", "/v1/accounts/move", s.RootToken, map[string]any{
				"account_ids": []string{"not-an-id", "00000000-0000-0000-0000-000000000000"}, "organization_id": org})
		}, http.StatusNotFound, nil},
		{"a resend that sends nothing", func() stacktest.Response {
			return s.Do("POST", "/v1/organizations/"+org+"/invitations/resend", s.RootToken,
				map[string][]string{"account_ids": {accts["a@acme.test"].ID, "not-an-id"}})
		}, http.StatusAccepted, nil},
		{"recipients that are not addresses", func() stacktest.Response {
			return s.Do("PUT", "/v1/organizations/"+org+"/settings", s.RootToken,
				map[string][]string{"batch_report_recipients": {"ops@acme.test", "bob at acme"}})
		}, http.StatusUnprocessableEntity, []string{"bob at acme"}},
		{"privileges that do not exist", func() stacktest.Response {
			return s.Do("POST", "/v1/admins", s.RootToken, map[string]any{"email": "x@acme.test", "privileges": []string{"acounts"}})
		}, http.StatusUnprocessableEntity, []string{"acounts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.send()
			if got.Status != tc.status {
				t.Fatalf("got %d %s, want %d", got.Status, got.Body, tc.status)
			}
			var body any
			got.JSON(t, &body)
			texts := map[string]string{}
			personText(body, "", texts)
			if len(texts) == 0 {
				t.Fatalf("got %s, want text for a person in it", got.Body)
			}
			for path, text := range texts {
				if slices.Contains(tc.values, text) {
					continue
				}
				if r, _ := utf8.DecodeRuneInString(text); text == "" || unicode.IsLower(r) {
					t.Errorf("%s: got %q, want it to start with a capital", path, text)
				}
			}
			for _, v := range tc.values {
				if !strings.Contains(string(got.Body), fmt.Sprintf("%q", v)) {
					t.Errorf("got %s, want the value %q as it was sent", got.Body, v)
				}
			}
		})
	}
}

// TestErrorLiteralsStartWithAWord checks the messages of the source itself: every errorf
// format and every message of a csvfile.FileError must start with a word that
// sentence.Capitalize gives a capital, or with no letter at all (a quote, a digit). A message
// that starts with code, such as a field name ("dry_run must be…"), would reach the client
// lower case; it must be written another way ("the form field \"dry_run\" must be…").
func TestErrorLiteralsStartWithAWord(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	checked := 0
	check := func(pos token.Pos, lit ast.Expr) {
		b, ok := lit.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return
		}
		msg, err := strconv.Unquote(b.Value)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		if r, _ := utf8.DecodeRuneInString(sentence.Capitalize(msg)); unicode.IsLower(r) {
			t.Errorf("%s: message %q starts with a word that cannot take a capital", fset.Position(pos), msg)
		}
	}
	for _, pattern := range []string{"*.go", "../csvfile/*.go"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr: // errorf(status, code, format, ...)
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "errorf" && len(n.Args) >= 3 {
						check(n.Pos(), n.Args[2])
					}
				case *ast.CompositeLit: // FileError{Message: "…"} or Message: fmt.Sprintf("…", …)
					if id, ok := n.Type.(*ast.Ident); !ok || id.Name != "FileError" {
						return true
					}
					for _, e := range n.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						if k, isIdent := kv.Key.(*ast.Ident); !ok || !isIdent || k.Name != "Message" {
							continue
						}
						if call, ok := kv.Value.(*ast.CallExpr); ok && len(call.Args) > 0 {
							check(kv.Pos(), call.Args[0])
						} else {
							check(kv.Pos(), kv.Value)
						}
					}
				}
				return true
			})
		}
	}
	if checked < 50 {
		t.Errorf("checked %d messages, want the API's (more than 50): did the files move?", checked)
	}
}

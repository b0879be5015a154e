package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/stacktest"
)

// postBody posts body with contentType to path, without a token.
func postBody(t *testing.T, s *stacktest.Stack, path, contentType, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.API.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// A body the API cannot read whole used to activate the page's account as an empty form,
// keeping its reserved number: now it changes nothing.
func TestActivationBodyThatCannotBeRead(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	_, tok, _ := invitedTokens(t, s, 4)
	var a activation
	s.Do("GET", "/v1/activation/"+tok, "", nil).JSON(t, &a)
	reserved := *a.Number
	pad := strings.Repeat("x", 20<<10) // past the 16 KiB cap, well under the API's 1 MiB one
	const form, jsonType, html = "application/x-www-form-urlencoded", "application/json", "text/html; charset=utf-8"
	for _, tc := range []struct {
		name, path, contentType, body string
		want                          int
		wantType, wantText            string
	}{
		{"json too large", "/v1/activation/", jsonType, "{}" + strings.Repeat(" ", 20<<10), 413, "application/json; charset=utf-8", `"too_large"`},
		{"json malformed", "/v1/activation/", jsonType, `{"number":`, 400, "application/json; charset=utf-8", `"invalid_json"`},
		{"page too large", "/activate/", form, "number=" + url.QueryEscape(reserved) + "&pad=" + pad, 413, html, "too large to be read"},
		{"page malformed", "/activate/", form, "number=%zz", 400, html, "could not be read"},
		{"page two numbers", "/activate/", form, "number=" + url.QueryEscape(reserved) + "&number=" + url.QueryEscape(a.Numbers[0]), 400, html, "could not be read"},
		{"page not a form", "/activate/", "multipart/form-data; boundary=XX", "--XX--\r\n", 415, html, "could not be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ct, body := postBody(t, s, tc.path+tok, tc.contentType, tc.body)
			if status != tc.want || ct != tc.wantType || !strings.Contains(body, tc.wantText) {
				t.Errorf("got %d %s %.300s, want %d %s holding %q", status, ct, body, tc.want, tc.wantType, tc.wantText)
			}
			if st := s.NumberState(reserved); st != "reserved:"+a.Account.ID {
				t.Errorf("reserved number: got %s, want reserved:%s", st, a.Account.ID)
			}
			var status2 string
			s.DB.Get(&status2, `SELECT status FROM accounts WHERE id = $1`, a.Account.ID)
			if status2 != "invited" {
				t.Errorf("account: got %s, want invited", status2)
			}
		})
	}
	// The link still works, and an empty form still keeps the reserved number.
	if status, _, body := postBody(t, s, "/activate/"+tok, form, ""); status != http.StatusOK || !strings.Contains(body, "Your account is active") {
		t.Errorf("empty form: got %d %.300s, want 200 active", status, body)
	}
	if st := s.NumberState(reserved); st != "assigned:"+a.Account.ID {
		t.Errorf("kept number: got %s, want assigned:%s", st, a.Account.ID)
	}
}

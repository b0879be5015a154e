package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/multiline/onboarding/internal/stacktest"
)

// raw sends body as it is (json.Marshal would have replaced bytes that are not UTF-8) and
// returns the status, the error code ("" when the body is no JSON error) and the body.
func raw(t *testing.T, s *stacktest.Stack, method, path, contentType, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.API.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+s.RootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := stacktest.Response{Status: resp.StatusCode, Body: b, Header: resp.Header}
	code := ""
	if resp.Header.Get("Content-Type") == "application/json; charset=utf-8" && resp.StatusCode >= 400 {
		code = r.ErrorCode(t)
	}
	return resp.StatusCode, code, string(b)
}

// PostgreSQL refuses NUL and bytes that are not UTF-8 in text (22021); a path holding them
// used to reach a query and answer 500.
func TestPathThatIsNotTextIsNotFound(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, _ := s.Org("Acme", 0, 1)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/batches/%00"},
		{"GET", "/v1/batches/%FF"},
		{"GET", "/v1/batches/%00/report.csv"},
		{"POST", "/v1/batches/%00/cancel"},
		{"GET", "/v1/organizations/%00"},
		{"GET", "/v1/organizations/a%00b/accounts"},
		{"GET", "/v1/organizations/%C3%28"},
		{"GET", "/v1/organizations/" + org + "/invitation-templates/en%00"},
		{"GET", "/v1/activation/%00"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if status, code, body := raw(t, s, tc.method, tc.path, "", ""); status != http.StatusNotFound || code == "" {
				t.Errorf("got %d %s, want 404 with the error shape", status, body)
			}
		})
	}
}

func TestJSONStringThatIsNotTextIsRefused(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, _ := s.Org("Acme", 0, 1)
	orgs := func() (n int) {
		s.DB.Get(&n, `SELECT count(*) FROM organizations`)
		return n
	}
	before := moveSnapshot(t, s)
	for _, tc := range []struct {
		name, path, body string
		want             int
	}{
		{"NUL id", "/v1/accounts/move", `{"account_ids":["` + org + `"],"organization_id":"\u0000"}`, 422},
		{"NUL in an id list", "/v1/admins", `{"email":"x@acme.test","privileges":["reports"],"organization_ids":["\u0000"]}`, 422},
		{"raw byte 0xff", "/v1/accounts/move", "{\"account_ids\":[\"a\"],\"organization_id\":\"\xff\"}", 422},
		{"raw byte 0xff in a name", "/v1/organizations", "{\"name\":\"Caf\xe9\"}", 422},
		{"lone high surrogate", "/v1/organizations", `{"name":"a\ud800b"}`, 422},
		{"lone low surrogate", "/v1/organizations", `{"name":"a\udc00b"}`, 422},
		{"two high surrogates", "/v1/organizations", `{"name":"\ud83d\ud83d"}`, 422},
		{"NUL in a key", "/v1/organizations", `{"name":"ok","\u0000":1}`, 400}, // an unknown field first
		{"escaped backslash then u0000", "/v1/organizations", `{"name":"back\\u0000slash"}`, 201},
		{"surrogate pair", "/v1/organizations", `{"name":"Smile \ud83d\ude00"}`, 201},
		{"U+FFFD sent on purpose", "/v1/organizations", `{"name":"Replacement \ufffd"}`, 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := orgs()
			status, code, body := raw(t, s, "POST", tc.path, "application/json", tc.body)
			if status != tc.want || (tc.want == 422 && code != "invalid_text") {
				t.Errorf("got %d %s, want %d", status, body, tc.want)
			}
			if added := orgs() - n; tc.want != 201 && added != 0 {
				t.Errorf("got %d organizations added, want 0", added)
			}
		})
	}
	if after := moveSnapshot(t, s); after != before {
		t.Errorf("accounts, numbers or invitations changed:\n got %s\nwant %s", after, before)
	}
	var admins int
	s.DB.Get(&admins, `SELECT count(*) FROM admins WHERE email = 'x@acme.test'`)
	if admins != 0 {
		t.Errorf("got %d admins x@acme.test, want 0", admins)
	}
}

// The upload's other form fields and the file's name are stored too.
func TestUploadFieldThatIsNotTextIsRefused(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, group := s.Org("Acme", 0, 1)
	part := func(name, filename, value string) string {
		cd := `form-data; name="` + name + `"`
		if filename != "" {
			cd += `; filename="` + filename + `"`
		}
		return "--XX\r\nContent-Disposition: " + cd + "\r\n\r\n" + value + "\r\n"
	}
	file := csvHeader + "A,A,a@acme.test,No,,auto,on\r\n"
	for _, tc := range []struct{ name, body string }{
		{"NUL group id", part("permission_group", "", "\x00") + part("file", "a.csv", file)},
		{"0xff group id", part("permission_group", "", "\xff") + part("file", "a.csv", file)},
		{"0xff in the file name", part("permission_group", "", group) + part("file", "caf\xe9.csv", file)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, body := raw(t, s, "POST", "/v1/organizations/"+org+"/batches",
				"multipart/form-data; boundary=XX", tc.body+"--XX--\r\n")
			if status != http.StatusUnprocessableEntity || code != "invalid_text" {
				t.Errorf("got %d %s, want 422 invalid_text", status, body)
			}
		})
	}
	var batches int
	s.DB.Get(&batches, `SELECT count(*) FROM batches`)
	if batches != 0 {
		t.Errorf("got %d batches, want 0", batches)
	}
}

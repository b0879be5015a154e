package httpapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/stacktest"
)

// TestTooLargeNamesWhatAndItsLimit checks that each 413 says what was too large and the
// limit in plain units, and that nothing of a refused upload is stored.
func TestTooLargeNamesWhatAndItsLimit(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t) // MaxUpload 5 MiB
	org, group := s.Org("Acme", 0, 10)
	small := stacktest.CSV("acme.test", 0, 1)
	fields := map[string]string{}
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q"} {
		fields[name] = strings.Repeat("x", 4000) // 68 KB beside the file, each field under its own limit
	}
	cases := []struct {
		name string
		send func() stacktest.Response
		want []string // in the message
	}{
		{"the file", func() stacktest.Response {
			return s.Upload(s.RootToken, org, group, bytes.Repeat([]byte("x"), 6<<20), nil)
		}, []string{"The file is larger than the limit of 5 MiB", "split it"}},
		{"a form field the API reads", func() stacktest.Response {
			return s.Upload(s.RootToken, org, group, small, map[string]string{"invite": strings.Repeat("t", 5000)})
		}, []string{`The form field "invite" is larger than the limit of 4 KiB`}},
		{"a form field the API does not read", func() stacktest.Response {
			return s.Upload(s.RootToken, org, group, small, map[string]string{strings.Repeat("n", 300): strings.Repeat("t", 5000)})
		}, []string{"A form field is larger than the limit of 4 KiB"}},
		{"the form fields together", func() stacktest.Response {
			return s.Upload(s.RootToken, org, group, bytes.Repeat([]byte("x"), 5<<20-100), fields)
		}, []string{"The upload is larger than the limit of 5.1 MiB", "5 MiB for the file", "64 KiB for the other form fields"}},
		{"a JSON body", func() stacktest.Response {
			return s.Do("POST", "/v1/organizations", s.RootToken, map[string]string{"name": strings.Repeat("n", 2<<20)})
		}, []string{"The JSON body is larger than the limit of 1 MiB"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.send()
			code, msg := got.Error(t)
			if got.Status != http.StatusRequestEntityTooLarge || code != "too_large" {
				t.Fatalf("got %d %s, want 413 too_large", got.Status, got.Body)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q, want it to say %q", msg, w)
				}
			}
			if len(msg) > 300 {
				t.Errorf("message of %d bytes repeats what was sent: %.200s…", len(msg), msg)
			}
		})
	}
	if b, r := countStored(t, s); b != 0 || r != 0 {
		t.Errorf("refused uploads stored %d batches and %d rows", b, r)
	}
}

// TestCompressedBodiesAreRefused checks that a body with a Content-Encoding gets a 415 that
// says so, on an upload as on a JSON endpoint, and changes nothing.
func TestCompressedBodiesAreRefused(t *testing.T) {
	t.Parallel()
	s := stacktest.New(t)
	org, _ := s.Org("Acme", 0, 10)
	for _, c := range []struct {
		name, path, contentType, encoding string
	}{
		{"gzip upload", "/v1/organizations/" + org + "/batches", "multipart/form-data; boundary=x", "gzip"},
		{"deflate JSON", "/v1/organizations", "application/json", "deflate"},
		{"encoding list", "/v1/organizations", "application/json", "identity, br"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.API.URL+c.path, strings.NewReader("\x1f\x8b\x08\x00 not really gzip"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+s.RootToken)
			req.Header.Set("Content-Type", c.contentType)
			req.Header.Set("Content-Encoding", c.encoding)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			got := stacktest.Response{Status: resp.StatusCode, Body: buf.Bytes()}
			code, msg := got.Error(t)
			if got.Status != http.StatusUnsupportedMediaType || code != "compressed_body" ||
				!strings.HasPrefix(msg, "Compressed uploads are not supported") {
				t.Errorf("got %d %s, want 415 compressed_body saying compressed uploads are not supported", got.Status, got.Body)
			}
		})
	}
	if got := s.Do("POST", "/v1/organizations", s.RootToken, map[string]string{"name": "Plain"}); got.Status != http.StatusCreated {
		t.Errorf("an uncompressed body: got %d %s, want 201", got.Status, got.Body)
	}
	var orgs int
	if err := s.DB.Get(&orgs, `SELECT count(*) FROM organizations`); err != nil || orgs != 2 {
		t.Errorf("organizations: got %d (%v), want 2 (Acme and Plain)", orgs, err)
	}
	if b, r := countStored(t, s); b != 0 || r != 0 {
		t.Errorf("refused uploads stored %d batches and %d rows", b, r)
	}
}

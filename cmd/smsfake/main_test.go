package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/sms"
	"github.com/multiline/onboarding/internal/smstest"
)

// TestPageListsWhatTheClientSent: a message sent with the real client shows on the page,
// escaped.
func TestPageListsWhatTheClientSent(t *testing.T) {
	api := smstest.NewAPI()
	mux := http.NewServeMux()
	mux.Handle("/2010-04-01/", api)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { writePage(w, api) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := sms.New(sms.Config{URL: "twilio+http://AC1:tok@" + strings.TrimPrefix(srv.URL, "http://") + "?from=%2B15550009999", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendSMS(context.Background(), sms.Message{To: "+15550100001", Body: "Hi <b>Ada</b>: http://localhost:8080/activate/x"}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "15550100001") || !strings.Contains(string(body), "Hi &lt;b&gt;Ada&lt;/b&gt;") {
		t.Errorf("page lacks the message, escaped:\n%s", body)
	}
}

package sms_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/multiline/onboarding/internal/sms"
	"github.com/multiline/onboarding/internal/smstest"
)

func newClient(t *testing.T, srv *smstest.Server) *sms.Client {
	t.Helper()
	c, err := sms.New(sms.Config{URL: srv.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestSendSMS(t *testing.T) {
	t.Parallel()
	srv := smstest.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	if err := c.SendSMS(ctx, sms.Message{To: "+15550100001", Body: "Ciao: http://x/activate/abc"}); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].To != "+15550100001" || msgs[0].From != smstest.From || msgs[0].Body != "Ciao: http://x/activate/abc" ||
		msgs[0].AccountSID != smstest.AccountSID {
		t.Fatalf("got %+v, want one message to +15550100001 from %s", msgs, smstest.From)
	}
}

func TestSendSMSErrorsClassified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fault      smstest.Fault
		temporary  bool
		retryAfter time.Duration
		reason     string
	}{
		{"429 with Retry-After", smstest.Fault{Status: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: "3"}, true, 3 * time.Second, "429 20429 Too Many Requests"},
		{"500", smstest.ServerError, true, 0, "500 20500"},
		{"503 with Retry-After", smstest.Fault{Status: 503, Message: "busy", RetryAfter: "2"}, true, 2 * time.Second, "503"},
		{"invalid number", smstest.InvalidNumber("+15550100001"), false, 0, "400 21211 The 'To' number +15550100001 is not a valid phone number."},
		{"unsubscribed", smstest.Unsubscribed(), false, 0, "400 21610 Attempt to send to unsubscribed recipient"},
		{"not a mobile", smstest.Fault{Status: 400, Code: 21614, Message: "'To' number is not a valid mobile number"}, false, 0, "21614"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smstest.Start(t)
			srv.FailNext(1, tc.fault)
			err := newClient(t, srv).SendSMS(context.Background(), sms.Message{To: "+15550100001", Body: "hi"})
			if err == nil {
				t.Fatal("got nil, want an error")
			}
			if sms.IsTemporary(err) != tc.temporary || sms.IsPermanent(err) == tc.temporary {
				t.Errorf("%v: got temporary %v, want %v", err, sms.IsTemporary(err), tc.temporary)
			}
			if d, _ := sms.RetryAfter(err); d != tc.retryAfter {
				t.Errorf("retry after: got %s, want %s", d, tc.retryAfter)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("got %q, want it to hold %q", err, tc.reason)
			}
		})
	}
}

func TestSendSMSNoServerIsTemporary(t *testing.T) {
	t.Parallel()
	c, err := sms.New(sms.Config{URL: "twilio+http://AC1:tok@127.0.0.1:1?from=%2B15550000000", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = c.SendSMS(context.Background(), sms.Message{To: "+15550100001", Body: "hi"})
	if !sms.IsTemporary(err) {
		t.Errorf("got %v, want a temporary error", err)
	}
}

func TestSendSMSRefusesANonE164Recipient(t *testing.T) {
	t.Parallel()
	srv := smstest.Start(t)
	err := newClient(t, srv).SendSMS(context.Background(), sms.Message{To: "+1555\r\nX-Evil: 1", Body: "hi"})
	if !sms.IsPermanent(err) || srv.Requests() != 0 {
		t.Errorf("got %v after %d requests, want a permanent error and no request", err, srv.Requests())
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, wantErr string
	}{
		{"twilio://AC123:tok@api.twilio.com?from=%2B15550000000", ""},
		{"twilio://AC123:tok@api.twilio.com?messaging_service_sid=MG123", ""},
		{"twilio://AC123:tok@api.twilio.com?from=MultiLine", ""},
		{"twilio+http://AC123:tok@127.0.0.1:8026?from=%2B15550000000", ""},
		{"twilio+http://AC123:tok@example.com?from=%2B15550000000", "local fake"},
		{"twilio://AC123:tok@evil.example?from=%2B15550000000", "not a Twilio API host"},
		{"twilio://AC123:tok@api.twilio.com", "required"},
		{"twilio://AC123:tok@api.twilio.com?from=%2B1555&messaging_service_sid=MG1", "not both"},
		{"twilio://AC123:tok@api.twilio.com?from=%0D%0AX", "neither"},
		{"twilio://nope:tok@api.twilio.com?from=%2B15550000000", "account sid"},
		{"smtp://x", "scheme"},
	} {
		_, err := sms.New(sms.Config{URL: tc.url})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: got %v, want nil", tc.url, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got %v, want an error about %q", tc.url, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "tok") {
			t.Errorf("%s: error %q shows the token", tc.url, err)
		}
	}
}

// TestSendSMSReusesConnections: sends, accepted or refused, share pooled connections.
func TestSendSMSReusesConnections(t *testing.T) {
	t.Parallel()
	srv := smstest.Start(t)
	c := newClient(t, srv)
	srv.FailNext(5, smstest.InvalidNumber("+15550100001"))
	for i := range 10 {
		err := c.SendSMS(context.Background(), sms.Message{To: "+15550100001", Body: "hi"})
		if (i < 5) != (err != nil) {
			t.Fatalf("send %d: got %v", i, err)
		}
	}
	if n := srv.Conns(); n != 1 {
		t.Errorf("10 sequential sends (5 refused) opened %d connections, want 1", n)
	}
}

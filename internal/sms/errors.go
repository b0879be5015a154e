package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	twilio "github.com/twilio/twilio-go/client"
)

// SendError is the outcome of a failed SendSMS: the provider's answer when there was one,
// and whether trying again later may succeed.
type SendError struct {
	Status     int           // the HTTP status of the provider's answer, 0 when none came
	Code       int           // the provider's error code (Twilio's 21211, 21610...), 0 when none
	Message    string        // the provider's reason, or what went wrong locally
	Temporary  bool          // true for 429, 5xx, timeouts and connections that failed
	RetryAfter time.Duration // the provider's Retry-After, 0 when it gave none
	err        error
}

// Error reads like "sms provider: 400 21211 The 'To' number +1555 is not a valid phone number".
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("sms provider: ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d ", e.Status)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, "%d ", e.Code)
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.err }

// IsPermanent reports whether err says that sending the same message again cannot succeed:
// an invalid or unsubscribed number, a refused sender, any 4xx but 429.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && !se.Temporary
}

// IsTemporary reports whether err is a failure worth retrying later.
func IsTemporary(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Temporary
}

// RetryAfter returns how long the provider asked to wait before trying again, when err
// carries a Retry-After.
func RetryAfter(err error) (time.Duration, bool) {
	var se *SendError
	if errors.As(err, &se) && se.Temporary && se.RetryAfter > 0 {
		return se.RetryAfter, true
	}
	return 0, false
}

// answer is what the transport saw of the provider's answer to one request.
type answer struct {
	status     int
	retryAfter time.Duration
}

// classify turns what twilio-go returned, and the answer the transport saw, into a
// *SendError.
func classify(ctx context.Context, err error, a answer) *SendError {
	se := &SendError{Status: a.status, RetryAfter: a.retryAfter, Message: err.Error(), err: err}
	var rest *twilio.TwilioRestError
	if errors.As(err, &rest) {
		se.Code, se.Message = rest.Code, oneLine(rest.Message)
		if se.Status == 0 {
			se.Status = rest.Status
		}
	}
	switch {
	case se.Status == 0:
		// No answer: refused, reset, timed out, or the task's context ended.
		if cerr := ctx.Err(); cerr != nil {
			se.Message = cerr.Error()
		}
		se.Temporary = true
	case se.Status == http.StatusTooManyRequests || se.Status >= 500:
		se.Temporary = true
		if rest == nil {
			se.Message = http.StatusText(se.Status)
		}
	case rest == nil:
		se.Message = http.StatusText(se.Status) + " (the answer held no Twilio error)"
	}
	return se
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date. It is capped at
// five minutes, so that a provider's odd answer cannot park a row for hours.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), 5*time.Minute)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

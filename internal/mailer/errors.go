package mailer

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strings"
	"time"
)

// SendError is the outcome of a failed Send: the server's reply when there
// was one, and whether trying again later may succeed.
type SendError struct {
	Op        string // what failed: "message", "dial", "mail", "rcpt", "data", "send"
	Code      int    // SMTP reply code, 0 when the server did not answer
	Enhanced  string // RFC 3463 enhanced status code such as "5.1.1", when given
	Message   string // the server's reason text, or what went wrong locally
	Temporary bool   // true for 4xx replies, dial errors, timeouts and dropped connections
	err       error
}

// Error reads like "smtp rcpt: 550 5.1.1 No such user".
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("smtp ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Code != 0 {
		fmt.Fprintf(&b, "%d ", e.Code)
		if e.Enhanced != "" {
			b.WriteString(e.Enhanced)
			b.WriteString(" ")
		}
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the underlying error, e.g. a *net.OpError or context.Canceled.
func (e *SendError) Unwrap() error { return e.err }

// IsPermanent reports whether err says that sending the same message again
// cannot succeed: a 5xx reply or a message that cannot be built.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && !se.Temporary
}

// IsTemporary reports whether err is a failure worth retrying later: a 4xx
// reply, a dial error, a timeout or a dropped connection.
func IsTemporary(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Temporary
}

// IsRateLimited reports whether err is a temporary refusal that says the sender is over the
// server's rate: a 421, 450, 451 or 454 reply that speaks of a rate, a limit, throttling or
// too many messages (Gmail's "421 4.7.28 ... unusual rate", SES's "454 Throttling failure:
// Maximum sending rate exceeded", Postfix's "450 4.7.1 ... rate limit exceeded"). Sending
// again at once would be refused the same way, so it calls for a longer wait.
func IsRateLimited(err error) bool {
	var se *SendError
	if !errors.As(err, &se) || !se.Temporary {
		return false
	}
	switch se.Code {
	case 421, 450, 451, 454:
		return rateWords.MatchString(se.Message)
	}
	return false
}

var rateWords = regexp.MustCompile(`(?i)\brate\b|limit|throttl|too many|too fast`)

var enhancedRe = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})\s+`)

// classify turns any error from dialing or sending into a *SendError.
func classify(ctx context.Context, op string, err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, errInvalid) {
		return &SendError{Op: op, Message: err.Error(), err: err}
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		msg := strings.Join(strings.Fields(strings.ReplaceAll(tp.Msg, "\n", " ")), " ")
		enhanced := ""
		if m := enhancedRe.FindStringSubmatch(msg); m != nil {
			enhanced = m[1]
			msg = msg[len(m[0]):]
		}
		// A 5xx reply is final; anything else the server says (4xx, or an
		// unexpected 2xx/3xx) leaves the door open for a later attempt.
		return &SendError{
			Op: op, Code: tp.Code, Enhanced: enhanced, Message: msg,
			Temporary: tp.Code < 500 || tp.Code > 599, err: err,
		}
	}
	if ctxErr := contextErr(ctx); ctxErr != nil {
		return &SendError{Op: op, Message: ctxErr.Error(), Temporary: true, err: errors.Join(ctxErr, err)}
	}
	// No reply: connection refused, TLS failure, timeout, reset, EOF.
	return &SendError{Op: op, Message: err.Error(), Temporary: true, err: err}
}

// contextErr is ctx.Err(), also when the socket deadline, which Send derives
// from ctx's deadline, fired a moment before ctx's own timer.
func contextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	twilio "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// Message is one text message to send.
type Message struct {
	To   string // E.164, such as +15550100001
	Body string
}

// Client sends text messages through Twilio's Messages API. It is safe for concurrent use;
// every send shares one pool of HTTP connections.
//
// Twilio has no idempotency key: a send whose answer is lost (the connection dropped after
// Twilio took the request, a worker killed mid-request) is sent again on the row's retry,
// with the same link, so that person may get two copies that both work.
type Client struct {
	s         settings
	transport *http.Transport
}

// New returns a Client for cfg; it makes no request.
func New(cfg Config) (*Client, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          s.maxConns,
		MaxIdleConnsPerHost:   s.maxConns,
		MaxConnsPerHost:       s.maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   s.timeout,
		ResponseHeaderTimeout: s.timeout,
	}
	return &Client{s: s, transport: t}, nil
}

// Close closes the idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// Sender names how the client sends, for logs: the sender number or id, or the messaging
// service.
func (c *Client) Sender() string {
	if c.s.service != "" {
		return "messaging service " + c.s.service
	}
	return c.s.from
}

var toRe = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// SendSMS sends msg, and returns once the provider has accepted it (status queued) or
// refused it. A failure is a *SendError: see IsPermanent, IsTemporary and RetryAfter.
func (c *Client) SendSMS(ctx context.Context, msg Message) error {
	if !toRe.MatchString(msg.To) {
		return &SendError{Message: fmt.Sprintf("%q is not an E.164 phone number", msg.To)}
	}
	if strings.TrimSpace(msg.Body) == "" {
		return &SendError{Message: "empty message"}
	}
	// twilio-go builds its requests without a context and drops the answer's headers on an
	// error: a client of its own per send, on the shared transport, gives the request this
	// send's context (its deadline, its cancel) and keeps the status and Retry-After. The
	// timeout is the context's, not http.Client's, whose timer would outlive a send whose
	// error body twilio-go leaves open.
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	ct := &callTransport{ctx: ctx, base: c.transport, scheme: c.s.scheme, host: c.s.host}
	hc := &http.Client{Transport: ct,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := &twilio.Client{Credentials: twilio.NewCredentials(c.s.sid, c.s.token), HTTPClient: hc}
	base.SetAccountSid(c.s.sid)
	rh := &twilio.RequestHandler{Client: base} // no Edge or Region from the environment: the URL says where
	params := &api.CreateMessageParams{}
	params.SetTo(msg.To)
	params.SetBody(msg.Body)
	if c.s.service != "" {
		params.SetMessagingServiceSid(c.s.service)
	} else {
		params.SetFrom(c.s.from)
	}
	_, err := api.NewApiService(rh).CreateMessage(params)
	if err != nil {
		return classify(ctx, err, ct.answer())
	}
	return nil
}

// callTransport sends one SendSMS's requests on the shared transport, with its context and
// to the configured host, and notes the provider's answer.
type callTransport struct {
	ctx          context.Context
	base         http.RoundTripper
	scheme, host string

	mu  sync.Mutex
	ans answer
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	r.URL.Scheme, r.URL.Host, r.Host = t.scheme, t.host, t.host
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		if cerr := t.ctx.Err(); cerr != nil {
			err = errors.Join(cerr, err)
		}
		return nil, err
	}
	t.mu.Lock()
	t.ans = answer{status: resp.StatusCode, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	t.mu.Unlock()
	if resp.StatusCode >= 400 {
		// twilio-go decodes an error answer and never closes it: read it here (a Twilio error
		// is a few hundred bytes) so that the connection goes back to the pool.
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

func (t *callTransport) answer() answer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ans
}

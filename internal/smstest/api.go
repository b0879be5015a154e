// Package smstest is a fake of the part of Twilio's Messages API that twilio-go uses to send
// a text message: POST /2010-04-01/Accounts/{sid}/Messages.json with the form fields To,
// From or MessagingServiceSid, and Body, answered with the message's JSON (status queued) or
// with a Twilio error. It records every request, and can be told to answer 429 (with a
// Retry-After), 500, or a 400 with a Twilio error code. Tests start it with Start; the dev
// stack's cmd/smsfake serves the same API.
package smstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Message is a text message the fake accepted.
type Message struct {
	SID                 string    `json:"sid"`
	AccountSID          string    `json:"account_sid"`
	To                  string    `json:"to"`
	From                string    `json:"from"`
	MessagingServiceSID string    `json:"messaging_service_sid"`
	Body                string    `json:"body"`
	Status              string    `json:"status"`
	DateCreated         time.Time `json:"-"`
}

// Fault is an error answer: an HTTP status, and for a Twilio error its code and message.
type Fault struct {
	Status     int
	Code       int    // Twilio's error code, such as 21211 (invalid To) or 21610 (unsubscribed)
	Message    string // Twilio's message
	RetryAfter string // the Retry-After header, "" for none
}

// Common faults.
var (
	TooManyRequests = Fault{Status: http.StatusTooManyRequests, Code: 20429, Message: "Too Many Requests", RetryAfter: "1"}
	ServerError     = Fault{Status: http.StatusInternalServerError, Code: 20500, Message: "Internal Server Error"}
)

// InvalidNumber is Twilio's answer to a To that is not a phone number.
func InvalidNumber(to string) Fault {
	return Fault{Status: http.StatusBadRequest, Code: 21211, Message: fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)}
}

// Unsubscribed is Twilio's answer to a To that replied STOP.
func Unsubscribed() Fault {
	return Fault{Status: http.StatusBadRequest, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}
}

// Request is one send request as the fake answered it.
type Request struct {
	At     time.Time
	To     string
	Status int // the HTTP status answered
}

// API is the fake Messages API, an http.Handler. Its zero value is not usable: NewAPI.
type API struct {
	mu       sync.Mutex
	messages []Message
	requests []Request
	changed  chan struct{} // closed and replaced whenever messages or requests grow
	next     []Fault       // answers for the next requests, in order
	refuse   func(to string) *Fault
	delay    time.Duration
}

// NewAPI returns an API that accepts every well-formed message.
func NewAPI() *API { return &API{changed: make(chan struct{})} }

var messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/(AC[0-9A-Za-z]+)/Messages\.json$`)

// ServeHTTP answers POST /2010-04-01/Accounts/{sid}/Messages.json; anything else is 404.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := messagesPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		writeFault(w, Fault{Status: http.StatusNotFound, Code: 20404, Message: "The requested resource " + r.URL.Path + " was not found"})
		return
	}
	user, _, ok := r.BasicAuth()
	if !ok || user != m[1] {
		writeFault(w, Fault{Status: http.StatusUnauthorized, Code: 20003, Message: "Authenticate"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeFault(w, Fault{Status: http.StatusBadRequest, Code: 20001, Message: err.Error()})
		return
	}
	msg := Message{AccountSID: m[1], To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"), Body: r.PostForm.Get("Body"),
		Status: "queued", DateCreated: time.Now()}
	fault, n := a.take(msg.To)
	if fault == nil {
		fault = malformed(msg)
	}
	if d := a.delayNow(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if fault != nil {
		a.answered(n, fault.Status)
		writeFault(w, *fault)
		return
	}
	msg.SID = "SM" + randomHex(16)
	a.mu.Lock()
	a.messages = append(a.messages, msg)
	a.requests[n].Status = http.StatusCreated
	a.notify()
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(msg)
}

// take records a request and returns the fault it is to get, if any, and its index.
func (a *API) take(to string) (*Fault, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, Request{At: time.Now(), To: to})
	n := len(a.requests) - 1
	a.notify()
	if len(a.next) > 0 {
		f := a.next[0]
		a.next = a.next[1:]
		return &f, n
	}
	if a.refuse != nil {
		return a.refuse(to), n
	}
	return nil, n
}

func (a *API) answered(n, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests[n].Status = status
}

// malformed is Twilio's answer to a message that lacks what it needs.
func malformed(m Message) *Fault {
	switch {
	case !strings.HasPrefix(m.To, "+"):
		f := InvalidNumber(m.To)
		return &f
	case m.From == "" && m.MessagingServiceSID == "":
		return &Fault{Status: http.StatusBadRequest, Code: 21603, Message: "A 'From' or 'MessagingServiceSid' parameter is required to send a message"}
	case m.Body == "":
		return &Fault{Status: http.StatusBadRequest, Code: 21602, Message: "Message body is required."}
	}
	return nil
}

func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": f.Code, "message": f.Message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", f.Code), "status": f.Status})
}

// FailNext makes the next n requests answer f.
func (a *API) FailNext(n int, f Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range n {
		a.next = append(a.next, f)
	}
}

// Refuse makes fn decide, for each request that FailNext leaves alone, whether it is
// refused: fn returns the fault, or nil to accept.
func (a *API) Refuse(fn func(to string) *Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refuse = fn
}

// SetDelay makes every answer wait d.
func (a *API) SetDelay(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delay = d
}

func (a *API) delayNow() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.delay
}

// Messages returns the messages accepted so far, oldest first.
func (a *API) Messages() []Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Message(nil), a.messages...)
}

// Requests returns how many send requests came, accepted or not.
func (a *API) Requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.requests)
}

// RequestLog returns every send request, oldest first.
func (a *API) RequestLog() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.requests...)
}

// Changed returns a channel closed at the next message or request.
func (a *API) Changed() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changed
}

func (a *API) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

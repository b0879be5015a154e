// Package sms sends text messages through an SMS provider's HTTP API: Twilio's Messages API,
// through twilio-go, over one pool of HTTP connections. It knows no database.
package sms

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config says where and how the Client sends.
//
// URL forms:
//
//	twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15550000000
//	twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?messaging_service_sid=MG...
//	twilio+http://SID:TOKEN@127.0.0.1:8026?from=%2B15550000000   a local fake only (tests, make run)
//
// The host of twilio:// is a Twilio API host (api.twilio.com, or an edge such as
// api.dublin.ie1.twilio.com), reached over HTTPS; twilio+http:// speaks plain HTTP and is
// refused for any host but the loopback. The sender is from (an E.164 number or an
// alphanumeric sender id) or messaging_service_sid, one of them, and only ever from here:
// nothing of an upload reaches it.
type Config struct {
	URL      string        // see above
	Timeout  time.Duration // limit for one request to the provider; default 10s
	MaxConns int           // connections kept open to the provider; default 16
}

const (
	defaultTimeout  = 10 * time.Second
	defaultMaxConns = 16
)

// settings is a validated Config.
type settings struct {
	scheme, host string // where requests go
	sid, token   string
	from         string // a sender number or id, or ""
	service      string // a messaging service sid, or ""
	timeout      time.Duration
	maxConns     int
}

var (
	sidRe     = regexp.MustCompile(`^AC[0-9a-zA-Z]{1,64}$`)
	tokenRe   = regexp.MustCompile(`^[0-9a-zA-Z]{1,128}$`)
	serviceRe = regexp.MustCompile(`^MG[0-9a-zA-Z]{1,64}$`)
	// A sender is an E.164 number or an alphanumeric sender id (letters, digits, spaces, at
	// most 11 characters, at least one letter).
	fromNumberRe = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	fromIDRe     = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

func (c Config) settings() (settings, error) {
	s := settings{timeout: c.Timeout, maxConns: c.MaxConns}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	if s.maxConns <= 0 {
		s.maxConns = defaultMaxConns
	}
	u, err := url.Parse(strings.TrimSpace(c.URL))
	if err != nil {
		// url.Error repeats the URL, which holds the auth token.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return settings{}, fmt.Errorf("sms url: %w", err)
	}
	host := u.Hostname()
	switch u.Scheme {
	case "twilio":
		if host != "twilio.com" && !strings.HasSuffix(host, ".twilio.com") {
			return settings{}, fmt.Errorf("sms url: host %q is not a Twilio API host (api.twilio.com)", host)
		}
		s.scheme, s.host = "https", u.Host
	case "twilio+http":
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return settings{}, fmt.Errorf("sms url: twilio+http is for a local fake provider only, not %q; use twilio://", host)
		}
		s.scheme, s.host = "http", u.Host
	default:
		return settings{}, fmt.Errorf("sms url: scheme %q: want twilio (or twilio+http for a local fake)", u.Scheme)
	}
	s.sid = u.User.Username()
	s.token, _ = u.User.Password()
	if !sidRe.MatchString(s.sid) {
		return settings{}, errors.New("sms url: the user must be a Twilio account sid (AC...)")
	}
	if !tokenRe.MatchString(s.token) {
		return settings{}, errors.New("sms url: the password must be the account's auth token (letters and digits)")
	}
	q := u.Query()
	s.from, s.service = q.Get("from"), q.Get("messaging_service_sid")
	switch {
	case s.from != "" && s.service != "":
		return settings{}, errors.New("sms url: give from or messaging_service_sid, not both")
	case s.service != "" && !serviceRe.MatchString(s.service):
		return settings{}, fmt.Errorf("sms url: messaging_service_sid %q is not a messaging service sid (MG...)", s.service)
	case s.service != "":
	case s.from == "":
		return settings{}, errors.New("sms url: from (a sender number such as %2B15550000000) or messaging_service_sid is required")
	case !fromNumberRe.MatchString(s.from) && (!fromIDRe.MatchString(s.from) || !strings.ContainsAny(strings.ToLower(s.from), "abcdefghijklmnopqrstuvwxyz")):
		return settings{}, fmt.Errorf("sms url: from %q is neither an E.164 number nor an alphanumeric sender id", s.from)
	}
	return s, nil
}

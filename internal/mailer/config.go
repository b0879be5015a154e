package mailer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config says where and how the Mailer delivers.
//
// URL forms:
//
//	smtp://host:port                  plain SMTP, upgraded with STARTTLS when the server offers it
//	smtp://user:pass@host:port        the same, with AUTH (PLAIN, else LOGIN, else what the server offers)
//	smtps://user:pass@host:port       implicit TLS from the first byte (usually port 465)
//
// Query parameters:
//
//	starttls=opportunistic            the default for smtp://: use STARTTLS when offered
//	starttls=required                 refuse to send unless STARTTLS succeeds
//	starttls=none                     never use STARTTLS; also allows AUTH over plain text,
//	                                  which is otherwise refused except to localhost
//	insecure_skip_verify=true         accept any certificate (local catchers with self-signed certs)
//
// The port defaults to 25 for smtp:// and 465 for smtps://. User and
// password are percent-decoded, so "p%40ss" is "p@ss".
type Config struct {
	URL         string         // where mail goes, see above
	From        string         // sender, e.g. "MultiLine <no-reply@localhost>"
	Timeout     time.Duration  // limit for a dial and for each SMTP command; default 10s
	MaxConns    int            // connections kept open and reused across messages; default 4
	IdleTimeout time.Duration  // an unused connection is closed after this; default 30s
	RootCAs     *x509.CertPool // certificates to trust instead of the system's; optional
}

const (
	defaultTimeout     = 10 * time.Second
	defaultMaxConns    = 4
	defaultIdleTimeout = 30 * time.Second
)

// startTLS is the STARTTLS policy of an smtp:// URL.
type startTLS int

const (
	startTLSOpportunistic startTLS = iota
	startTLSRequired
	startTLSNone
)

// settings is a validated Config.
type settings struct {
	host        string
	port        int
	implicitTLS bool
	startTLS    startTLS
	user, pass  string
	tls         *tls.Config
	from        *mail.Address
	timeout     time.Duration
	maxConns    int
	idleTimeout time.Duration
}

func (c Config) settings() (settings, error) {
	s := settings{timeout: c.Timeout, maxConns: c.MaxConns, idleTimeout: c.IdleTimeout}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	if s.maxConns <= 0 {
		s.maxConns = defaultMaxConns
	}
	if s.idleTimeout <= 0 {
		s.idleTimeout = defaultIdleTimeout
	}
	if err := s.parseURL(c.URL); err != nil {
		return settings{}, err
	}
	from, err := parseFrom(c.From)
	if err != nil {
		return settings{}, err
	}
	s.from = from
	s.tls.RootCAs = c.RootCAs
	return s, nil
}

func (s *settings) parseURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return errors.New("smtp url: empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("smtp url: %w", err)
	}
	switch u.Scheme {
	case "smtp":
		s.port = 25
	case "smtps":
		s.port, s.implicitTLS = 465, true
	default:
		return fmt.Errorf("smtp url: scheme %q: want smtp or smtps", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return errors.New("smtp url: missing host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("smtp url: bad port %q", p)
		}
		s.port = n
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("smtp url: unexpected path %q", u.Path)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	s.tls = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	for key, vals := range u.Query() {
		val := strings.ToLower(vals[len(vals)-1])
		switch key {
		case "starttls":
			if s.implicitTLS {
				return errors.New("smtp url: starttls does not apply to smtps://")
			}
			switch val {
			case "opportunistic", "":
				s.startTLS = startTLSOpportunistic
			case "required":
				s.startTLS = startTLSRequired
			case "none":
				s.startTLS = startTLSNone
			default:
				return fmt.Errorf("smtp url: starttls=%q: want opportunistic, required or none", val)
			}
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return fmt.Errorf("smtp url: insecure_skip_verify=%q: want true or false", val)
			}
			s.tls.InsecureSkipVerify = b
		default:
			return fmt.Errorf("smtp url: unknown parameter %q", key)
		}
	}
	return nil
}

func (s settings) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// parseFrom accepts "Name <addr>" or a bare address.
func parseFrom(raw string) (*mail.Address, error) {
	if hasControl(raw) {
		return nil, errors.New("from address: contains control characters")
	}
	a, err := mail.ParseAddress(raw)
	if err != nil {
		return nil, fmt.Errorf("from address %q: %w", raw, err)
	}
	a.Name = cleanHeaderText(a.Name)
	return a, nil
}

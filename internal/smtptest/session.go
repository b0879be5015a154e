package smtptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// backend creates one session per SMTP connection.
type backend struct{ s *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

// session holds the state of one mail transaction on one connection.
type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	user   string
	from   string
	to     []string
}

var errAuthRequired = &smtp.SMTPError{
	Code:         530,
	EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message:      "Authentication required",
}

// AuthMechanisms offers PLAIN only when SetAuth was called.
func (ss *session) AuthMechanisms() []string {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth checks PLAIN credentials against those given to SetAuth.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		ss.s.mu.Lock()
		ok := username == ss.s.user && password == ss.s.pass
		ss.s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		ss.authed, ss.user = true, username
		return nil
	}), nil
}

func (ss *session) needAuth() bool {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	return ss.s.user != "" && !ss.authed
}

// Mail starts a transaction, honouring SetDelay, SetAuth and FailTransient.
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	delay := ss.s.delay
	ss.s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ss.s.closed:
			return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Shutting down"}
		}
	}
	if ss.needAuth() {
		return errAuthRequired
	}
	if err := ss.s.failure(); err != nil {
		return err
	}
	ss.from = from
	ss.to = nil
	return nil
}

// Rcpt adds a recipient unless RejectRecipient says otherwise.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	reject := ss.s.reject
	ss.s.mu.Unlock()
	if reject != nil {
		if err := reject(to); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data reads the message, parses it and records it.
func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read data: %w", err)
	}
	if err := ss.s.failure(); err != nil {
		return err
	}
	if ss.s.sink {
		ss.s.record(Message{From: ss.from, To: append([]string(nil), ss.to...), Data: data})
		return nil
	}
	msg, err := parseMessage(ss.from, ss.to, data)
	if err != nil {
		var serr *smtp.SMTPError
		if errors.As(err, &serr) {
			return serr
		}
		return &smtp.SMTPError{
			Code:         554,
			EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message:      "Malformed message: " + err.Error(),
		}
	}
	_, msg.TLS = ss.conn.TLSConnectionState()
	msg.AuthUser = ss.user
	ss.s.record(msg)
	return nil
}

// Reset forgets the current transaction.
func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

// Logout has nothing to free.
func (ss *session) Logout() error { return nil }

func parseMessage(from string, to []string, data []byte) (Message, error) {
	m := Message{From: from, To: append([]string(nil), to...), Data: bytes.Clone(data)}
	if err := m.parse(); err != nil {
		return Message{}, err
	}
	return m, nil
}

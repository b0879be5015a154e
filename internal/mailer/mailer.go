// Package mailer delivers email over SMTP through a small pool of reused
// connections, classifies failures as temporary or permanent, and renders
// the invitation and batch summary emails from text and HTML templates.
//
// It knows nothing of the database: callers hand it a Message and get back
// nil or a *SendError.
package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/wneessen/go-mail"
)

// Mailer sends messages; it is safe for concurrent use.
type Mailer struct {
	s    settings
	log  zerolog.Logger
	pool *pool
	// lockstep sends one command at a time even to a server that offers PIPELINING, the
	// way it talks to one that does not; tests set it to cover that path.
	lockstep bool
}

// Message is one email to one recipient.
type Message struct {
	To          string       // a bare address such as "anna@example.com"
	ToName      string       // display name; control characters become spaces, bidirectional controls go
	Subject     string       // the same; either is always encoded when it holds "=?"
	Text        string       // the text/plain body
	HTML        string       // the text/html body; with Text it makes multipart/alternative
	MessageID   string       // e.g. "<invitation-UUID@example.com>"; the same on every retry; random when empty
	Attachments []Attachment // e.g. the batch report CSV
}

// Attachment is a file sent along with a message.
type Attachment struct {
	Name        string // file name shown to the recipient
	ContentType string // e.g. "text/csv; charset=utf-8"; application/octet-stream when empty or malformed
	Data        []byte
}

// New validates cfg and returns a Mailer; it does not dial.
func New(cfg Config, log zerolog.Logger) (*Mailer, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, fmt.Errorf("mailer config: %w", err)
	}
	log = log.With().Str("component", "mailer").Logger()
	return &Mailer{s: s, log: log, pool: newPool(s, log)}, nil
}

// Close quits idle connections; connections in use close when their send ends.
func (m *Mailer) Close() error {
	m.pool.close()
	return nil
}

// Send delivers msg, reusing a pooled connection when one is idle. A failure
// is a *SendError: see IsPermanent and IsTemporary.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	gm, rcpt, err := m.build(msg)
	if err != nil {
		return classify(ctx, "message", err)
	}
	from, err := gm.GetSender(false)
	if err != nil {
		return classify(ctx, "message", fmt.Errorf("%w: %w", errInvalid, err))
	}
	for {
		c, reused, err := m.pool.get(ctx)
		if err != nil {
			return classify(ctx, "dial", err)
		}
		op, err := m.transmit(ctx, c, from, rcpt, gm)
		if err == nil {
			m.pool.put(c)
			return nil
		}
		if reused && ctx.Err() == nil && op == "mail" && stale(err) {
			// The server dropped this idle connection; nothing was sent,
			// so trying another connection cannot duplicate the message.
			m.pool.discard(c)
			continue
		}
		m.recycle(c, err)
		return classify(ctx, op, err)
	}
}

// stale reports whether an error at MAIL FROM means the connection died
// while idle: no reply at all, or a 421 the server left before closing.
func stale(err error) bool {
	var tp *textproto.Error
	return !errors.As(err, &tp) || tp.Code == 421
}

// recycle keeps a connection whose server answered with an error, after a
// successful RSET, and discards it otherwise.
func (m *Mailer) recycle(c *conn, err error) {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code != 421 {
		if c.sc.UpdateDeadline(m.s.timeout) == nil && c.sc.Reset() == nil {
			m.pool.put(c)
			return
		}
	}
	m.pool.discard(c)
}

// transmit runs one mail transaction and returns the step that failed.
func (m *Mailer) transmit(ctx context.Context, c *conn, from, rcpt string, gm *mail.Msg) (string, error) {
	stop := context.AfterFunc(ctx, c.raw.close)
	defer stop()
	deadline := func() error {
		d := m.s.timeout
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			d = time.Until(dl)
		}
		return c.sc.UpdateDeadline(d)
	}
	if err := deadline(); err != nil {
		return "mail", err
	}
	if ok, _ := c.sc.Extension("PIPELINING"); ok && !m.lockstep {
		return transmitPipelined(c, from, rcpt, gm, deadline)
	}
	if err := c.sc.Mail(from); err != nil {
		return "mail", err
	}
	if err := deadline(); err != nil {
		return "rcpt", err
	}
	// go-mail's Rcpt writes its argument as given, like its Mail: the path needs its
	// angle brackets here (see transmitPipelined).
	if err := c.sc.Rcpt("<" + strings.TrimSuffix(strings.TrimPrefix(rcpt, "<"), ">") + ">"); err != nil {
		return "rcpt", err
	}
	if err := deadline(); err != nil {
		return "data", err
	}
	w, err := c.sc.Data()
	if err != nil {
		return "data", err
	}
	// go-mail's data writer reads the server's reply when it closes.
	if err := writeMessage(w, gm, deadline); err != nil {
		return "data", err
	}
	return "", nil
}

// writeMessage writes the message to the DATA writer w and ends it.
func writeMessage(w io.WriteCloser, gm *mail.Msg, deadline func() error) error {
	if _, err := gm.WriteTo(w); err != nil {
		return err
	}
	if err := deadline(); err != nil {
		return err
	}
	return w.Close()
}

// transmitPipelined is transmit for a server that offers PIPELINING (RFC 2920): MAIL, RCPT
// and DATA go out in one write and their replies are read in order, which saves two round
// trips per message. go-mail has no pipelining, so this speaks those three commands itself
// on go-mail's connection, with the parameters go-mail's Mail would add. Every reply is read
// whatever the earlier ones said, so the session stays in step for the RSET that recycle
// sends after a refusal.
func transmitPipelined(c *conn, from, rcpt string, gm *mail.Msg, deadline func() error) (string, error) {
	if strings.ContainsAny(from+rcpt, "\r\n") {
		return "mail", fmt.Errorf("%w: line break in an envelope address", errInvalid)
	}
	params := ""
	if ok, _ := c.sc.Extension("8BITMIME"); ok {
		params += " BODY=8BITMIME"
	}
	if ok, _ := c.sc.Extension("SMTPUTF8"); ok {
		params += " SMTPUTF8"
	}
	// Both paths go in angle brackets (RFC 5321 4.1.2), which strict servers such as Mailpit
	// require. go-mail's GetSender(false) brackets the sender already (its own Mail writes
	// it as given) and rcpt is bare: each is brought to the bare address first.
	from = strings.TrimSuffix(strings.TrimPrefix(from, "<"), ">")
	rcpt = strings.TrimSuffix(strings.TrimPrefix(rcpt, "<"), ">")
	t := c.sc.Text
	if _, err := fmt.Fprintf(t.W, "MAIL FROM:<%s>%s\r\nRCPT TO:<%s>\r\nDATA\r\n", from, params, rcpt); err != nil {
		return "mail", err
	}
	if err := t.W.Flush(); err != nil {
		return "mail", err
	}
	var failedAt string
	var failure error
	for _, step := range []struct {
		op   string
		code int
	}{{"mail", 250}, {"rcpt", 25}, {"data", 354}} {
		_, _, err := t.ReadResponse(step.code)
		var tp *textproto.Error
		switch {
		case err != nil && !errors.As(err, &tp):
			// The connection broke: no reply will follow. A server that refused an earlier
			// command (421 at MAIL) may close at once; that refusal is what went wrong.
			if failure != nil {
				return failedAt, failure
			}
			return step.op, err
		case err != nil && failure == nil:
			failedAt, failure = step.op, err
		case err == nil && step.op == "data" && failure != nil:
			// The server waits for a message although MAIL or RCPT failed; RFC 2920 says it
			// must not. Nothing sane can follow on this session: close it so that recycle
			// drops it instead of sending RSET into a message.
			c.raw.close()
		}
	}
	if failure != nil {
		return failedAt, failure
	}
	if err := writeMessage(t.DotWriter(), gm, deadline); err != nil {
		return "data", err
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		return "data", err
	}
	return "", nil
}

// build turns msg into a go-mail message and returns it with its one
// recipient. Every header value that comes from the caller passes through
// sanitize.go first.
func (m *Mailer) build(msg Message) (*mail.Msg, string, error) {
	rcpt, err := parseRecipient(msg.To)
	if err != nil {
		return nil, "", err
	}
	if msg.Text == "" && msg.HTML == "" {
		return nil, "", fmt.Errorf("%w: no body", errInvalid)
	}
	gm := mail.NewMsg(mail.WithNoDefaultUserAgent())
	from := *m.s.from
	gm.FromMailAddress(&from)
	// A name or subject holding "=?" is written as encoded-words here, so that it reaches
	// the reader as the text it is (see needsWords); the rest go through go-mail.
	if name := cleanHeaderText(msg.ToName); needsWords(name) {
		gm.SetGenHeaderPreformatted(mail.Header(mail.HeaderTo), encodeWords(name)+"\r\n <"+rcpt+">")
	} else {
		gm.ToMailAddress(&netmail.Address{Name: name, Address: rcpt})
	}
	if subject := cleanHeaderText(msg.Subject); needsWords(subject) {
		gm.SetGenHeaderPreformatted(mail.HeaderSubject, encodeWords(subject))
	} else {
		gm.Subject(subject)
	}
	if msg.MessageID != "" {
		id, err := normalizeMessageID(msg.MessageID)
		if err != nil {
			return nil, "", err
		}
		gm.SetMessageIDWithValue(id)
	} else {
		gm.SetMessageID()
	}
	gm.SetDate()
	// RFC 3834: tells autoresponders not to answer.
	gm.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")

	switch {
	case msg.Text != "" && msg.HTML != "":
		gm.SetBodyString(mail.TypeTextPlain, msg.Text)
		gm.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	case msg.HTML != "":
		gm.SetBodyString(mail.TypeTextHTML, msg.HTML)
	default:
		gm.SetBodyString(mail.TypeTextPlain, msg.Text)
	}
	for _, a := range msg.Attachments {
		gm.AttachReadSeeker(cleanFilename(a.Name), bytes.NewReader(a.Data),
			mail.WithFileContentType(mail.ContentType(cleanContentType(a.ContentType))))
	}
	return gm, rcpt, nil
}

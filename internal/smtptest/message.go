package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one accepted message: its envelope, its raw bytes and the
// parsed header and MIME parts.
type Message struct {
	From   string      // envelope sender (MAIL FROM)
	To     []string    // envelope recipients (RCPT TO), in order
	Data   []byte      // the message exactly as received
	Header mail.Header // the top-level header, parsed by net/mail
	Body   []byte      // the raw top-level body, still transfer-encoded
	Parts  []Part      // the leaves of the MIME tree, decoded, in order

	TLS      bool      // the session was encrypted (smtps or STARTTLS)
	AuthUser string    // the user that authenticated, "" without AUTH
	Received time.Time // when the server accepted it (the end of DATA)
}

// Part is one leaf of a message's MIME tree with its body decoded.
type Part struct {
	Header      textproto.MIMEHeader
	ContentType string // media type without parameters, e.g. "text/plain"
	Filename    string // from Content-Disposition or Content-Type, decoded
	Attachment  bool   // Content-Disposition is attachment
	Body        []byte // after base64 or quoted-printable decoding
}

var wordDecoder = &mime.WordDecoder{}

// Subject returns the Subject header with RFC 2047 words decoded.
func (m Message) Subject() string { return m.DecodedHeader("Subject") }

// DecodedHeader returns the first value of the named header with RFC 2047
// words decoded.
func (m Message) DecodedHeader(name string) string {
	v := m.Header.Get(name)
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// HeaderNames returns the names of the top-level header fields in canonical form.
func (m Message) HeaderNames() []string {
	names := make([]string, 0, len(m.Header))
	for k := range m.Header {
		names = append(names, k)
	}
	return names
}

// Text returns the first text/plain part that is not an attachment.
func (m Message) Text() string { return m.body("text/plain") }

// HTML returns the first text/html part that is not an attachment.
func (m Message) HTML() string { return m.body("text/html") }

func (m Message) body(mediaType string) string {
	for _, p := range m.Parts {
		if p.ContentType == mediaType && !p.Attachment {
			return string(p.Body)
		}
	}
	return ""
}

// Attachments returns the parts whose Content-Disposition is attachment.
func (m Message) Attachments() []Part {
	var out []Part
	for _, p := range m.Parts {
		if p.Attachment {
			out = append(out, p)
		}
	}
	return out
}

func (m *Message) parse() error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	m.Header, m.Body = msg.Header, body
	top := textproto.MIMEHeader(msg.Header)
	parts, err := walk(top, body)
	if err != nil {
		return err
	}
	m.Parts = parts
	return nil
}

// walk flattens a MIME entity into its leaf parts.
func walk(h textproto.MIMEHeader, body []byte) ([]Part, error) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fmt.Errorf("content type %q: %w", ct, err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		p, err := leaf(h, mediaType, params, body)
		if err != nil {
			return nil, err
		}
		return []Part{p}, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var out []Part
	for {
		// NextRawPart keeps Content-Transfer-Encoding so leaf decodes
		// base64 and quoted-printable the same way at every level.
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("next part of %s: %w", mediaType, err)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("read part: %w", err)
		}
		sub, err := walk(p.Header, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
}

func leaf(h textproto.MIMEHeader, mediaType string, params map[string]string, body []byte) (Part, error) {
	p := Part{Header: h, ContentType: mediaType}
	var r io.Reader = bytes.NewReader(body)
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	decoded, err := io.ReadAll(r)
	if err != nil {
		return Part{}, fmt.Errorf("decode %s part: %w", mediaType, err)
	}
	p.Body = decoded
	if cd := h.Get("Content-Disposition"); cd != "" {
		disp, dparams, err := mime.ParseMediaType(cd)
		if err == nil {
			p.Attachment = disp == "attachment"
			p.Filename = dparams["filename"]
		}
	}
	if p.Filename == "" {
		p.Filename = params["name"]
	}
	if d, err := wordDecoder.DecodeHeader(p.Filename); err == nil {
		p.Filename = d
	}
	return p, nil
}

// newlineStripper drops CR and LF so that base64 with line breaks decodes.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

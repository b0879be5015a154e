package smtptest

import (
	"bufio"
	"bytes"
	"net"
)

// strictConn refuses, as strict servers such as Mailpit and Postfix do, a MAIL FROM or
// RCPT TO whose path is not in angle brackets (RFC 5321 4.1.2): go-smtp accepts a bare
// address, so a client that forgot the brackets would pass here and fail in production.
// It reads the client's commands line by line and turns such a command into one that
// go-smtp answers with 501. Commands under STARTTLS are encrypted and pass unread.
type strictConn struct {
	net.Conn
	r       *bufio.Reader
	pending []byte
	midLine bool // the last chunk ended inside a line
}

func newStrictConn(c net.Conn) *strictConn { return &strictConn{Conn: c, r: bufio.NewReader(c)} }

// bareEnvelope is what a bare-address command becomes: a path that opens an angle bracket
// and never closes it, which go-smtp refuses with "501 5.5.2".
var bareEnvelope = map[string][]byte{
	"MAIL FROM:": []byte("MAIL FROM:<bare-address-without-angle-brackets\r\n"),
	"RCPT TO:":   []byte("RCPT TO:<bare-address-without-angle-brackets\r\n"),
}

func (c *strictConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		// Whatever has arrived, up to a line's end: the bytes of a TLS handshake hold no
		// line break to wait for.
		if _, err := c.r.Peek(1); err != nil {
			return 0, err
		}
		buf, _ := c.r.Peek(c.r.Buffered())
		chunk := buf
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			chunk = buf[:i+1]
		}
		c.pending = append([]byte(nil), chunk...)
		_, _ = c.r.Discard(len(chunk))
		if !c.midLine {
			c.pending = refuseBare(c.pending)
		}
		c.midLine = c.pending[len(c.pending)-1] != '\n'
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// refuseBare returns line, or the command go-smtp refuses when line is a MAIL FROM or
// RCPT TO without angle brackets.
func refuseBare(line []byte) []byte {
	upper := bytes.ToUpper(line)
	for prefix, refused := range bareEnvelope {
		if rest, ok := bytes.CutPrefix(upper, []byte(prefix)); ok {
			if !bytes.HasPrefix(bytes.TrimLeft(rest, " "), []byte("<")) {
				return refused
			}
		}
	}
	return line
}

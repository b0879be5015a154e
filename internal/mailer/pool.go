package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("mailer closed")

// pool keeps up to maxConns SMTP connections and lends each to one sender at
// a time. sem counts connections lent out; a connection is dialled only when
// no idle one is left, so open connections (lent + idle) never exceed
// maxConns. Idle connections expire through a timer each, so an idle pool
// runs no goroutine.
type pool struct {
	s   settings
	log zerolog.Logger
	sem chan struct{}

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

// conn is one SMTP session that has said EHLO, STARTTLS and AUTH already.
type conn struct {
	sc    *smtp.Client
	raw   *rawConn
	gen   int // bumped each time the conn goes idle, to ignore stale timers
	timer *time.Timer
}

func newPool(s settings, log zerolog.Logger) *pool {
	return &pool{s: s, log: log, sem: make(chan struct{}, s.maxConns)}
}

// get lends a connection, reusing an idle one when it can; reused says so.
func (p *pool) get(ctx context.Context) (c *conn, reused bool, err error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("wait for a connection: %w", ctx.Err())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, false, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		c = p.idle[n-1]
		p.idle = p.idle[:n-1]
		c.timer.Stop()
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	c, err = p.dial(ctx)
	if err != nil {
		<-p.sem
		return nil, false, err
	}
	return c, false, nil
}

// put gives back a healthy connection.
func (p *pool) put(c *conn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.quit(c)
		<-p.sem
		return
	}
	c.gen++
	gen := c.gen
	c.timer = time.AfterFunc(p.s.idleTimeout, func() { p.expire(c, gen) })
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	<-p.sem
}

// discard closes a connection that cannot be trusted any more.
func (p *pool) discard(c *conn) {
	c.raw.close()
	<-p.sem
	p.log.Debug().Msg("smtp connection discarded")
}

// expire closes c if it is still idle since the timer for gen was set.
func (p *pool) expire(c *conn, gen int) {
	p.mu.Lock()
	found := false
	for i, ic := range p.idle {
		if ic == c && c.gen == gen {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			found = true
			break
		}
	}
	p.mu.Unlock()
	if found {
		p.quit(c)
		p.log.Debug().Msg("idle smtp connection closed")
	}
}

// close quits every idle connection; lent ones are closed when given back.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.timer.Stop()
		p.quit(c)
	}
}

// quit says QUIT politely, within the timeout, and closes the socket.
func (p *pool) quit(c *conn) {
	_ = c.sc.UpdateDeadline(p.s.timeout)
	_ = c.sc.Quit()
	c.raw.close()
}

// dial opens a session: TCP or TLS, EHLO, STARTTLS per policy, AUTH.
// go-mail does the protocol; the dial function keeps hold of the socket so
// that a cancelled ctx can close it.
func (p *pool) dial(ctx context.Context) (*conn, error) {
	raw := &rawConn{}
	dialer := &net.Dialer{Timeout: p.s.timeout}
	dialFn := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var nc net.Conn
		var err error
		if p.s.implicitTLS {
			td := &tls.Dialer{NetDialer: dialer, Config: p.s.tls.Clone()}
			nc, err = td.DialContext(ctx, network, addr)
		} else {
			nc, err = dialer.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		raw.set(nc)
		return &coalescingConn{Conn: nc}, nil
	}
	opts := []mail.Option{
		mail.WithPort(p.s.port),
		mail.WithTimeout(p.s.timeout),
		mail.WithTLSConfig(p.s.tls.Clone()),
		mail.WithDialContextFunc(dialFn),
	}
	switch {
	case p.s.implicitTLS:
		opts = append(opts, mail.WithSSL())
	case p.s.startTLS == startTLSRequired:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case p.s.startTLS == startTLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if p.s.user != "" {
		mechs := []mail.SMTPAuthType{mail.SMTPAuthPlain, mail.SMTPAuthLogin}
		if p.s.startTLS == startTLSNone && !p.s.implicitTLS {
			mechs = []mail.SMTPAuthType{mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts, mail.WithUsername(p.s.user), mail.WithPassword(p.s.pass),
			mail.WithOpportunisticSMTPAuth(mechs...))
	}
	client, err := mail.NewClient(p.s.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}

	stop := context.AfterFunc(ctx, raw.close)
	sc, err := client.DialToSMTPClientWithContext(ctx)
	stopped := stop()
	if err != nil {
		raw.close()
		return nil, err
	}
	if !stopped {
		raw.close()
		return nil, fmt.Errorf("dial: %w", ctx.Err())
	}
	p.log.Debug().Str("addr", p.s.addr()).Msg("smtp connection opened")
	return &conn{sc: sc, raw: raw}, nil
}

// rawConn holds the socket under a connection so that it can be closed from
// another goroutine, even before the dial has finished.
type rawConn struct {
	mu     sync.Mutex
	nc     net.Conn
	closed bool
}

func (r *rawConn) set(nc net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		_ = nc.Close()
		return
	}
	r.nc = nc
}

func (r *rawConn) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.nc != nil {
		_ = r.nc.Close()
	}
}

// coalescingConn gathers what the SMTP client writes until it waits for an answer, then
// writes it in one system call. The client writes a message in many small pieces (headers,
// each line of a part, the final dot) before it reads the server's reply, and on this kind
// of machine each write costs more than the bytes it carries. rawConn holds the socket
// underneath, so closing from another goroutine never touches the buffer.
type coalescingConn struct {
	net.Conn
	buf []byte
	err error // the first failed write: every later write and read reports it
}

// coalesceMax bounds the buffer: a message with a large attachment goes out in pieces.
const coalesceMax = 64 << 10

func (c *coalescingConn) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= coalesceMax {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *coalescingConn) flush() error {
	if c.err != nil || len(c.buf) == 0 {
		return c.err
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if cap(c.buf) > coalesceMax {
		c.buf = nil
	}
	c.err = err
	return err
}

// Read sends what was written first: the server answers only once it has it.
func (c *coalescingConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *coalescingConn) Close() error {
	_ = c.flush()
	return c.Conn.Close()
}

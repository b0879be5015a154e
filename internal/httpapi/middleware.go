package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id and a logger carrying it, recovers panics, writes one
// access log line and records the request's metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		log := s.log.With().Str("request_id", id).Logger()
		ctx, info := withRequestInfo(log.WithContext(r.Context()))
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error().Interface("panic", p).Bytes("stack", debug.Stack()).Msg("handler panicked")
				if sw.status == 0 {
					s.writeError(sw, r, errorf(http.StatusInternalServerError, "internal_error", "something went wrong on our side (request id %s)", id))
				}
			}
			// r.Pattern is one of the patterns of routes(), a fixed set; it is empty when the
			// mux answered by itself (a redirect to the cleaned path).
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http answers 200
			}
			elapsed := time.Since(start)
			s.metrics.ObserveRequest(route, r.Method, status, elapsed)
			level := zerolog.InfoLevel
			if route == "GET /healthz" || route == "GET /readyz" || route == "GET /metrics" {
				level = zerolog.DebugLevel
			}
			ev := zerolog.Ctx(r.Context()).WithLevel(level)
			if info.admin != nil {
				ev = ev.Str("admin_id", info.admin.ID)
			}
			ev.Str("method", r.Method).Str("path", redactToken(r.URL.Path)).Str("route", route).
				Int("status", status).Int("bytes", sw.bytes).Dur("duration", elapsed).
				Str("remote", r.RemoteAddr).Msg("request")
		}()
		next.ServeHTTP(sw, r)
	})
}

// redactToken returns path for the access log without its activation token: what follows
// an "activate" or "activation" segment is the credential of the invited user's endpoints
// (or a mistyped one), whichever route the path reached, and is logged as {token}.
func redactToken(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if (strings.EqualFold(seg, "activate") || strings.EqualFold(seg, "activation")) &&
			strings.Join(segs[i+1:], "") != "" {
			return strings.Join(segs[:i+1], "/") + "/{token}"
		}
	}
	return path
}

// Body limits: limitBody applies the first two before any handler reads a body, readUpload
// the third; each 413 names what passed its limit.
const (
	maxBodyBytes   = 1 << 20  // any body but an upload's
	uploadOverhead = 64 << 10 // an upload's other form fields and multipart framing, beyond the file
	maxFieldBytes  = 4 << 10  // one form field of an upload, other than the file
)

// limitBody refuses a body with a Content-Encoding and caps every other; uploads get the
// configured file limit plus uploadOverhead, everything else maxBodyBytes. Nothing here
// decodes gzip or deflate, so an encoded body would reach the parsers as binary (an upload
// would be refused as "not text", which misleads), and decoding one would let a small body
// expand past every limit.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentEncoded(r) {
			s.writeError(w, r, errorf(http.StatusUnsupportedMediaType, "compressed_body",
				"compressed uploads are not supported: send the body uncompressed, without a Content-Encoding header"))
			return
		}
		limit := int64(maxBodyBytes)
		if r.Method == http.MethodPost && isUploadPath(r.URL.Path) {
			limit = s.cfg.MaxUploadBytes + uploadOverhead
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// contentEncoded reports whether r declares a Content-Encoding other than identity.
func contentEncoded(r *http.Request) bool {
	for _, v := range r.Header.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return true
			}
		}
	}
	return false
}

// Package config reads the service's configuration from the environment.
package config

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
)

// Config is the parsed configuration shared by the api and worker processes.
type Config struct {
	DatabaseURL string
	RedisURL    string
	// Redis is REDIS_URL read by RedisConn: one server, Sentinel or a Cluster.
	Redis   asynq.RedisConnOpt
	SMTPURL string
	// SMSURL is where invitations to device numbers go (see sms.Config); "" : not sent.
	SMSURL            string
	MailFrom          string
	APIAddr           string
	WorkerAddr        string
	PublicURL         string
	WorkerConcurrency int
	SMTPConnections   int
	// SMTPRate is SMTP_RATE: emails a second across every worker process, 0 for no limit.
	SMTPRate int
	// SMSRate is SMS_RATE: text messages a second across every worker process, 0 for no limit.
	SMSRate           int
	LogLevel          zerolog.Level
	MaxUploadBytes    int64
	InvitationTTL     time.Duration
	ShutdownTimeout   time.Duration
	ReconcileInterval time.Duration
	// TokenSecret keys the activation tokens of invitations (see InvitationSecret).
	TokenSecret string
}

// defaultConcurrency is WORKER_CONCURRENCY's default: how many row tasks a worker runs at once.
// Row tasks spend most of their time waiting (for a shared statement, for the mail server), and
// the tasks waiting together are what the shared statements group: on a 2-core machine, 512
// runs ten 1000-row batches about twice as fast as 32, at about 100 MiB (README, Performance).
const defaultConcurrency = 512

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) {
	return Parse(os.Getenv)
}

// Parse reads the configuration through getenv, applying the documented defaults.
func Parse(getenv func(string) string) (Config, error) {
	str := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DatabaseURL: str("DATABASE_URL", "postgres://localhost:5432/multiline?sslmode=disable"),
		RedisURL:    str("REDIS_URL", "redis://localhost:6379/0"),
		SMTPURL:     str("SMTP_URL", "smtp://localhost:1025"),
		SMSURL:      getenv("SMS_URL"),
		MailFrom:    str("MAIL_FROM", "MultiLine <no-reply@localhost>"),
		APIAddr:     str("API_ADDR", ":8080"),
		WorkerAddr:  str("WORKER_ADDR", ":9091"),
		PublicURL:   str("PUBLIC_URL", "http://localhost:8080"),
		TokenSecret: getenv("TOKEN_SECRET"),
	}
	var err error
	if c.Redis, err = RedisConn(c.RedisURL); err != nil {
		return c, err
	}
	if c.WorkerConcurrency, err = intVar(getenv, "WORKER_CONCURRENCY", defaultConcurrency); err != nil {
		return c, err
	}
	if c.WorkerConcurrency < 1 {
		return c, fmt.Errorf("WORKER_CONCURRENCY must be at least 1, got %d", c.WorkerConcurrency)
	}
	if c.SMTPConnections, err = intVar(getenv, "SMTP_MAX_CONNECTIONS", 64); err != nil {
		return c, err
	}
	if c.SMTPConnections < 1 {
		return c, fmt.Errorf("SMTP_MAX_CONNECTIONS must be at least 1, got %d", c.SMTPConnections)
	}
	if c.SMTPRate, err = intVar(getenv, "SMTP_RATE", 0); err != nil {
		return c, err
	}
	if c.SMTPRate < 0 {
		return c, fmt.Errorf("SMTP_RATE must be 0 (no limit) or a number of emails per second, got %d", c.SMTPRate)
	}
	if c.SMSRate, err = intVar(getenv, "SMS_RATE", 0); err != nil {
		return c, err
	}
	if c.SMSRate < 0 {
		return c, fmt.Errorf("SMS_RATE must be 0 (no limit) or a number of messages per second, got %d", c.SMSRate)
	}
	maxUpload, err := intVar(getenv, "MAX_UPLOAD_BYTES", 5<<20)
	if err != nil {
		return c, err
	}
	c.MaxUploadBytes = int64(maxUpload)
	if c.InvitationTTL, err = durationVar(getenv, "INVITATION_TTL", 7*24*time.Hour); err != nil {
		return c, err
	}
	if c.ShutdownTimeout, err = durationVar(getenv, "SHUTDOWN_TIMEOUT", 25*time.Second); err != nil {
		return c, err
	}
	if c.ReconcileInterval, err = durationVar(getenv, "RECONCILE_INTERVAL", 30*time.Second); err != nil {
		return c, err
	}
	if c.LogLevel, err = zerolog.ParseLevel(str("LOG_LEVEL", "info")); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	if _, err := url.Parse(c.PublicURL); err != nil {
		return c, fmt.Errorf("PUBLIC_URL: %w", err)
	}
	if c.TokenSecret != "" && len(c.TokenSecret) < minSecretLen {
		return c, fmt.Errorf("TOKEN_SECRET must be at least %d characters (it is %d); make one with: openssl rand -base64 48", minSecretLen, len(c.TokenSecret))
	}
	return c, nil
}

// minSecretLen is token.MinSecretLen, repeated here so that config stays a leaf.
const minSecretLen = 32

// devTokenSecret keys activation links of a local start that sets no TOKEN_SECRET. It is
// public, so links made with it can be computed by anyone who has the database: fine for
// links to localhost, which nobody else can open.
const devTokenSecret = "multiline-local-development-only-secret-do-not-use"

// InvitationSecret returns the secret activation links derive from, and whether it is the
// development one. A start is told to be production by its PUBLIC_URL: links that point
// anywhere but this machine reach real people, so such a start must set TOKEN_SECRET and
// is refused without it. With a PUBLIC_URL on localhost (the default) and no TOKEN_SECRET,
// the development secret is used.
func (c Config) InvitationSecret() (secret string, dev bool, err error) {
	if c.TokenSecret != "" {
		return c.TokenSecret, false, nil
	}
	if !isLocal(c.PublicURL) {
		return "", false, fmt.Errorf("TOKEN_SECRET is not set: PUBLIC_URL %s is not on this machine, so activation links reach real people "+
			"and must be keyed by a secret of your own; set TOKEN_SECRET to the same random string of %d characters or more "+
			"on every worker (make one with: openssl rand -base64 48)", c.PublicURL, minSecretLen)
	}
	return devTokenSecret, true, nil
}

// isLocal reports whether a URL names this machine.
func isLocal(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch h := u.Hostname(); {
	case h == "localhost", strings.HasSuffix(h, ".localhost"):
		return true
	default:
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
}

// HTTPServer returns the server the api and the worker listen on addr with. Every phase of
// a connection has a deadline, so a client that sends or reads slowly cannot hold a
// connection and its goroutine for good: 10 s for the headers; two minutes for the whole
// request (an upload of MAX_UPLOAD_BYTES on a slow line), for writing the answer, and for
// an idle keep-alive connection.
func HTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
}

// Log writes the configuration once, with passwords in URLs masked.
func (c Config) Log(log zerolog.Logger) {
	log.Info().
		Str("database_url", Redact(c.DatabaseURL)).
		Str("redis_url", Redact(c.RedisURL)).
		Str("smtp_url", Redact(c.SMTPURL)).
		Str("sms_url", Redact(c.SMSURL)).
		Str("mail_from", c.MailFrom).
		Str("api_addr", c.APIAddr).
		Str("worker_addr", c.WorkerAddr).
		Str("public_url", c.PublicURL).
		Int("worker_concurrency", c.WorkerConcurrency).
		Int("smtp_max_connections", c.SMTPConnections).
		Int("smtp_rate", c.SMTPRate).
		Int("sms_rate", c.SMSRate).
		Int64("max_upload_bytes", c.MaxUploadBytes).
		Dur("invitation_ttl", c.InvitationTTL).
		Str("log_level", c.LogLevel.String()).
		Bool("token_secret_set", c.TokenSecret != "").
		Msg("configuration")
}

// Redact masks the password of a URL, leaving everything else readable.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for _, k := range []string{"password", "pass"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func intVar(getenv func(string) string, key string, def int) (int, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", key, v)
	}
	return n, nil
}

func durationVar(getenv func(string) string, key string, def time.Duration) (time.Duration, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration such as 30s or 168h", key, v)
	}
	return d, nil
}

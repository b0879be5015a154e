// Command smsfake is a local stand-in for the SMS provider: it speaks the part of Twilio's
// Messages API that the worker uses (internal/smstest, the same fake the tests use) and
// shows the messages it took on a page, so that `make run` shows the SMS a batch sends
// without a provider account. Point the worker at it with
//
//	SMS_URL=twilio+http://AC00000000000000000000000000000000:devtoken@127.0.0.1:8026?from=%2B15550009999
//
// It listens on SMSFAKE_ADDR (default 127.0.0.1:8026): the API under /2010-04-01/, the page
// at /, and the messages as JSON at /messages.json. It keeps them in memory only.
package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/smstest"
)

func main() {
	log := zerolog.New(os.Stderr).With().Timestamp().Str("process", "smsfake").Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, log)
	stop()
	if err != nil {
		log.Error().Err(err).Msg("smsfake stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, log zerolog.Logger) error {
	addr := os.Getenv("SMSFAKE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8026"
	}
	api := smstest.NewAPI()
	mux := http.NewServeMux()
	mux.Handle("/2010-04-01/", logged(api, log))
	mux.HandleFunc("GET /messages.json", func(w http.ResponseWriter, r *http.Request) { writeMessagesJSON(w, api) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { writePage(w, api) })
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info().Str("addr", addr).Msg("fake SMS provider listening; messages at http://" + addr + "/")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// logged logs each message the API took, as one JSON line.
func logged(api *smstest.API, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := len(api.Messages())
		api.ServeHTTP(w, r)
		if msgs := api.Messages(); len(msgs) > before {
			m := msgs[len(msgs)-1]
			log.Info().Str("sid", m.SID).Str("to", m.To).Str("from", m.From).Str("body", m.Body).Msg("sms accepted")
		}
	})
}

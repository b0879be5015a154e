package httpapi

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

// The activation endpoints carry no admin token: the activation token in the path is the
// credential. It is looked up by its SHA-256 digest (see store.Activation), never stored.

// tokenPattern is the shape of a token from token.New, with room to spare; anything else is
// a miss without a query.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)

// activationHash checks the caller's guess budget and returns the digest of the {token} path
// value; a token of the wrong shape counts as a miss.
func (s *Server) activationHash(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ip := clientIP(r)
	if d := s.guesses.wait(ip); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(d)))
		return nil, errorf(http.StatusTooManyRequests, "too_many_attempts",
			"too many activation links that do not exist were tried from your address; wait %d seconds and open the link from your email again", retryAfter(d))
	}
	tok := r.PathValue("token")
	if !tokenPattern.MatchString(tok) {
		s.guesses.miss(ip)
		return nil, errUnknownToken()
	}
	return token.Hash(tok), nil
}

// maxActivationBody caps the body of both activation POSTs, which carry one number: a body
// that does not fit is refused whole, never read in part.
const maxActivationBody = 16 << 10

func errTooLargeActivation() *Error {
	return errorf(http.StatusRequestEntityTooLarge, "too_large",
		`the body is larger than the limit of %s; send only {"number": "+1..."}, or {} to keep the reserved number`,
		humanBytes(maxActivationBody))
}

func errUnknownToken() *Error {
	return errorf(http.StatusNotFound, "invitation_not_found",
		"this activation link is not valid; open the whole link from your invitation email, or ask your administrator to resend the invitation")
}

// activationError turns the store's verdict on a token into the API's error, counting a
// token that does not exist against the caller's guess budget.
func (s *Server) activationError(r *http.Request, err error) error {
	var gone *store.InvitationGoneError
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.guesses.miss(clientIP(r))
		return errUnknownToken()
	case errors.As(err, &gone):
		e := errorf(http.StatusGone, "invitation_gone", "%s", goneMessage(gone, "en"))
		return e.with(map[string]string{"reason": gone.Why})
	case errors.Is(err, store.ErrNumberNotOffered):
		// One answer for every refused number, so that it tells nothing about the number.
		return errorf(http.StatusConflict, "number_unavailable",
			"that number cannot be chosen; choose one of the numbers offered to you (GET this link again for the current list) and activate again")
	case errors.Is(err, store.ErrNoNumberToKeep):
		return errorf(http.StatusUnprocessableEntity, "number_required",
			`no number is reserved for you: choose one of the available numbers and send {"number": "+1..."}`)
	}
	return err
}

// goneMessage says in lang why a link no longer works and what to do instead.
func goneMessage(g *store.InvitationGoneError, lang string) string {
	t := pageText(lang)
	switch g.Why {
	case store.GoneExpired:
		return t.Expired(mailer.FormatDate(g.At, lang))
	case store.GoneUsed:
		return t.Used
	case store.GoneReplaced:
		return t.Replaced
	case store.GoneWithdrawn:
		return t.Withdrawn
	}
	return t.Failed
}

// noStore keeps activation answers out of caches and the token out of Referer headers.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func (s *Server) getActivation(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	hash, err := s.activationHash(w, r)
	if err != nil {
		return err
	}
	a, err := s.store.Activation(r.Context(), hash)
	if err != nil {
		return s.activationError(r, err)
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) postActivation(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	hash, err := s.activationHash(w, r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxActivationBody)
	var body struct {
		Number *string `json:"number"`
	}
	if err := decodeOptionalJSON(r, &body); err != nil { // no body, like {}: keep the number
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errTooLargeActivation()
		}
		return err
	}
	number := ""
	if body.Number != nil && *body.Number != "" {
		if number, err = csvfile.NormalizeNumber(*body.Number); err != nil {
			return errorf(http.StatusUnprocessableEntity, "invalid_number",
				"number %q is not a phone number in international format such as +15550100001: %v", *body.Number, err)
		}
	}
	a, err := s.store.Activate(r.Context(), hash, number)
	if err != nil {
		return s.activationError(r, err)
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

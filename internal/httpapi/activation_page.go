package httpapi

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/zerolog"

	"github.com/multiline/onboarding/internal/mailer"
	"github.com/multiline/onboarding/internal/store"
)

//go:embed web/*.html
var webFS embed.FS

// activatePage is the page an invitation's link opens: no build step, no external assets.
var activatePage = template.Must(template.ParseFS(webFS, "web/activate.html"))

// activateView is what the activation page shows.
type activateView struct {
	T            activationText
	Greeting     string
	Organization string
	Identifier   string
	ValidUntil   string
	Reserved     string   // the number held for the account, "" when none
	Numbers      []string // other Available numbers to choose from
	Selected     string   // the number checked when the page opens
	Form         bool     // show the form
	DoneNumber   string
	InfoTitle    string // a notice that is not an error: the link was already used
	Info         string
	Status       int // 0: 200
	ErrorTitle   string
	Error        string
}

// activatePageGET shows the account, its reserved number and the short list to choose from.
func (s *Server) activatePageGET(w http.ResponseWriter, r *http.Request) {
	hash, err := s.activationHash(w, r)
	if err != nil {
		s.renderActivate(w, r, s.pageError(r, err))
		return
	}
	a, err := s.store.Activation(r.Context(), hash)
	if err != nil {
		s.renderActivate(w, r, s.pageError(r, err))
		return
	}
	s.renderActivate(w, r, formView(a))
}

// activatePagePOST activates with the number picked in the form, through the same store call
// as POST /v1/activation/{token}, and shows the outcome.
func (s *Server) activatePagePOST(w http.ResponseWriter, r *http.Request) {
	hash, err := s.activationHash(w, r)
	if err != nil {
		s.renderActivate(w, r, s.pageError(r, err))
		return
	}
	number, status := activationForm(w, r)
	if status != 0 {
		t := pageText(browserLanguage(r))
		v := activateView{T: t, Status: status, ErrorTitle: t.ProblemTitle, Error: t.FormUnreadable}
		if status == http.StatusRequestEntityTooLarge {
			v.Error = t.FormTooLarge
		}
		s.renderActivate(w, r, v)
		return
	}
	a, err := s.store.Activate(r.Context(), hash, number)
	if err == nil {
		t := pageText(a.Account.Language)
		v := activateView{T: t, Greeting: greeting(t, a.Account), Organization: a.Account.OrganizationName,
			Identifier: a.Account.Identifier}
		if a.Number != nil {
			v.DoneNumber = fmt.Sprintf(t.DoneNumber, *a.Number)
		}
		s.renderActivate(w, r, v)
		return
	}
	notOffered := errors.Is(err, store.ErrNumberNotOffered)
	if notOffered || errors.Is(err, store.ErrNoNumberToKeep) {
		// The number is not on the list offered now (taken meanwhile, or never offered), or
		// the reserved one is gone: the form again, with a fresh list.
		if fresh, ferr := s.store.Activation(r.Context(), hash); ferr == nil {
			v := formView(fresh)
			v.Status, v.ErrorTitle, v.Error = http.StatusConflict, v.T.ProblemTitle, v.T.NoNumbers
			if notOffered {
				v.Error = v.T.NotOffered
			}
			s.renderActivate(w, r, v)
			return
		}
	}
	s.renderActivate(w, r, s.pageError(r, err))
}

// activationForm reads the number picked in the page's form, and a status other than 0 when
// the body cannot be read whole: 413 past maxActivationBody, 415 when it is not a form, 400
// when it is malformed or names more than one number. Nothing is activated then: read with
// r.PostFormValue, such a body was an empty form, which keeps the reserved number.
func activationForm(w http.ResponseWriter, r *http.Request) (string, int) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			return "", http.StatusUnsupportedMediaType
		}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActivationBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return "", http.StatusRequestEntityTooLarge
	case err != nil:
		return "", http.StatusBadRequest
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil || len(form["number"]) > 1 {
		return "", http.StatusBadRequest
	}
	return strings.TrimSpace(form.Get("number")), 0
}

func formView(a store.Activation) activateView {
	t := pageText(a.Account.Language)
	v := activateView{T: t, Greeting: greeting(t, a.Account), Organization: a.Account.OrganizationName,
		Identifier: a.Account.Identifier, Form: true,
		ValidUntil: fmt.Sprintf(t.ValidUntil, mailer.FormatDate(a.ExpiresAt, a.Account.Language))}
	if a.Number != nil {
		v.Reserved = *a.Number
	}
	for _, n := range a.Numbers {
		if n != v.Reserved {
			v.Numbers = append(v.Numbers, n)
		}
	}
	v.Selected = v.Reserved
	if v.Selected == "" && len(v.Numbers) > 0 {
		v.Selected = v.Numbers[0]
	}
	return v
}

func greeting(t activationText, a store.ActivationAccount) string {
	if name := strings.Join(strings.Fields(a.Firstname+" "+a.Lastname), " "); name != "" {
		return fmt.Sprintf(t.HelloName, name)
	}
	return t.Hello
}

// pageError says what went wrong in the account's language when the link is known, in the
// browser's otherwise, with the status the API would answer.
func (s *Server) pageError(r *http.Request, err error) activateView {
	var gone *store.InvitationGoneError
	if errors.As(err, &gone) {
		t := pageText(gone.Language)
		if gone.Why == store.GoneUsed {
			// The person's account is active: opening the link again is no error to them.
			return activateView{T: t, InfoTitle: t.AlreadyTitle, Info: t.Used}
		}
		return activateView{T: t, Status: http.StatusGone, ErrorTitle: t.GoneTitle, Error: goneMessage(gone, gone.Language)}
	}
	t := pageText(browserLanguage(r))
	v := activateView{T: t, Status: http.StatusInternalServerError, ErrorTitle: t.ProblemTitle, Error: t.Retry}
	var e *Error
	if !errors.As(s.activationError(r, err), &e) {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("activation page failed")
		return v
	}
	v.Status = e.Status
	switch e.Code {
	case "invitation_not_found":
		v.ErrorTitle, v.Error = t.NotFoundTitle, t.NotFound
	case "too_many_attempts":
		v.ErrorTitle, v.Error = t.TooManyTitle, t.TooMany
	default:
		v.Error = e.readable().Message
	}
	return v
}

// renderActivate writes the page with headers that keep it self-contained and private.
func (s *Server) renderActivate(w http.ResponseWriter, r *http.Request, v activateView) {
	noStore(w)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	var buf bytes.Buffer
	if err := activatePage.Execute(&buf, v); err != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("render activation page")
		http.Error(w, "The page could not be shown; try again", http.StatusInternalServerError)
		return
	}
	if v.Status != 0 {
		w.WriteHeader(v.Status)
	}
	_, _ = buf.WriteTo(w)
}

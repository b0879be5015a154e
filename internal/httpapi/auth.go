package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

type ctxKey int

const requestInfoKey ctxKey = iota

// requestInfo is filled in as a request goes through the handlers; the access log reads it.
type requestInfo struct {
	admin *store.Admin
}

func withRequestInfo(ctx context.Context) (context.Context, *requestInfo) {
	info := &requestInfo{}
	return context.WithValue(ctx, requestInfoKey, info), info
}

// authedFunc is a handler that runs for an authenticated admin.
type authedFunc func(w http.ResponseWriter, r *http.Request, admin store.Admin) error

// authed authenticates the bearer token and, unless privs is empty, requires one of privs.
func (s *Server) authed(h authedFunc, privs ...store.Privilege) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		admin, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if info, _ := r.Context().Value(requestInfoKey).(*requestInfo); info != nil {
			info.admin = &admin
		}
		if len(privs) > 0 && !hasAny(admin, privs) {
			names := make([]string, len(privs))
			for i, p := range privs {
				names[i] = string(p)
			}
			return errorf(http.StatusForbidden, "missing_privilege",
				"your role lacks the %s privilege needed here; ask an administrator to add it", strings.Join(names, " or "))
		}
		return h(w, r, admin)
	})
}

func hasAny(a store.Admin, privs []store.Privilege) bool {
	for _, p := range privs {
		if a.Has(p) {
			return true
		}
	}
	return false
}

func (s *Server) authenticate(r *http.Request) (store.Admin, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return store.Admin{}, errorf(http.StatusUnauthorized, "unauthenticated",
			"send your admin token as Authorization: Bearer <token>")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return store.Admin{}, errorf(http.StatusUnauthorized, "unauthenticated",
			"the Authorization header must read Bearer <token>")
	}
	return s.adminByToken(r.Context(), tok)
}

// adminByToken returns the admin whose bearer token is tok.
func (s *Server) adminByToken(ctx context.Context, tok string) (store.Admin, error) {
	// Looked up by hash: the comparison happens on a digest inside an index, so response
	// time says nothing about how close a guess was.
	admin, err := s.store.AdminByTokenHash(ctx, token.Hash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return store.Admin{}, errorf(http.StatusUnauthorized, "invalid_token",
			"the token is not valid; ask an administrator for a new one")
	}
	return admin, err
}

// orgInScope returns the {org} path value, or 403 when it is outside the admin's scope.
func orgInScope(r *http.Request, admin store.Admin) (string, error) {
	org := r.PathValue("org")
	if !admin.InScope(org) {
		return "", errOutOfScope()
	}
	return org, nil
}

// scopedOrg returns the organization of the request's path, which must be in admin's scope.
func (s *Server) scopedOrg(r *http.Request, admin store.Admin) (store.Organization, error) {
	orgID, err := orgInScope(r, admin)
	if err != nil {
		return store.Organization{}, err
	}
	org, err := s.store.Organization(r.Context(), orgID)
	if errors.Is(err, store.ErrNotFound) {
		return org, errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", orgID)
	}
	return org, err
}

func errOutOfScope() *Error {
	return errorf(http.StatusForbidden, "out_of_scope",
		"this organization is outside your scope; ask an administrator to add it to your account")
}

package token_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/multiline/onboarding/internal/token"
)

func TestInvitationTokens(t *testing.T) {
	a, err := token.NewInvitations(strings.Repeat("a", 32))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := token.NewInvitations(strings.Repeat("b", 32))
	const id = "5b0c909e-0000-4000-8000-000000000001"

	t.Run("same invitation, same token on every call", func(t *testing.T) {
		p1, h1 := a.Token(id)
		p2, h2 := a.Token(id)
		if p1 != p2 || !bytes.Equal(h1, h2) {
			t.Errorf("got %q and %q, want one token", p1, p2)
		}
		if !bytes.Equal(h1, token.Hash(p1)) || !bytes.Equal(a.Hash(id), h1) {
			t.Errorf("the stored hash is not the hash of the token")
		}
		if len(p1) != 43 {
			t.Errorf("got a token of %d characters, want 43 (256 bits)", len(p1))
		}
	})
	t.Run("another invitation or another secret, another token", func(t *testing.T) {
		p, _ := a.Token(id)
		if q, _ := a.Token(id[:len(id)-1] + "2"); q == p {
			t.Errorf("two invitations share token %q", p)
		}
		if q, _ := b.Token(id); q == p {
			t.Errorf("two secrets give the same token %q", p)
		}
	})
	t.Run("a short secret is refused", func(t *testing.T) {
		if _, err := token.NewInvitations("short"); err == nil {
			t.Errorf("got no error for a 5-character secret")
		}
	})
}

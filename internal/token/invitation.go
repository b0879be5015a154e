package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// MinSecretLen is the shortest secret NewInvitations accepts.
const MinSecretLen = 32

// Invitations derives the activation token of an invitation from its id and a secret that
// is not in the database: every attempt to send one invitation carries the same link, so a
// person who got two copies can open either, and a copy of the database alone (ids and
// token hashes) does not let anyone compute a working link. A new link is a new invitation
// (Resend Invitation creates one), hence a new id and a new token.
type Invitations struct {
	key []byte
}

// NewInvitations returns the deriver for secret, which must be at least MinSecretLen bytes.
func NewInvitations(secret string) (Invitations, error) {
	if len(secret) < MinSecretLen {
		return Invitations{}, errors.New("the token secret must be at least 32 characters")
	}
	return Invitations{key: []byte(secret)}, nil
}

// Token returns the activation token of invitation id (256 bits, URL-safe) and the hash
// under which it is stored.
func (i Invitations) Token(id string) (plain string, hash []byte) {
	if len(i.key) == 0 {
		panic("token: Invitations used without a secret (make it with NewInvitations)")
	}
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte("invitation:"))
	m.Write([]byte(id))
	plain = base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return plain, Hash(plain)
}

// Hash returns only the stored hash of invitation id's token.
func (i Invitations) Hash(id string) []byte {
	_, h := i.Token(id)
	return h
}

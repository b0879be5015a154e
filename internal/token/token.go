// Package token makes the service's secrets: random bearer and activation tokens, of which
// only a SHA-256 hash is ever stored.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// New returns a fresh random token (256 bits, URL-safe, with prefix) and its hash.
func New(prefix string) (plain string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms; a failure means no entropy at all.
		panic("token: no randomness: " + err.Error())
	}
	plain = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return plain, Hash(plain)
}

// Hash returns the SHA-256 digest under which a token is stored and looked up.
// Tokens have 256 bits of entropy, so a fast hash is enough: nothing is left to brute-force.
func Hash(plain string) []byte {
	sum := sha256.Sum256([]byte(plain))
	return sum[:]
}

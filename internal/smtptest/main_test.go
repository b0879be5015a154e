package smtptest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a server leaves a goroutine
// behind once every test has closed what it opened.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

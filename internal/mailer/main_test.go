package mailer

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a Mailer or smtptest server leaves a goroutine
// behind once every test has closed what it opened.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

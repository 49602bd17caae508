package mail_test

import (
	"testing"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
)

var defaultFrom = mail.Address{Name: "Steward", Email: "no-reply@steward.test"}

// newSES returns an SES sender on aws-ses-v2-local and the emulator.
func newSES(t *testing.T) (*sesmail.Sender, *testenv.SESEmulator) {
	t.Helper()
	emu := testenv.SES(t)
	return emu.Sender(t, defaultFrom), emu
}

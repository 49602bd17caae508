package httpapi

import (
	"testing"

	"github.com/stewardhq/steward/infra/testkit/patterncheck"
)

// The loops that replaced package-level regexps agree with them.
func TestFormatsMatchTheirRegexps(t *testing.T) {
	patterncheck.Agree(t, "validRequestID", `^[A-Za-z0-9._=+/-]{8,64}$`, validRequestID)
	patterncheck.Agree(t, "IDLike(64, no dots)", `^[A-Za-z0-9_-]{1,64}$`, func(s string) bool { return IDLike(s, 64, false) })
	patterncheck.Agree(t, "IDLike(128, dots)", `^[A-Za-z0-9._-]{1,128}$`, func(s string) bool { return IDLike(s, 128, true) })
}

package router

import (
	"testing"

	"github.com/stewardhq/steward/infra/testkit/patterncheck"
)

// validIdempotencyKey is the loop that replaced a package-level regexp
// (compiling it cost every cold start); they must agree.
func TestIdempotencyKeyMatchesItsRegexp(t *testing.T) {
	patterncheck.Agree(t, "validIdempotencyKey", `^[A-Za-z0-9._:-]{1,128}$`, validIdempotencyKey)
}

package approvals

import (
	"testing"

	"github.com/stewardhq/steward/infra/testkit/patterncheck"
)

// The loops that replaced package-level regexps (compiling them cost every
// cold start) agree with them.
func TestFormatsMatchTheirRegexps(t *testing.T) {
	patterncheck.Agree(t, "validDocID", `^[A-Za-z0-9_-]{1,64}$`, validDocID)
	patterncheck.Agree(t, "validCurrency", `^[A-Z]{3}$`, validCurrency)
}

package accounts

import (
	"regexp"
	"testing"

	"github.com/stewardhq/steward/infra/testkit/patterncheck"
)

// formats pairs each check of format.go with the regular expression it
// replaced.
var formats = []struct {
	name, pattern string
	check         func(string) bool
}{
	{"scopeID", `^[A-Za-z0-9_-]{1,64}$`, validScopeID},
	{"roleID", `^[a-z][a-z0-9_]{1,47}$`, validRoleID},
	{"domainLabel", `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`, validDomainLabel},
	{"auditActor", `^[A-Za-z0-9._:@-]{1,160}$`, validAuditActor},
	{"auditTargetType", `^[a-z][a-z0-9_]{0,39}$`, validAuditTargetType},
	{"auditTargetID", `^[A-Za-z0-9._:@-]{1,200}$`, validAuditTargetID},
	{"auditAction", `^[a-z][a-z0-9_.]{0,79}$`, validAuditAction},
}

func TestFormatsMatchTheirRegexps(t *testing.T) {
	for _, f := range formats {
		patterncheck.Agree(t, f.name, f.pattern, f.check)
	}
}

func FuzzFormatsMatchTheirRegexps(f *testing.F) {
	for _, s := range patterncheck.Inputs()[:40] {
		f.Add(s)
	}
	res := make([]*regexp.Regexp, len(formats))
	for i, fm := range formats {
		res[i] = regexp.MustCompile(fm.pattern)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, fm := range formats {
			if got, want := fm.check(s), res[i].MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the regexp says %v", fm.name, s, got, want)
			}
		}
	})
}

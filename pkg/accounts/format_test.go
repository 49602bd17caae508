package accounts

import (
	"regexp"
	"strings"
	"testing"
)

// formats pairs each check of format.go with the regular expression it
// replaced.
var formats = []struct {
	name  string
	re    *regexp.Regexp
	check func(string) bool
}{
	{"scopeID", regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`), validScopeID},
	{"roleID", regexp.MustCompile(`^[a-z][a-z0-9_]{1,47}$`), validRoleID},
	{"domainLabel", regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`), validDomainLabel},
	{"auditActor", regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,160}$`), validAuditActor},
	{"auditTargetType", regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`), validAuditTargetType},
	{"auditTargetID", regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,200}$`), validAuditTargetID},
	{"auditAction", regexp.MustCompile(`^[a-z][a-z0-9_.]{0,79}$`), validAuditAction},
}

// formatInputs are edge cases: every length bound, every byte at the head,
// middle and tail, non-ASCII and invalid UTF-8, newlines around the text.
func formatInputs() []string {
	in := []string{"", "a", "A", "0", "-", "_", ".", ":", "@", "a-", "-a", "a-b", "ab", "a_b", "a.b", "aB",
		"é", "aé", "a\xff", "\xff", "a\n", "\na", "a\x00", "ab\n", "a b", "a/b", "a+b", "a=b", "xn--bcher-kva",
		"store.create", "m_1f2e", "user:m1@example.com", "role.assign"}
	for n := 0; n <= 202; n++ {
		for _, c := range []string{"a", "A", "0", "-", "_", "."} {
			in = append(in, strings.Repeat(c, n), "a"+strings.Repeat(c, n), "a"+strings.Repeat(c, n)+"a")
		}
	}
	for b := 0; b < 256; b++ {
		c := string([]byte{byte(b)})
		in = append(in, c, "a"+c, c+"a", "ab"+c+"cd", "a"+c+"b")
	}
	return in
}

func TestFormatsMatchTheirRegexps(t *testing.T) {
	for _, f := range formats {
		for _, s := range formatInputs() {
			if got, want := f.check(s), f.re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the regexp says %v", f.name, s, got, want)
			}
		}
	}
}

func FuzzFormatsMatchTheirRegexps(f *testing.F) {
	for _, s := range formatInputs()[:40] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fm := range formats {
			if got, want := fm.check(s), fm.re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the regexp says %v", fm.name, s, got, want)
			}
		}
	})
}

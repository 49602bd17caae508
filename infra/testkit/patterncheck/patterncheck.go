// Package patterncheck is a test helper: it checks that a hand-written
// format check agrees with the regular expression it replaced. Steward
// compiles no regexp at package init (every cold start paid for it), so
// the formats are byte loops; their tests keep the old patterns as the
// specification.
package patterncheck

import (
	"regexp"
	"strings"
	"testing"
)

// Agree fails t for every input of Inputs on which check and pattern
// disagree.
func Agree(t testing.TB, name, pattern string, check func(string) bool) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for _, s := range Inputs() {
		if got, want := check(s), re.MatchString(s); got != want {
			t.Errorf("%s(%q) = %v, %s says %v", name, s, got, pattern, want)
		}
	}
}

// Inputs are edge cases of ASCII formats: every length up to 202 of runs
// of one character, alone and between letters, every byte value alone,
// at either end and in the middle, non-ASCII, invalid UTF-8, line breaks
// and separators.
func Inputs() []string {
	in := []string{"", "a", "A", "0", "-", "_", ".", ":", "@", "a-", "-a", "a-b", "ab", "a_b", "a.b", "aB",
		"é", "aé", "a\xff", "\xff", "a\n", "\na", "a\x00", "ab\n", "a b", "a,b", "a;b", "a/b", "a+b", "a=b",
		"EUR", "eur", "ÉUR", "EUR\n", "xn--bcher-kva", "store.create", "m_1f2e", "user:m1@example.com", "role.assign"}
	for n := 0; n <= 202; n++ {
		for _, c := range []string{"a", "A", "Z", "0", "-", "_", ".", ":", "=", "+", "/", "@"} {
			r := strings.Repeat(c, n)
			in = append(in, r, "a"+r, "a"+r+"a", strings.Repeat("aB3", n/3)+c)
		}
	}
	for b := 0; b < 256; b++ {
		c := string([]byte{byte(b)})
		in = append(in, c, "a"+c, c+"a", "ab"+c+"cd", "abcdefgh"+c, c+"abcdefgh", "AB"+c, c+"BC")
	}
	return in
}

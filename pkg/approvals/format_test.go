package approvals

import (
	"regexp"
	"strings"
	"testing"
)

// validDocID is the loop that replaced the package-level regexp below (compiling
// it cost every cold start); they must agree.
func TestDocIDMatchesItsRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	in := []string{"", "é", "aé", "a\xff", "a\n", "\na", "a b", "a,b", "a;b"}
	for n := 0; n <= 130; n++ {
		for _, c := range []string{"a", "Z", "0", ".", "_", "-", ":", "=", "+", "/"} {
			in = append(in, strings.Repeat(c, n), strings.Repeat("aB3", n/3)+c)
		}
	}
	for b := 0; b < 256; b++ {
		c := string([]byte{byte(b)})
		in = append(in, c, "abcdefgh"+c, c+"abcdefgh", "ABC", "AB"+c, c+"BC")
	}
	for _, s := range in {
		if got, want := validDocID(s), re.MatchString(s); got != want {
			t.Errorf("validDocID(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

func TestCurrencyMatchesItsRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[A-Z]{3}$`)
	for _, s := range []string{"", "E", "EU", "EUR", "EURO", "eur", "EUr", "E1R", "ÉUR", "EU\xff", "EUR\n", "\nEUR", "@UR", "[UR", "EU["} {
		if got, want := validCurrency(s), re.MatchString(s); got != want {
			t.Errorf("validCurrency(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

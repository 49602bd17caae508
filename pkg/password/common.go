package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// commonList is the embedded list of common passwords and base words.
//
//go:embed commonpasswords.txt
var commonList string

// commonSet returns, in lower case, the embedded list plus the generated
// patterns: keyboard walks, digit runs and the service's own name. A
// password is common if, ignoring case, it is one of these words with at
// most a predictable decoration (see isCommon). The set is built on first
// use, not at package init: only sign-up, password reset and accepting an
// invitation check passwords, and building it costs every cold start
// some milliseconds and a quarter megabyte otherwise.
var commonSet = sync.OnceValue(buildCommon)

func buildCommon() map[string]struct{} {
	common := make(map[string]struct{}, 3000) // some 2,850 entries
	addBoth := func(s string) {
		common[s] = struct{}{}
		common[reverse(s)] = struct{}{}
	}
	for line := range strings.Lines(commonList) {
		w := strings.ToLower(strings.TrimSpace(line))
		if w != "" && !strings.HasPrefix(w, "#") {
			common[w] = struct{}{}
		}
	}
	// Keyboard rows (US, AZERTY, QWERTZ) and their concatenations: every
	// substring of at least 6 keys, forwards and backwards.
	rows := []string{
		"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm",
		"qwertyuiopasdfghjklzxcvbnm", "1234567890qwertyuiop",
		"azertyuiop", "qsdfghjklm", "wxcvbn", "qwertzuiop", "yxcvbnm",
		"!@#$%^&*()_+", "1234567890-=", "qwertyuiop[]", "asdfghjkl;'",
	}
	for _, r := range rows {
		for i := 0; i < len(r); i++ {
			for j := i + 6; j <= len(r); j++ {
				addBoth(r[i:j])
			}
		}
	}
	// Column and zig-zag walks, which start where they start: every prefix
	// of at least 6 keys.
	walks := []string{
		"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",
		"qazwsxedcrfvtgbyhnujmikolp", "zaq1xsw2cde3vfr4bgt5nhy6mju7",
		"1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0",
		"qweasdzxc", "qweasdzxc123", "1qazxsw23edcvfr4", "zaq12wsxcde34rfv",
		"1qaz!qaz2wsx@wsx", "!qaz@wsx#edc", "a1b2c3d4e5f6g7h8i9j0",
		"1a2b3c4d5e6f7g8h9i0j", "abcdefghijklmnopqrstuvwxyz",
	}
	for _, w := range walks {
		for j := 6; j <= len(w); j++ {
			addBoth(w[:j])
		}
	}
	// Digit runs, ascending and descending, wrapping 9->0 and 0->9.
	const up = "01234567890123456789012345"
	const down = "98765432109876543210987654"
	for i := 0; i < 10; i++ {
		for j := i + 6; j <= len(up); j++ {
			common[up[i:j]] = struct{}{}
			common[down[i:j]] = struct{}{}
		}
	}
	// Context-specific words (NIST SP 800-63B 5.1.1.2).
	for _, w := range []string{"steward", "stewardhq", "stewardapp", "stewardpassword"} {
		common[w] = struct{}{}
	}
	return common
}

// isCommon reports whether plain, ignoring case, is a common word or
// pattern (possibly in leetspeak, reversed, or repeated) with at most a
// weak decoration before and after: a few digits, a year or date, a digit
// run or repetition, and a few symbols. "Password2024!", "p@ssw0rd123",
// "123monkey", "dragondragon" and "abcabcabcabc" are common; a common word
// inside a longer phrase ("correct-monkey-stapler") is not.
func isCommon(plain string) bool {
	s := strings.ToLower(plain)
	if isWord(s) {
		return true
	}
	// Try the string as typed and with the symbol substitutions undone
	// ("p@$$word1" -> "passsword1"), since '@' and '$' would otherwise be
	// taken for decoration when they start or end the word.
	for _, t := range []string{s, symbolLeet.Replace(s)} {
		pre, core, suf := splitDecoration(t)
		if !weakDecoration(pre) || !weakDecoration(suf) {
			continue
		}
		if core == "" {
			return true // only weak digits and symbols
		}
		for _, c := range []string{core, digitLeetI.Replace(core), digitLeetL.Replace(core)} {
			if isWord(c) || isWord(reverse(c)) {
				return true
			}
			if u := period(c); u != "" && (utf8.RuneCountInString(u) <= 3 || isWord(u)) {
				return true
			}
		}
	}
	return false
}

var (
	symbolLeet = strings.NewReplacer("@", "a", "$", "s")
	digitLeetI = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "8", "b", "9", "g", "@", "a", "$", "s", "!", "i")
	digitLeetL = strings.NewReplacer("0", "o", "1", "l", "3", "e", "4", "a", "5", "s", "7", "t", "8", "b", "9", "g", "@", "a", "$", "s", "!", "l")
)

func isWord(s string) bool {
	_, ok := commonSet()[s]
	return ok
}

// isDecoration reports whether b is an ASCII digit, symbol or space: the
// characters people add around a word to satisfy composition rules.
func isDecoration(b byte) bool {
	return b >= '0' && b <= '9' || b == ' ' || strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", b) >= 0
}

// splitDecoration splits s into leading decoration, core and trailing
// decoration. When s is all decoration, core and suf are empty.
func splitDecoration(s string) (pre, core, suf string) {
	i := 0
	for i < len(s) && isDecoration(s[i]) {
		i++
	}
	j := len(s)
	for j > i && isDecoration(s[j-1]) {
		j--
	}
	return s[:i], s[i:j], s[j:]
}

// weakDecoration reports whether a run of digits and symbols is
// predictable: its digits are at most 4 (a year, a PIN, "123"), a run
// ("123456", "987654"), one digit repeated, a short unit repeated
// ("121212", "20242024") or an 8-digit date; and its symbols are at most
// 3 or one symbol repeated.
func weakDecoration(d string) bool {
	var digits, syms []byte
	for i := 0; i < len(d); i++ {
		if d[i] >= '0' && d[i] <= '9' {
			digits = append(digits, d[i])
		} else {
			syms = append(syms, d[i])
		}
	}
	return weakDigits(string(digits)) && (len(syms) <= 3 || oneRune(string(syms)))
}

func weakDigits(d string) bool {
	if len(d) <= 4 || oneRune(d) || isDigitRun(d) || isDate8(d) {
		return true
	}
	u := period(d)
	return u != "" && len(u) <= 4
}

// isDigitRun reports whether d ascends or descends by one at every step,
// wrapping between 9 and 0.
func isDigitRun(d string) bool {
	if len(d) < 2 {
		return true
	}
	step := (int(d[1]) - int(d[0]) + 10) % 10
	if step != 1 && step != 9 {
		return false
	}
	for i := 2; i < len(d); i++ {
		if (int(d[i])-int(d[i-1])+10)%10 != step {
			return false
		}
	}
	return true
}

// isDate8 reports whether d is a plausible date as YYYYMMDD, DDMMYYYY or
// MMDDYYYY with a year from 1900 to 2099.
func isDate8(d string) bool {
	if len(d) != 8 {
		return false
	}
	n := func(s string) int {
		v := 0
		for i := 0; i < len(s); i++ {
			v = v*10 + int(s[i]-'0')
		}
		return v
	}
	year := func(y int) bool { return y >= 1900 && y <= 2099 }
	md := func(m, day int) bool { return m >= 1 && m <= 12 && day >= 1 && day <= 31 }
	return year(n(d[:4])) && md(n(d[4:6]), n(d[6:])) ||
		year(n(d[4:])) && (md(n(d[2:4]), n(d[:2])) || md(n(d[:2]), n(d[2:4])))
}

// period returns the shortest unit u such that s is u repeated at least
// twice, or "" if there is none.
func period(s string) string {
	n := len(s)
	for l := 1; l <= n/2; l++ {
		if n%l != 0 {
			continue
		}
		if strings.Repeat(s[:l], n/l) == s {
			return s[:l]
		}
	}
	return ""
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

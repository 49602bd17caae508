package password

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	const email = "Jane.Doe-1980@Example.com"
	for _, tc := range []struct {
		pw   string
		want error
	}{
		// Length, counted in characters, capped in bytes.
		{"", ErrTooShort},
		{"k7#Qm2vZ9", ErrTooShort},
		{"héllø wørd", nil},        // 10 runes, 14 bytes
		{"日本語のパスワード", ErrTooShort}, // 9 runes, 27 bytes
		{"日本語のパスワードです", nil},
		{strings.Repeat("ab3$", 64), ErrRepeated}, // 256 bytes, but a repetition
		{strings.Repeat("x", 257), ErrTooLong},
		{"k7#Qm2vZ9\xff", ErrInvalidText},
		// One character repeated.
		{"aaaaaaaaaa", ErrRepeated},
		{"          ", ErrRepeated},
		{"ééééééééééé", ErrRepeated},
		// The email, or its part before the @.
		{"jane.doe-1980@example.com", ErrMatchesEmail},
		{"JANE.DOE-1980", ErrMatchesEmail},
		{"jane.doe-1980@example", nil},
		// Listed classics.
		{"1234567890", ErrTooCommon},
		{"qwertyuiop", ErrTooCommon},
		{"iloveyou123", ErrTooCommon},
		{"qwerty123456", ErrTooCommon},
		{"1q2w3e4r5t", ErrTooCommon},
		{"1qaz2wsx3edc", ErrTooCommon},
		{"trustno1!!", ErrTooCommon},
		{"correcthorsebatterystaple", ErrTooCommon},
		{"Steward2024!", ErrTooCommon},
		// A common word with predictable decoration.
		{"password12", ErrTooCommon},
		{"Password2024!", ErrTooCommon},
		{"PASSWORD1234", ErrTooCommon},
		{"qwerty123", ErrTooShort},
		{"qwerty1234", ErrTooCommon},
		{"2024password", ErrTooCommon},
		{"!!password!!", ErrTooCommon},
		{"password123456789", ErrTooCommon},
		{"password!!!!!!!", ErrTooCommon},
		{"michael19850612", ErrTooCommon},
		{"jennifer121212", ErrTooCommon},
		{"Summer2025!", ErrTooCommon},
		{"monkey00000", ErrTooCommon},
		// Leetspeak, reversal, repetition.
		{"P@ssw0rd123", ErrTooCommon},
		{"p@$$word2024", ErrTooCommon},
		{"Passw0rd!!", ErrTooCommon},
		{"dr0wssap123", ErrTooCommon},
		{"1l0v3y0u99", ErrTooCommon},
		{"monkeymonkey", ErrRepeated},
		{"dragondragon1", ErrTooCommon},
		{"abcabcabcabc", ErrRepeated},
		{"1212121212", ErrRepeated},
		{"asdfghjkl;'", ErrTooCommon},
		{"!@#$%^&*()", ErrTooCommon},
		{"12345678!!", ErrTooCommon},
		{"0987654321", ErrTooCommon},
		{"lkjhgfdsa1", ErrTooCommon},
		// Fine: a common word with unpredictable additions, phrases,
		// random strings.
		{"password-for-the-warehouse", nil},
		{"monkey83629417", nil},
		{"8302945617", nil},
		{"purple-monkey-dishwasher", nil},
		{"k7#Qm2vZ9x", nil},
		{"tangerine lighthouse", nil},
		{"dragonfly mountain", nil},
		{strings.Repeat("k7#Qm2vZ9x", 25), nil}, // a strong unit repeated
		{"password12password12", ErrRepeated},
		{"hunter2hunter2", ErrRepeated},
	} {
		err := Validate(tc.pw, email)
		if !errors.Is(err, tc.want) {
			t.Errorf("Validate(%q) = %v; want %v", tc.pw, err, tc.want)
		}
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Code == "" || pe.Message == "" {
				t.Errorf("Validate(%q) error %v is not a *PolicyError with code and message", tc.pw, err)
			}
		}
	}
}

func TestValidateNoEmail(t *testing.T) {
	if err := Validate("tangerine lighthouse", ""); err != nil {
		t.Fatal(err)
	}
}

func TestCommonListLoaded(t *testing.T) {
	n := 0
	for line := range strings.Lines(commonList) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	if n < 1000 {
		t.Fatalf("commonpasswords.txt has %d entries; want at least 1000", n)
	}
	// Plus the generated patterns.
	if common := commonSet(); len(common) < n+500 {
		t.Fatalf("common has %d entries; generated patterns missing", len(common))
	}
	for _, w := range []string{"123456", "password", "qwerty123", "iloveyou", "asdfghjkl", "poiuytrewq", "9876543210"} {
		if !isWord(w) {
			t.Errorf("%q not in the common set", w)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	for b.Loop() {
		_ = Validate("correct-horse-stapler-42", "jane@example.com")
	}
}

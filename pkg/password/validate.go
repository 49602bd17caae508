package password

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Policy limits applied by Validate.
const (
	// MinLength is the minimum length in characters (Unicode code points).
	MinLength = 10
	// MaxBytes is the maximum length in bytes of the UTF-8 encoding.
	MaxBytes = 256
)

// PolicyError is a password that breaks the password policy. Its message
// is written for the person choosing the password and is safe to show;
// Code is stable, for the API's problem responses.
type PolicyError struct {
	// Code is a stable machine-readable reason, e.g. "password_too_short".
	Code string
	// Message is a human-readable explanation that is safe to show.
	Message string
}

// Error returns the user-facing message.
func (e *PolicyError) Error() string { return e.Message }

// The policy errors Validate returns; compare with errors.Is.
var (
	// ErrTooShort: fewer than MinLength characters.
	ErrTooShort = &PolicyError{Code: "password_too_short", Message: "Password must be at least 10 characters long."}
	// ErrTooLong: more than MaxBytes bytes.
	ErrTooLong = &PolicyError{Code: "password_too_long", Message: "Password must be at most 256 bytes long."}
	// ErrInvalidText: not valid UTF-8 text, or with a control character
	// (C0, DEL, C1), which no keyboard types.
	ErrInvalidText = &PolicyError{Code: "password_invalid", Message: "Password must be valid text, without control characters."}
	// ErrRepeated: one character repeated, or a sequence shorter than
	// MinLength (or itself common) repeated: a repetition is only as
	// strong as what is repeated.
	ErrRepeated = &PolicyError{Code: "password_repeated", Message: "Password must not be one character or a short sequence repeated."}
	// ErrMatchesEmail: the password is the email address (or its part
	// before the @).
	ErrMatchesEmail = &PolicyError{Code: "password_matches_email", Message: "Password must not be your email address."}
	// ErrTooCommon: a known common password, or a common word or
	// keyboard pattern with predictable decoration.
	ErrTooCommon = &PolicyError{Code: "password_too_common", Message: "Password is too common or too easy to guess; choose another."}
)

// Validate checks a password a person chooses (sign-up, invitation
// accept, password reset) against the policy, following NIST SP 800-63B:
// a length floor and ceiling, and a block list instead of composition
// rules. email is the address of the identity the password is for. The
// returned error, if any, is one of the *PolicyError values above.
//
// The password is checked as given: Validate does not trim or normalise
// it, and Hash must be given the same string.
func Validate(plain, email string) error {
	if len(plain) > MaxBytes {
		return ErrTooLong
	}
	if !utf8.ValidString(plain) || strings.IndexFunc(plain, unicode.IsControl) >= 0 {
		return ErrInvalidText
	}
	if utf8.RuneCountInString(plain) < MinLength {
		return ErrTooShort
	}
	if oneRune(plain) {
		return ErrRepeated
	}
	if u := period(strings.ToLower(plain)); u != "" && (utf8.RuneCountInString(u) < MinLength || isCommon(u)) {
		return ErrRepeated
	}
	if matchesEmail(plain, email) {
		return ErrMatchesEmail
	}
	if isCommon(plain) {
		return ErrTooCommon
	}
	return nil
}

func oneRune(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}

func matchesEmail(plain, email string) bool {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return false
	}
	p := strings.ToLower(plain)
	if p == email {
		return true
	}
	local, _, ok := strings.Cut(email, "@")
	return ok && local != "" && p == local
}

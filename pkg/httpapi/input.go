package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// InvalidField is the 400 problem for one bad input field.
func InvalidField(field, detail string) *Error {
	e := Errorf(http.StatusBadRequest, "invalid_field", field+": "+detail)
	e.Fields = []FieldError{{Field: field, Detail: detail}}
	return e
}

// Indexed names an element of an array field, "assignments[2]".
func Indexed(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// MaxLimit is the largest page a list answers.
const MaxLimit = 200

// ParseLimit reads the limit query parameter: 1..MaxLimit, 0 when absent
// (the list's default).
func ParseLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, InvalidField("limit", fmt.Sprintf("must be a whole number from 1 to %d", MaxLimit))
	}
	return n, nil
}

// ErrBadCursor is the problem for a cursor this server did not issue for
// this list.
var ErrBadCursor = Errorf(http.StatusBadRequest, "bad_cursor", "The cursor is not valid for this list; start again without it.")

// CleanName trims a display name and checks it: at most max characters, no
// control characters, and not empty when required.
func CleanName(field, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", InvalidField(field, "is required")
		}
		return "", nil
	}
	if len([]rune(v)) > max {
		return "", InvalidField(field, fmt.Sprintf("must be at most %d characters", max))
	}
	for _, r := range v {
		if IsControl(r) {
			return "", InvalidField(field, "must not contain control characters")
		}
	}
	return v, nil
}

// IsControl reports C0 and C1 control characters, DEL and the bidi
// embedding, override and isolate characters (U+202A-U+202E,
// U+2066-U+2069), which reorder the text around them in a list or an
// email ("Trojan Source" spoofing).
func IsControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// CleanText trims free text (a description, a note, a comment) and checks
// it: at most max characters, and no control characters other than tab
// and line breaks (see IsControl). Empty is allowed.
func CleanText(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	if len([]rune(v)) > max {
		return "", InvalidField(field, fmt.Sprintf("must be at most %d characters", max))
	}
	for _, r := range v {
		if r != '\t' && r != '\n' && r != '\r' && IsControl(r) {
			return "", InvalidField(field, "must not contain control characters other than tabs and line breaks")
		}
	}
	return v, nil
}

// CheckID checks an id the client names in a body or query (a member, an
// account): 1 to 128 letters, digits, '.', '_' or '-'. A longer one could
// not name anything and would overflow a key.
func CheckID(field, v string) error {
	switch {
	case v == "":
		return InvalidField(field, "is required")
	case len(v) > 128:
		return InvalidField(field, "must be at most 128 characters")
	case !IDLike(v, 128, true):
		return InvalidField(field, "must be letters, digits, '.', '_' or '-'")
	}
	return nil
}

// IDLike reports whether v is 1 to max ASCII letters, digits, '_' or '-'
// (and '.' when dots): the shape of every id a client names. A loop, not
// a regexp: a counted repeat compiled at package init costs every cold
// start.
func IDLike(v string, max int, dots bool) bool {
	if len(v) < 1 || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || dots && c == '.') {
			return false
		}
	}
	return true
}

// Precondition errors of If-Match.
var (
	ErrPreconditionRequired = Errorf(http.StatusPreconditionRequired, "precondition_required", "Send If-Match with the ETag you read, so that nobody's change is lost.")
	ErrBadIfMatch           = InvalidField("If-Match", `must be one ETag like "3"`)
)

// ETag is the strong entity tag of a version, "3" in quotes.
func ETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// IfMatch reads the version in If-Match. Absent: 0, or
// ErrPreconditionRequired when required. Malformed (weak, a list, not a
// version): ErrBadIfMatch.
func IfMatch(r *http.Request, required bool) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		if required {
			return 0, ErrPreconditionRequired
		}
		return 0, nil
	}
	if len(v) < 3 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, ErrBadIfMatch
	}
	n, err := strconv.ParseInt(v[1:len(v)-1], 10, 64)
	if err != nil || n < 1 {
		return 0, ErrBadIfMatch
	}
	return n, nil
}

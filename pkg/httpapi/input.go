package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/pkg/fault"
)

// InvalidField is the 400 problem for one bad input field.
func InvalidField(field, detail string) *Error {
	e := fault.New(fault.Invalid, "invalid_field", field+": "+detail)
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
var ErrBadCursor = fault.ErrBadCursor

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
	ErrPreconditionRequired = fault.New(fault.PreconditionRequired, "precondition_required", "Send If-Match with the ETag you read, so that nobody's change is lost.")
	ErrBadIfMatch           = InvalidField("If-Match", `must be "*" or entity tags such as "3" (RFC 9110)`)
)

// ETag is the strong entity tag of a version, "3" in quotes.
func ETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// Precondition is an If-Match header read by the one rule every route of
// the API follows (RFC 9110, section 13.1.1):
//
//   - absent (or empty): no precondition (routes that need one answer
//     428);
//   - malformed (not "*" and not a comma-separated list of entity tags
//     [W/]"<characters>"): 400 invalid_field naming If-Match, and only
//     then;
//   - "*": matches whatever is stored (a single resource that does not
//     exist does not match: see VersionMatches);
//   - a list of entity tags: matches when one of them is, by the strong
//     comparison, the current ETag ("<version>"). A weak tag never
//     matches, nor does a well-formed tag that names no version ("abc",
//     "007"): the route answers 412, like a stale ETag. Stored resources
//     start at version 1, so "0" never matches one; it is the ETag of a
//     collection with nothing stored yet (an account's custom roles).
type Precondition struct {
	// Present says the header was sent.
	Present bool
	// Any is "*".
	Any bool
	// Versions are the versions the strong tags name (tags that name no
	// version can never match and are dropped).
	Versions []int64
}

// ParseIfMatch reads If-Match (every line of it) by the one rule; the
// only error is ErrBadIfMatch for a malformed header.
func ParseIfMatch(r *http.Request) (Precondition, error) {
	lines := r.Header.Values("If-Match")
	if len(lines) == 0 {
		return Precondition{}, nil
	}
	v := strings.Trim(strings.Join(lines, ","), " \t")
	if v == "" {
		return Precondition{}, nil // an empty header is no header
	}
	pre := Precondition{Present: true}
	if v == "*" {
		pre.Any = true
		return pre, nil
	}
	tags := 0
	for v != "" {
		v = strings.TrimLeft(v, " \t")
		if v == "" {
			break
		}
		if v[0] == ',' { // empty list elements are allowed (RFC 9110, 5.6.1)
			v = v[1:]
			continue
		}
		weak := strings.HasPrefix(v, "W/")
		if weak {
			v = v[2:]
		}
		if v == "" || v[0] != '"' {
			return Precondition{}, ErrBadIfMatch
		}
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			return Precondition{}, ErrBadIfMatch
		}
		opaque := v[1 : 1+end]
		for i := 0; i < len(opaque); i++ {
			if c := opaque[i]; c < 0x21 || c == 0x7f { // etagc: %x21 / %x23-7E / obs-text; '"' ends the tag
				return Precondition{}, ErrBadIfMatch
			}
		}
		tags++
		if n, ok := versionOf(opaque); ok && !weak {
			pre.Versions = append(pre.Versions, n)
		}
		v = strings.TrimLeft(v[2+end:], " \t")
		if v != "" && v[0] != ',' {
			return Precondition{}, ErrBadIfMatch
		}
	}
	if tags == 0 {
		return Precondition{}, ErrBadIfMatch
	}
	return pre, nil
}

// versionOf reads the version a tag's opaque part names: the canonical
// decimal form of a version from 0 (ETag's own form, so "007" names none).
func versionOf(opaque string) (int64, bool) {
	n, err := strconv.ParseInt(opaque, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != opaque {
		return 0, false
	}
	return n, true
}

// Matches reports whether the precondition holds for the current version
// (of a collection: 0 when nothing is stored yet). An absent header always
// holds.
func (p Precondition) Matches(version int64) bool {
	if !p.Present || p.Any {
		return true
	}
	for _, v := range p.Versions {
		if v == version {
			return true
		}
	}
	return false
}

// Version values of IfMatch besides the versions themselves.
const (
	// AnyVersion is If-Match "*": any stored version matches.
	AnyVersion int64 = -1
	// NoVersion is an If-Match that no stored version can match (weak
	// tags, tags that name no version): the route answers 412. A list
	// naming several versions is NoVersion too on the routes that take one
	// version: the API never sends such lists.
	NoVersion int64 = -2
)

// IfMatch reads If-Match by the one rule (ParseIfMatch) for a route of one
// resource, which compares its stored version (from 1) with
// VersionMatches: absent, 0 or ErrPreconditionRequired when required;
// malformed, ErrBadIfMatch; "*", AnyVersion; one version's ETag, that
// version; any other well-formed header ("0" included), NoVersion.
func IfMatch(r *http.Request, required bool) (int64, error) {
	pre, err := ParseIfMatch(r)
	switch {
	case err != nil:
		return 0, err
	case !pre.Present && required:
		return 0, ErrPreconditionRequired
	case !pre.Present:
		return 0, nil
	case pre.Any:
		return AnyVersion, nil
	}
	// "0" never names a stored resource: it cannot match here.
	vs := slices.Compact(slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(pre.Versions), func(v int64) bool { return v < 1 }))))
	if len(vs) == 1 {
		return vs[0], nil
	}
	return NoVersion, nil
}

// VersionMatches reports whether an IfMatch value (not 0) holds for a
// resource stored at version stored (0: not stored).
func VersionMatches(ifMatch, stored int64) bool {
	if stored < 1 {
		return false
	}
	return ifMatch == AnyVersion || ifMatch == stored
}

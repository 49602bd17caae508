package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/httpapi"
)

// fuzzBody is shaped like the API's request bodies: strings, numbers,
// booleans, pointers (PATCH fields), nested objects and arrays.
type fuzzBody struct {
	Name        string            `json:"name"`
	Amount      float64           `json:"amount,omitempty"`
	Required    int               `json:"required,omitempty"`
	Admin       *bool             `json:"admin,omitempty"`
	Note        *string           `json:"note,omitempty"`
	Assignments []fuzzAssignment  `json:"assignments,omitempty"`
	Levels      *[]fuzzAssignment `json:"levels,omitempty"`
	Resource    *struct {
		Store string `json:"store,omitempty"`
	} `json:"resource,omitempty"`
	Tags []string `json:"tags,omitempty"`
}

type fuzzAssignment struct {
	Role  string `json:"role"`
	Scope string `json:"scope"`
}

// wantProblem checks err is a 4xx *httpapi.Error with a code.
func wantProblem(t *testing.T, err error, body []byte) {
	t.Helper()
	var e *httpapi.Error
	if !errors.As(err, &e) || httpapi.Status(e.Kind) < 400 || httpapi.Status(e.Kind) > 499 || e.Code == "" {
		t.Fatalf("DecodeBytes(%q): error %v is not a 4xx problem", body, err)
	}
}

// FuzzDecode feeds arbitrary bytes to the request-body decoder. It never
// panics; it either refuses the body with a 4xx problem, or returns a
// value that re-encodes to JSON which decodes again (strictly) to the same
// value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"Mia"}`,
		`{"name":"Mia","admin":true,"assignments":[{"role":"manager","scope":"store:s1"}]}`,
		`{"name":"x","amount":1e308,"required":3,"note":"hi\u0000"}`,
		`{"name":"x","levels":[],"resource":{"store":"s1"},"tags":["a","b"]}`,
		`{"name":null}`, `{"admin":null}`, `{"tags":[null]}`, `null`, `[]`, `{}`, ``, ` `,
		`{"name":"a"} {"name":"b"}`, `{"name":"a"}]`, `{"unknown":1}`, `{"name":1}`,
		`{"required":1.5}`, `{"required":99999999999999999999}`, "{\"name\":\"\xff\"}",
		`{"name":"a","name":"b"}`, `{"Name":"case"}`, `{"assignments":[{"role":"r","scope":"s","x":1}]}`,
		`{"name":"\ud800"}`, `{"amount":-0}`, `{"levels":null}`,
		`{"resource":{"store":"a","store":"b"}}`, `{"assignments":[{"role":"r","Role":"s"}]}`, `{"n\u0061me":"a","name":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v fuzzBody
		err := httpapi.DecodeBytes(body, &v)
		var anyV any
		errAny := httpapi.DecodeBytes(body, &anyV)
		// Keys: exact field names only, none twice in an object.
		checkStrictKeys(t, body, err, errAny)
		if err != nil {
			wantProblem(t, err, body)
		} else {
			raw, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("decoded %q into %+v, which does not encode: %v", body, v, err)
			}
			// The encoding is a fixed point: it decodes (strictly) to a
			// value that encodes the same. (An empty array and an absent
			// one differ in Go but not here: omitempty drops both.)
			var again fuzzBody
			if err := httpapi.DecodeBytes(raw, &again); err != nil {
				t.Fatalf("decoded %q, re-encoded as %s, which does not decode: %v", body, raw, err)
			}
			if raw2, err := json.Marshal(again); err != nil || !bytes.Equal(raw, raw2) {
				t.Fatalf("decoded %q, encoded as %s, decoded and encoded again as %s (%v)", body, raw, raw2, err)
			}
		}
		// Any JSON value: the same rules, and the result re-encodes.
		if err := errAny; err != nil {
			wantProblem(t, err, body)
		} else if _, err := json.Marshal(anyV); err != nil {
			t.Fatalf("decoded %q into %v, which does not encode: %v", body, anyV, err)
		}
		// Through a request: the same answer, whatever the content type.
		for _, ct := range []string{"application/json", "application/problem+json; charset=utf-8", "text/plain", "application/json; charset"} {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", ct)
			var w fuzzBody
			if err := httpapi.Decode(r, &w); err != nil {
				wantProblem(t, err, body)
			}
		}
	})
}

// FuzzIfMatch reads arbitrary If-Match headers by the one rule: no panic;
// the only errors are 400 (malformed) and 428 (required and absent); a
// header matches a version only if it is "*" or holds that version's ETag;
// IfMatch gives a version only when the header holds its ETag; and every
// ETag the server sends matches its own version, its weak form none.
func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{``, `"1"`, `"3"`, `W/"3"`, `"3", "4"`, `*`, `"0"`, `"-1"`, `"+7"`, `"007"`, `"9223372036854775808"`, `""`, `"`, `'3'`, ` "5" `,
		`,`, `"1","2"`, `"3" ,*`, `W/`, `"a b"`, `, "3",`, `"3" "4"`} {
		f.Add(s, int64(3))
	}
	f.Fuzz(func(t *testing.T, header string, version int64) {
		r := httptest.NewRequest("PATCH", "/", nil)
		r.Header["If-Match"] = []string{header}
		pre, perr := httpapi.ParseIfMatch(r)
		if perr != nil {
			var e *httpapi.Error
			if !errors.As(perr, &e) || httpapi.Status(e.Kind) != http.StatusBadRequest {
				t.Fatalf("ParseIfMatch(%q): %v", header, perr)
			}
		} else if pre.Matches(version) && pre.Present && !strings.Contains(header, "*") && !strings.Contains(header, httpapi.ETag(version)) {
			t.Fatalf("If-Match %q matches version %d", header, version)
		}
		for _, required := range []bool{false, true} {
			n, err := httpapi.IfMatch(r, required)
			switch {
			case err != nil:
				var e *httpapi.Error
				if !errors.As(err, &e) || (httpapi.Status(e.Kind) != http.StatusBadRequest && httpapi.Status(e.Kind) != http.StatusPreconditionRequired) {
					t.Fatalf("IfMatch(%q): %v", header, err)
				}
				if (httpapi.Status(e.Kind) == http.StatusBadRequest) != (perr != nil) {
					t.Fatalf("IfMatch(%q) = %v, ParseIfMatch %v", header, err, perr)
				}
			case n == 0 && pre.Present:
				t.Fatalf("IfMatch(%q) = 0", header)
			case n > 0 && !strings.Contains(header, httpapi.ETag(n)):
				t.Fatalf("IfMatch(%q) = %d", header, n)
			case n < 0 && n != httpapi.AnyVersion && n != httpapi.NoVersion:
				t.Fatalf("IfMatch(%q) = %d", header, n)
			}
		}
		if version >= 1 {
			r.Header.Set("If-Match", httpapi.ETag(version))
			if n, err := httpapi.IfMatch(r, true); err != nil || n != version || !httpapi.VersionMatches(n, version) {
				t.Fatalf("IfMatch(ETag(%d)) = %d, %v", version, n, err)
			}
			r.Header.Set("If-Match", "W/"+httpapi.ETag(version))
			if pre, err := httpapi.ParseIfMatch(r); err != nil || pre.Matches(version) {
				t.Fatalf("weak ETag of %d: %+v, %v", version, pre, err)
			}
		}
	})
}

// TestIfMatchRule pins the one If-Match rule of the API (RFC 9110): only a
// malformed header is a 400; a well-formed tag that does not match (an
// unknown version, a weak tag) is a miss (412 at the route); "*" matches
// any stored version.
func TestIfMatchRule(t *testing.T) {
	for _, c := range []struct {
		header  string
		bad     bool
		matches []int64 // of versions 1..5
		version int64   // IfMatch's answer
	}{
		{header: `"3"`, matches: []int64{3}, version: 3},
		{header: ` "3" `, matches: []int64{3}, version: 3},
		{header: `"0"`, version: httpapi.NoVersion},
		{header: `"abc"`, version: httpapi.NoVersion},
		{header: `"007"`, version: httpapi.NoVersion},
		{header: `"-1"`, version: httpapi.NoVersion},
		{header: `""`, version: httpapi.NoVersion},
		{header: `W/"3"`, version: httpapi.NoVersion},
		{header: `"3", "4"`, matches: []int64{3, 4}, version: httpapi.NoVersion},
		{header: `"3", W/"4", "x"`, matches: []int64{3}, version: 3},
		{header: `, "2",`, matches: []int64{2}, version: 2},
		{header: `*`, matches: []int64{1, 2, 3, 4, 5}, version: httpapi.AnyVersion},
		{header: `3`, bad: true},
		{header: `'3'`, bad: true},
		{header: `"3`, bad: true},
		{header: `"3" "4"`, bad: true},
		{header: `"a b"`, bad: true},
		{header: `*, "3"`, bad: true},
		{header: `W/3`, bad: true},
		{header: `,`, bad: true},
	} {
		r := httptest.NewRequest("PATCH", "/", nil)
		r.Header.Set("If-Match", c.header)
		pre, err := httpapi.ParseIfMatch(r)
		n, ierr := httpapi.IfMatch(r, true)
		if c.bad {
			if err == nil || ierr == nil || !errors.Is(err, httpapi.ErrBadIfMatch) {
				t.Errorf("If-Match %s: %v, %v; want 400", c.header, err, ierr)
			}
			continue
		}
		if err != nil || ierr != nil {
			t.Errorf("If-Match %s: %v, %v", c.header, err, ierr)
			continue
		}
		var got []int64
		for v := int64(1); v <= 5; v++ {
			if pre.Matches(v) {
				got = append(got, v)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.matches) || n != c.version {
			t.Errorf("If-Match %s matches %v (IfMatch %d), want %v (%d)", c.header, got, n, c.matches, c.version)
		}
		if n == httpapi.AnyVersion && httpapi.VersionMatches(n, 0) {
			t.Errorf("If-Match %s matches a missing resource", c.header)
		}
	}
	// "0" is the ETag of a collection with nothing stored (the custom
	// roles of an account that has none), never of a stored resource.
	r := httptest.NewRequest("PATCH", "/", nil)
	r.Header.Set("If-Match", `"0"`)
	if pre, err := httpapi.ParseIfMatch(r); err != nil || !pre.Matches(0) || pre.Matches(1) {
		t.Errorf(`If-Match "0": %+v, %v`, pre, err)
	}
	if n, _ := httpapi.IfMatch(r, true); httpapi.VersionMatches(n, 1) || httpapi.VersionMatches(n, 0) {
		t.Errorf(`IfMatch "0" = %d matches a resource`, n)
	}
	r = httptest.NewRequest("PATCH", "/", nil)
	if _, err := httpapi.IfMatch(r, true); !errors.Is(err, httpapi.ErrPreconditionRequired) {
		t.Errorf("no If-Match, required: %v", err)
	}
	if pre, err := httpapi.ParseIfMatch(r); err != nil || pre.Present || !pre.Matches(4) {
		t.Errorf("no If-Match: %+v, %v", pre, err)
	}
}

// FuzzParseLimit reads arbitrary limit query values: no panic; accepted
// values are within 1..MaxLimit, refused ones a 400 naming limit.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"", "1", "50", "0", "-1", "1e2", "100000000000000000000", "+5", " 5", "0x10", "５"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/?limit="+url.QueryEscape(v), nil)
		n, err := httpapi.ParseLimit(r)
		if err != nil {
			var e *httpapi.Error
			if !errors.As(err, &e) || httpapi.Status(e.Kind) != http.StatusBadRequest || len(e.Fields) != 1 || e.Fields[0].Field != "limit" {
				t.Fatalf("ParseLimit(%q): %v", v, err)
			}
			return
		}
		if v == "" && n != 0 || v != "" && (n < 1 || n > httpapi.MaxLimit) {
			t.Fatalf("ParseLimit(%q) = %d", v, n)
		}
	})
}

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stewardhq/steward/pkg/httpapi"
)

type strictInner struct {
	Role  string `json:"role"`
	Scope string `json:"scope,omitempty"`
}

type StrictEmbedded struct {
	Store string `json:"store"`
	Level int    // no tag: the Go name
}

type strictBody struct {
	StrictEmbedded
	Name   string `json:"name"`
	Admin  *bool  `json:"admin,omitempty"`
	Count  int    `json:"count,omitempty"`
	Hidden string `json:"-"`
	//lint:ignore SA5008 a field named "-": the key check must treat this tag as encoding/json does
	Dash   string                 `json:"-,"`
	Plain  string                 // no tag: the Go name
	Inner  *strictInner           `json:"inner,omitempty"`
	List   []strictInner          `json:"list,omitempty"`
	Labels map[string]string      `json:"labels,omitempty"`
	ByKey  map[string]strictInner `json:"byKey,omitempty"`
	Free   any                    `json:"free,omitempty"`
	//lint:ignore U1000 an unexported field the key check must skip, as encoding/json does
	unexport string
}

func TestDecodeKeysExactAndUnique(t *testing.T) {
	tests := []struct {
		name, body  string
		code, field string // "" = accepted
	}{
		// Exact names are accepted, in every position.
		{"exact", `{"name":"a","admin":true,"inner":{"role":"r","scope":"s"},"list":[{"role":"r"},{"role":"r2"}]}`, "", ""},
		{"embedded and untagged", `{"store":"s1","Level":2,"Plain":"p","-":"dash"}`, "", ""},
		{"map keys are free", `{"labels":{"Name":"x","name":"y","NAME":"z"},"byKey":{"Role":{"role":"r"}}}`, "", ""},
		{"free-form keys", `{"free":{"Name":1,"name":2,"x":[{"A":1,"a":2}]}}`, "", ""},
		{"same key in sibling objects", `{"list":[{"role":"a"},{"role":"b"}],"inner":{"role":"c"}}`, "", ""},
		{"escaped exact key", `{"n\u0061me":"a"}`, "", ""},

		// Keys that match a field only case-insensitively are unknown.
		{"case top", `{"Name":"a"}`, "unknown_field", "Name"},
		{"case top upper", `{"ADMIN":true}`, "unknown_field", "ADMIN"},
		{"case after exact", `{"name":"a","Admin":true}`, "unknown_field", "Admin"},
		{"case nested", `{"inner":{"Role":"r"}}`, "unknown_field", "Role"},
		{"case in array", `{"list":[{"role":"r"},{"rOLE":"r"}]}`, "unknown_field", "rOLE"},
		{"case in map value", `{"byKey":{"k":{"Scope":"s"}}}`, "unknown_field", "Scope"},
		{"case embedded", `{"Store":"s1"}`, "unknown_field", "Store"},
		{"case untagged", `{"plain":"p"}`, "unknown_field", "plain"},
		{"case untagged embedded", `{"level":1}`, "unknown_field", "level"},
		{"kelvin fold", "{\"by\u212aey\":{}}", "unknown_field", "by\u212aey"}, // K (Kelvin sign) folds to k
		{"long s fold", "{\"name\":\"a\",\"inner\":{\"\u017fcope\":\"x\"}}", "unknown_field", "\u017fcope"},
		{"case with wrong type", `{"Count":"x"}`, "unknown_field", "Count"},
		{"case with null", `{"Admin":null}`, "unknown_field", "Admin"},
		{"hidden field", `{"Hidden":"x"}`, "unknown_field", "Hidden"},
		{"unexported field", `{"unexport":"x"}`, "unknown_field", "unexport"},

		// A key twice in one object is refused, wherever the object is.
		{"dup top", `{"admin":false,"admin":true}`, "duplicate_field", "admin"},
		{"dup top same value", `{"name":"a","name":"a"}`, "duplicate_field", "name"},
		{"dup escaped", `{"name":"a","n\u0061me":"b"}`, "duplicate_field", "name"},
		{"dup nested", `{"inner":{"role":"a","scope":"s","role":"b"}}`, "duplicate_field", "inner.role"},
		{"dup in array", `{"list":[{"role":"a"},{"role":"a","role":"b"}]}`, "duplicate_field", "list.1.role"},
		{"dup map key", `{"labels":{"k":"a","k":"b"}}`, "duplicate_field", "labels.k"},
		{"dup in map value", `{"byKey":{"k":{"role":"a","role":"b"}}}`, "duplicate_field", "byKey.k.role"},
		{"dup free-form", `{"free":[1,{"x":{"y":1,"y":2}}]}`, "duplicate_field", "free.1.x.y"},
		{"dup object value", `{"inner":{"role":"a"},"inner":{"scope":"b"}}`, "duplicate_field", "inner"},
		{"dup with wrong type", `{"count":1,"count":"x"}`, "duplicate_field", "count"},
		{"dup many keys", `{"labels":{` + manyKeys(40) + `,"k07":"again"}}`, "duplicate_field", "labels.k07"},
		{"many distinct keys", `{"labels":{` + manyKeys(40) + `}}`, "", ""},

		// The first problem in the document wins.
		{"case before dup", `{"Name":"a","admin":true,"admin":false}`, "unknown_field", "Name"},
		{"dup before case", `{"admin":true,"admin":false,"Name":"a"}`, "duplicate_field", "admin"},

		// Unchanged: syntax errors and the other codes.
		{"dup then truncated", `{"name":"a","name":"b"`, "invalid_json", ""},
		{"dup then trailing", `{"name":"a"} {"name":"b","name":"c"}`, "invalid_json", ""},
		{"unknown", `{"bogus":1}`, "unknown_field", "bogus"},
		{"unknown nested", `{"inner":{"colour":"red"}}`, "unknown_field", "colour"},
		{"wrong type", `{"count":"x"}`, "invalid_field", "count"},
		{"null", `{"inner":{"role":null}}`, "invalid_field", "inner.role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v strictBody
			err := httpapi.DecodeBytes([]byte(tc.body), &v)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("DecodeBytes(%s) = %v, want nil", tc.body, err)
				}
				return
			}
			var e *httpapi.Error
			if !errors.As(err, &e) || httpapi.Status(e.Kind) != 400 || e.Code != tc.code {
				t.Fatalf("DecodeBytes(%s) = %v, want 400 %s", tc.body, err, tc.code)
			}
			if tc.field != "" && (len(e.Fields) != 1 || e.Fields[0].Field != tc.field) {
				t.Fatalf("DecodeBytes(%s) fields = %+v, want %q", tc.body, e.Fields, tc.field)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('0'+i/10)) + string(rune('0'+i%10)) + `":"v"`)
	}
	return b.String()
}

// Duplicates are refused whatever the destination, including any.
func TestDecodeDuplicateIntoAny(t *testing.T) {
	for _, body := range []string{`{"a":1,"a":2}`, `[{"a":{"b":1,"c":2,"b":3}}]`, `{"\ud800":1,"\udfff":2}`} {
		var v any
		err := httpapi.DecodeBytes([]byte(body), &v)
		var e *httpapi.Error
		if !errors.As(err, &e) || e.Code != "duplicate_field" {
			t.Errorf("DecodeBytes(%s) into any = %v, want duplicate_field", body, err)
		}
	}
	var v any
	if err := httpapi.DecodeBytes([]byte(`{"a":1,"A":2,"b":{"a":1},"c":[{"a":1},{"a":2}]}`), &v); err != nil {
		t.Errorf("distinct keys into any: %v", err)
	}
}

// Ambiguous embedded names are unknown to encoding/json; they stay so.
func TestDecodeAmbiguousEmbedded(t *testing.T) {
	type A struct{ X string }
	type B struct{ X string }
	type C struct {
		A
		B
		Y string `json:"y"`
	}
	for body, code := range map[string]string{`{"y":"1"}`: "", `{"x":"1"}`: "unknown_field", `{"X":"1"}`: "unknown_field", `{"Y":"1"}`: "unknown_field"} {
		var v C
		err := httpapi.DecodeBytes([]byte(body), &v)
		var e *httpapi.Error
		if code == "" && err != nil || code != "" && (!errors.As(err, &e) || e.Code != code) {
			t.Errorf("DecodeBytes(%s) = %v, want %q", body, err, code)
		}
	}
}

// scanKeys is a reference for the fuzz test: encoding/json's tokens of
// body (one value), every object key, whether an object repeats a key and
// whether there is a null. ok is false if body is not one JSON value.
func scanKeys(body []byte) (keys []string, dup, null, ok bool) {
	if !json.Valid(body) {
		return nil, false, false, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []map[string]bool // nil for an array
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return keys, dup, null, true
		}
		if err != nil {
			return nil, false, false, false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, map[string]bool{})
			expectKey = true
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			expectKey = false
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if expectKey {
				key := tok.(string)
				keys = append(keys, key)
				if stack[len(stack)-1][key] {
					dup = true
				}
				stack[len(stack)-1][key] = true
				expectKey = false
				continue
			}
			if tok == nil {
				null = true
			}
		}
		expectKey = len(stack) > 0 && stack[len(stack)-1] != nil
	}
}

// fuzzNames are the JSON names of fuzzBody and the types in it.
var fuzzNames = map[string]bool{"name": true, "amount": true, "required": true, "admin": true, "note": true,
	"assignments": true, "levels": true, "resource": true, "store": true, "tags": true, "role": true, "scope": true}

// checkStrictKeys is FuzzDecode's invariant for keys: a body accepted
// into fuzzBody uses exact field names only, each once per object; into
// any, a body is refused if it repeats a key and accepted if it is one
// JSON value without nulls or repeated keys.
func checkStrictKeys(t *testing.T, body []byte, errBody, errAny error) {
	t.Helper()
	keys, dup, null, ok := scanKeys(body)
	if errBody == nil {
		if dup {
			t.Fatalf("DecodeBytes(%q) accepted a repeated key", body)
		}
		for _, k := range keys {
			if !fuzzNames[k] {
				t.Fatalf("DecodeBytes(%q) accepted key %q", body, k)
			}
		}
	}
	if dup && errAny == nil {
		t.Fatalf("DecodeBytes(%q) into any accepted a repeated key", body)
	}
	if ok && !dup && !null && errAny != nil && utf8.Valid(body) {
		t.Fatalf("DecodeBytes(%q) into any: %v", body, errAny)
	}
}

// benchBody is a typical write request (a member with assignments).
const benchBody = `{"name":"Mia Jones","admin":false,"note":"Started on Monday","assignments":[{"role":"manager","scope":"store:s1"},{"role":"clerk","scope":"department:d2"}],"resource":{"store":"s1"},"tags":["a","b"]}`

func BenchmarkDecodeBytes(b *testing.B) {
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		var v fuzzBody
		if err := httpapi.DecodeBytes(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/members", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var v fuzzBody
		if err := httpapi.Decode(r, &v); err != nil {
			b.Fatal(err)
		}
	}
}

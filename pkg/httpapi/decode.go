package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/stewardhq/steward/pkg/fault"
)

// MaxBodyBytes is the largest request body any route accepts.
const MaxBodyBytes = 1 << 20

// Decode reads the JSON request body into v. It rejects a body that is not
// JSON, is larger than MaxBodyBytes, is not valid UTF-8, has unknown,
// miscased or duplicate keys, nulls or trailing data, and answers each with
// a 4xx *Error naming the problem.
func Decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return ErrUnsupportedMedia
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return ErrBodyTooLarge
		}
		return fault.New(fault.Invalid, "bad_body", "The request body could not be read.")
	}
	return DecodeBytes(body, v)
}

// DecodeBytes decodes a JSON document strictly into v (see Decode). Keys
// are matched exactly: a key that names a field of v only when compared
// case-insensitively is an unknown field, and no object (at any depth, in
// maps and free-form values too) may have the same key twice.
func DecodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fault.New(fault.Invalid, "empty_body", "A JSON request body is required.")
	}
	if !utf8.Valid(body) {
		return fault.New(fault.Invalid, "invalid_json", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return jsonError(err)
		}
		// The value is well-formed but does not fit v: a duplicate or
		// miscased key is the better answer (it may be the cause).
		if e := checkKeys(body[:dec.InputOffset()], v, false); e != nil {
			return e
		}
		return jsonError(err)
	}
	end := dec.InputOffset()
	if dec.More() {
		return fault.New(fault.Invalid, "invalid_json", "The request body has data after the JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fault.New(fault.Invalid, "invalid_json", "The request body has data after the JSON value.")
	}
	// encoding/json lets the last of duplicate keys win and matches keys
	// to fields case-insensitively; another reader of the same body (a
	// proxy, an audit log) may not, so both are refused.
	if e := checkKeys(body[:end], v, true); e != nil {
		return e
	}
	// No request field is nullable (the OpenAPI document says so): a null
	// would decode as "absent" and silently change a PATCH or a default.
	if field := nullField(body); field != "" {
		return InvalidField(field, "must not be null; leave the field out instead")
	}
	return nil
}

// nullField returns the path (a.b.0.c) of the first null in a valid JSON
// document, or "".
func nullField(body []byte) string {
	if !bytes.Contains(body, []byte("null")) {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object bool
		key    string
		index  int
	}
	var stack []frame
	path := func() string {
		parts := make([]string, 0, len(stack))
		for _, f := range stack {
			if f.object {
				parts = append(parts, f.key)
			} else {
				parts = append(parts, fmt.Sprint(f.index-1))
			}
		}
		if len(parts) == 0 {
			return "(body)"
		}
		return strings.Join(parts, ".")
	}
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top >= 0 && !stack[top].object {
					stack[top].index++
				}
				stack = append(stack, frame{object: d == '{'})
				expectKey = d == '{'
			case '}', ']':
				stack = stack[:top]
				expectKey = len(stack) > 0 && stack[len(stack)-1].object
			}
			continue
		}
		if top >= 0 && stack[top].object && expectKey {
			stack[top].key, _ = tok.(string)
			expectKey = false
			continue
		}
		if top >= 0 && !stack[top].object {
			stack[top].index++
		}
		if tok == nil {
			return path()
		}
		expectKey = top >= 0 && stack[top].object
	}
}

func jsonError(err error) *Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fault.New(fault.Invalid, "invalid_json", fmt.Sprintf("The request body is not valid JSON (at byte %d).", syntax.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		e := fault.New(fault.Invalid, "invalid_field", fmt.Sprintf("Field %q must be %s.", field, jsonKind(typ.Type.Kind().String())))
		e.Fields = []FieldError{{Field: field, Detail: "must be " + jsonKind(typ.Type.Kind().String())}}
		return e
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fault.New(fault.Invalid, "invalid_json", "The request body is truncated JSON.")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return unknownField(strings.Trim(name, `"`))
	}
	return fault.New(fault.Invalid, "invalid_json", "The request body is not valid JSON for this route.")
}

// unknownField is the problem for a key that names no field. Like
// encoding/json's error it names the key alone, not its path.
func unknownField(name string) *Error {
	e := fault.New(fault.Invalid, "unknown_field", fmt.Sprintf("Field %q is not known.", name))
	e.Fields = []FieldError{{Field: name, Detail: "unknown field"}}
	return e
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer in range"
	case "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "of another type"
}

// A shape is what checkKeys needs of a Go type: for a struct, its JSON
// field names (exact) and their shapes; for a map, slice or array, the
// shape of its values. A nil *shape is free-form (interfaces, scalars,
// types with their own UnmarshalJSON or UnmarshalText): its objects'
// keys are only checked for duplicates.
type shape struct {
	fields map[string]*shape // non-nil for a struct
	names  []string          // the keys of fields
	elem   *shape            // map values, slice and array elements
}

var (
	shapes          sync.Map // reflect.Type → *shape
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := buildShape(t, map[reflect.Type]*shape{})
	shapes.Store(t, s)
	return s
}

func buildShape(t reflect.Type, memo map[reflect.Type]*shape) *shape {
	for {
		if t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			break
		}
		t = t.Elem()
	}
	if pt := reflect.PointerTo(t); pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		return nil
	}
	if s, ok := memo[t]; ok {
		return s
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &shape{fields: map[string]*shape{}}
		memo[t] = s
		for _, f := range jsonFields(t) {
			s.fields[f.name] = buildShape(f.typ, memo)
			s.names = append(s.names, f.name)
		}
		return s
	case reflect.Map, reflect.Slice, reflect.Array:
		s := &shape{}
		memo[t] = s
		s.elem = buildShape(t.Elem(), memo)
		return s
	}
	return nil
}

type jsonField struct {
	name   string
	typ    reflect.Type
	depth  int
	tagged bool
}

// jsonFields lists the JSON names encoding/json decodes into struct type
// t, with the same rules (its typeFields): json tags, "-", untagged fields
// by Go name, fields of embedded structs promoted, and of several fields
// with one name the shallowest (then the tagged) one, or none if that is
// ambiguous.
func jsonFields(t reflect.Type) []jsonField {
	var all []jsonField
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for depth, current, next := 0, []reflect.Type(nil), []reflect.Type{t}; len(next) > 0; depth++ {
		current, next = next, nil
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, st := range current {
			if visited[st] {
				continue
			}
			visited[st] = true
			for i := range st.NumField() {
				sf := st.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := jsonField{name: name, typ: sf.Type, depth: depth, tagged: name != ""}
					if name == "" {
						f.name = sf.Name
					}
					all = append(all, f)
					if count[st] > 1 {
						// st is embedded twice at this depth: every
						// name in it is ambiguous.
						all = append(all, f)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, ft)
				}
			}
		}
	}
	var out []jsonField
	for i, f := range all {
		best, ambiguous, first := f, false, true
		for j, g := range all {
			if g.name != f.name {
				continue
			}
			if j < i {
				first = false
				break
			}
			switch {
			case j == i:
			case g.depth < best.depth || g.depth == best.depth && g.tagged && !best.tagged:
				best, ambiguous = g, false
			case g.depth == best.depth && g.tagged == best.tagged:
				ambiguous = true
			}
		}
		if first && !ambiguous {
			out = append(out, best)
		}
	}
	return out
}

// validTagName is encoding/json's isValidTag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// checkKeys walks one well-formed JSON value (encoding/json has parsed
// it) alongside the type of v, and refuses the first of: a key that
// repeats an earlier key of its object (duplicate_field, with its path
// a.b.0.c as for nulls), and a key of a struct's object that is not
// exactly a field name but matches one case-insensitively (unknown_field
// naming the key, as encoding/json does for a key that matches nothing).
// decoded says encoding/json accepted the value: then every inexact key
// of a struct's object was matched by case, and is refused without asking.
func checkKeys(value []byte, v any, decoded bool) *Error {
	var sh *shape
	if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer {
		sh = shapeOf(t.Elem())
	}
	k := keyChecker{data: value, decoded: decoded}
	p := k.value(sh)
	if p == nil {
		return nil
	}
	if p.err != nil {
		return p.err
	}
	slices.Reverse(p.path)
	field := strings.Join(p.path, ".")
	e := fault.New(fault.Invalid, "duplicate_field", fmt.Sprintf("Field %q appears more than once.", field))
	e.Fields = []FieldError{{Field: field, Detail: "appears more than once"}}
	return e
}

type keyChecker struct {
	data    []byte
	i       int
	decoded bool
}

// A keyProblem is an error, or a duplicate key with its path (innermost
// first: each object and array adds its step as the problem goes up).
type keyProblem struct {
	err  *Error
	path []string
}

var errMalformed = &keyProblem{err: fault.New(fault.Invalid, "invalid_json", "The request body is not valid JSON.")}

func (k *keyChecker) value(sh *shape) *keyProblem {
	k.space()
	if k.i >= len(k.data) {
		return errMalformed
	}
	switch k.data[k.i] {
	case '{':
		return k.object(sh)
	case '[':
		if sh != nil && sh.fields == nil {
			return k.array(sh.elem)
		}
		return k.array(nil)
	case '"':
		if _, _, ok := k.string(); !ok {
			return errMalformed
		}
		return nil
	}
	start := k.i // a number, true, false or null
	for k.i < len(k.data) {
		switch k.data[k.i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			if k.i == start {
				return errMalformed
			}
			return nil
		}
		k.i++
	}
	return nil
}

func (k *keyChecker) object(sh *shape) *keyProblem {
	k.i++ // {
	k.space()
	if k.i < len(k.data) && k.data[k.i] == '}' {
		k.i++
		return nil
	}
	var seenBuf [16][]byte
	seen := seenBuf[:0]
	var seenSet map[string]bool
	for {
		k.space()
		raw, escaped, ok := k.string()
		if !ok {
			return errMalformed
		}
		key := raw[1 : len(raw)-1]
		if escaped {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return errMalformed
			}
			key = []byte(s)
		}
		if seenSet != nil {
			if seenSet[string(key)] {
				return &keyProblem{path: []string{string(key)}}
			}
			seenSet[string(key)] = true
		} else {
			for _, s := range seen {
				if bytes.Equal(s, key) {
					return &keyProblem{path: []string{string(key)}}
				}
			}
			if seen = append(seen, key); len(seen) == len(seenBuf) {
				seenSet = make(map[string]bool, 2*len(seen))
				for _, s := range seen {
					seenSet[string(s)] = true
				}
			}
		}
		var child *shape
		if sh != nil {
			if sh.fields == nil {
				child = sh.elem
			} else if f, ok := sh.fields[string(key)]; ok {
				child = f
			} else if k.decoded || sh.matchesFolded(key) {
				return &keyProblem{err: unknownField(string(key))}
			}
		}
		k.space()
		if k.i >= len(k.data) || k.data[k.i] != ':' {
			return errMalformed
		}
		k.i++
		if p := k.value(child); p != nil {
			if p.err == nil {
				p.path = append(p.path, string(key))
			}
			return p
		}
		k.space()
		if k.i < len(k.data) && k.data[k.i] == ',' {
			k.i++
			continue
		}
		if k.i < len(k.data) && k.data[k.i] == '}' {
			k.i++
			return nil
		}
		return errMalformed
	}
}

func (k *keyChecker) array(elem *shape) *keyProblem {
	k.i++ // [
	k.space()
	if k.i < len(k.data) && k.data[k.i] == ']' {
		k.i++
		return nil
	}
	for index := 0; ; index++ {
		if p := k.value(elem); p != nil {
			if p.err == nil {
				p.path = append(p.path, strconv.Itoa(index))
			}
			return p
		}
		k.space()
		if k.i < len(k.data) && k.data[k.i] == ',' {
			k.i++
			continue
		}
		if k.i < len(k.data) && k.data[k.i] == ']' {
			k.i++
			return nil
		}
		return errMalformed
	}
}

// string consumes a JSON string and returns it with its quotes, and
// whether it has escapes.
func (k *keyChecker) string() (raw []byte, escaped, ok bool) {
	if k.i >= len(k.data) || k.data[k.i] != '"' {
		return nil, false, false
	}
	start := k.i
	for k.i++; k.i < len(k.data); k.i++ {
		switch k.data[k.i] {
		case '\\':
			escaped = true
			k.i++
		case '"':
			k.i++
			return k.data[start:k.i], escaped, true
		}
	}
	return nil, false, false
}

func (k *keyChecker) space() {
	for k.i < len(k.data) {
		switch k.data[k.i] {
		case ' ', '\t', '\r', '\n':
			k.i++
		default:
			return
		}
	}
}

// matchesFolded says key names one of the struct's fields when compared
// as encoding/json does when no name is exact (bytes.EqualFold).
func (s *shape) matchesFolded(key []byte) bool {
	for _, name := range s.names {
		if bytes.EqualFold(key, []byte(name)) {
			return true
		}
	}
	return false
}

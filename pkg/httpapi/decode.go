package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes is the largest request body any route accepts.
const MaxBodyBytes = 1 << 20

// Decode reads the JSON request body into v. It rejects a body that is not
// JSON, is larger than MaxBodyBytes, is not valid UTF-8, has unknown fields
// or trailing data, and answers each with a 4xx *Error naming the problem.
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
		return Errorf(http.StatusBadRequest, "bad_body", "The request body could not be read.")
	}
	return DecodeBytes(body, v)
}

// DecodeBytes decodes a JSON document strictly into v (see Decode).
func DecodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(http.StatusBadRequest, "empty_body", "A JSON request body is required.")
	}
	if !utf8.Valid(body) {
		return Errorf(http.StatusBadRequest, "invalid_json", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "invalid_json", "The request body has data after the JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(http.StatusBadRequest, "invalid_json", "The request body has data after the JSON value.")
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
		return Errorf(http.StatusBadRequest, "invalid_json", fmt.Sprintf("The request body is not valid JSON (at byte %d).", syntax.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		e := Errorf(http.StatusBadRequest, "invalid_field", fmt.Sprintf("Field %q must be %s.", field, jsonKind(typ.Type.Kind().String())))
		e.Fields = []FieldError{{Field: field, Detail: "must be " + jsonKind(typ.Type.Kind().String())}}
		return e
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, "invalid_json", "The request body is truncated JSON.")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		e := Errorf(http.StatusBadRequest, "unknown_field", fmt.Sprintf("Field %q is not known.", name))
		e.Fields = []FieldError{{Field: name, Detail: "unknown field"}}
		return e
	}
	return Errorf(http.StatusBadRequest, "invalid_json", "The request body is not valid JSON for this route.")
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

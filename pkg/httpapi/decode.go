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
	return nil
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

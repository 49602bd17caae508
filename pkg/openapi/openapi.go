// Package openapi holds Steward's OpenAPI document and serves it at
// GET /v1/openapi.json.
//
// The document (openapi.json, embedded) is OpenAPI 3.1.0: kin-openapi
// v0.153 loads and validates 3.1 documents and checks 3.1 schemas with a
// JSON Schema 2020-12 validator, so nothing is lost by not using 3.0.
//
// Its paths are exactly the routes of routes.Table, each under its path and
// method with operationId equal to the route's Operation; public routes say
// `security: []`, every other one inherits the document's bearer scheme.
// The package tests enforce this both ways, so adding a route means adding
// its operation here, and the reverse. Components (the Problem body, the
// bearer scheme, the cursor/limit/If-Match/Idempotency-Key parameters and
// the shared vocabulary: Scope, Assignment, MemberStatus, DocumentType,
// DocumentStatus, CheckRequest, CheckResponse, ...) may run ahead of the
// routes that will use them.
//
// This package links no OpenAPI implementation (only the standard library
// and httpapi): kin-openapi would add some 6.6 MB to every Lambda binary
// that serves the document.
// Checking requests and responses against the document lives in the
// subpackage openapitest.
package openapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/stewardhq/steward/pkg/httpapi"
)

//go:embed openapi.json
var document []byte

// servedDoc returns the document as answered (compacted JSON) and its
// strong entity tag, computed on first use: compacting and hashing the
// document at package init would cost every cold start, even of the
// functions that never serve it.
var servedDoc = sync.OnceValues(func() ([]byte, string) {
	var b bytes.Buffer
	if err := json.Compact(&b, document); err != nil {
		panic("openapi: embedded openapi.json is not JSON: " + err.Error())
	}
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), `"` + hex.EncodeToString(sum[:16]) + `"`
})

// CacheControl is the Cache-Control header of the document's 200 answer.
// The document changes only with a deployment, and clients revalidate
// with the ETag after five minutes.
const CacheControl = "public, max-age=300"

// Spec returns the OpenAPI document as compact JSON (a copy: callers may
// modify it).
func Spec() []byte {
	served, _ := servedDoc()
	return bytes.Clone(served)
}

// ETag returns the strong entity tag of the document, quoted.
func ETag() string {
	_, etag := servedDoc()
	return etag
}

// Handler serves the document for GET (and HEAD) /v1/openapi.json, with
// Cache-Control and a strong ETag; an If-None-Match naming the current
// ETag (or "*") answers 304 without a body. Other methods answer a 405
// problem. The route table decides the path; Handler ignores it.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpapi.WriteError(w, r, httpapi.ErrMethodNotAllowed)
			return
		}
		served, etag := servedDoc()
		h := w.Header()
		h.Set("ETag", etag)
		h.Set("Cache-Control", CacheControl)
		if noneMatch(r.Header.Values("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(served)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(served)
		}
	})
}

// Get is Handler as an httpapi.HandlerFunc, for the server's table of
// operations ("getOpenAPI"). It never fails.
func Get(w http.ResponseWriter, r *http.Request) error {
	handler.ServeHTTP(w, r)
	return nil
}

var handler = Handler()

// noneMatch reports whether an If-None-Match header (possibly several,
// each a comma-separated list) names tag or is "*". Comparison is weak
// (RFC 9110, 13.1.2): a W/ prefix is ignored.
func noneMatch(values []string, tag string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == tag {
				return true
			}
		}
	}
	return false
}

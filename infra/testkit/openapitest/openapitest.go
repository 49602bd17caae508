// Package openapitest checks HTTP traffic against Steward's OpenAPI
// document (package openapi), for API tests.
//
// Wrap the handler under test, and every response it gives is checked:
//
//	v := openapitest.Must(t)
//	srv := httptest.NewServer(v.Middleware(t, handler))
//	t.Cleanup(srv.Close)
//
// or check a client's traffic against any server:
//
//	client := &http.Client{Transport: v.Transport(t, nil)}
//
// A response passes when its operation is documented, its status is one the
// operation documents, its Content-Type is one that status documents (or it
// has no body when the status documents none) and its body and documented
// headers match their schemas. A problem body must repeat the HTTP status.
// A request no documented operation matches must be answered by a 404 (or,
// when only the method is wrong, 405) problem. Request checks
// (CheckRequest) are separate, because tests send invalid requests on
// purpose.
//
// The package is built on kin-openapi (openapi3, openapi3filter and the
// gorillamux router, which matches templated paths such as
// /v1/users/{id}). It is meant for tests and tools; production code serves
// the document with openapi.Handler and does not import this package.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/stewardhq/steward/pkg/openapi"
)

const problemType = "application/problem+json"

// Validator checks requests and responses against one OpenAPI document. It
// is safe for concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// shared is the Validator of Steward's document, built once per process.
var shared = sync.OnceValues(func() (*Validator, error) { return newValidator(openapi.Spec()) })

// New returns the Validator of Steward's document (package openapi). It is
// built once, on the first call, and shared.
func New() (*Validator, error) { return shared() }

// Must is New for tests: it stops the test when the document does not load.
func Must(t testing.TB) *Validator {
	t.Helper()
	v, err := New()
	if err != nil {
		t.Fatalf("openapitest: %v", err)
	}
	return v
}

// newValidator loads, validates and routes an OpenAPI document.
func newValidator(spec []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route OpenAPI document: %w", err)
	}
	return &Validator{doc: doc, router: router}, nil
}

// Document returns the loaded document. Callers must not modify it.
func (v *Validator) Document() *openapi3.T { return v.doc }

// Check reports whether a response (status, header, body) to req is one
// the document allows; see the package comment for the rules. Only req's
// method and URL are used, so req may be the server's or the client's copy,
// its body consumed. Answers to HEAD are checked as GET's, without a body.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.Path, status)
	find := req
	if req.Method == http.MethodHead {
		find = req.Clone(req.Context())
		find.Method = http.MethodGet
	}
	route, params, err := v.router.FindRoute(find)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return v.checkUnrouted(where, http.StatusNotFound, status, header, body)
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return v.checkUnrouted(where, http.StatusMethodNotAllowed, status, header, body)
	case err != nil:
		return fmt.Errorf("%s: %w", where, err)
	}
	resp := route.Operation.Responses.Status(status)
	if resp == nil {
		resp = route.Operation.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("%s: status %d is not documented for operation %s", where, status, route.Operation.OperationID)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	if len(resp.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("%s: operation %s documents no body for status %d, got %d bytes", where, route.Operation.OperationID, status, len(body))
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: options(&openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		}),
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s: operation %s: %w", where, route.Operation.OperationID, err)
	}
	if isProblem(header) {
		return checkProblemStatus(where, status, body)
	}
	return nil
}

// checkUnrouted checks the answer to a request that no documented
// operation matches: it must be a want-status problem.
func (v *Validator) checkUnrouted(where string, want, status int, header http.Header, body []byte) error {
	if status != want {
		return fmt.Errorf("%s: no documented operation matches; want a %d problem", where, want)
	}
	if !isProblem(header) {
		return fmt.Errorf("%s: Content-Type %q, want %s", where, header.Get("Content-Type"), problemType)
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("%s: problem body is not JSON: %w", where, err)
	}
	schema := v.doc.Components.Schemas["Problem"]
	if schema == nil || schema.Value == nil {
		return fmt.Errorf("%s: the document has no Problem schema", where)
	}
	opts := append(v.doc.GetSchemaValidationOptions(), openapi3.VisitAsResponse(), openapi3.MultiErrors(),
		openapi3.SetSchemaErrorMessageCustomizer(schemaMessage))
	if v.doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	if err := schema.Value.VisitJSON(value, opts...); err != nil {
		return fmt.Errorf("%s: body does not match Problem: %w", where, err)
	}
	return checkProblemStatus(where, status, body)
}

// CheckRequest reports whether req matches its documented operation: path,
// query and header parameters, the request body (restored afterwards, so
// req can still be sent) and, for authenticated operations, the presence
// of an `Authorization: Bearer` token (its validity is the server's
// business). Defaults are not filled in: req is not changed.
func (v *Validator) CheckRequest(req *http.Request) error {
	where := req.Method + " " + req.URL.Path
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: options(&openapi3filter.Options{
			AuthenticationFunc:                bearerPresent,
			MultiError:                        true,
			SkipSettingDefaults:               true,
			RejectWhenRequestBodyNotSpecified: true,
		}),
	}
	if err := openapi3filter.ValidateRequest(req.Context(), input); err != nil {
		return fmt.Errorf("%s: operation %s: %w", where, route.Operation.OperationID, err)
	}
	return nil
}

// options sets the short schema error messages on o.
func options(o *openapi3filter.Options) *openapi3filter.Options {
	o.WithCustomSchemaErrorFunc(schemaMessage)
	return o
}

// schemaMessage shortens schema errors to where and why: kin-openapi's
// default message dumps the whole schema and value, which buries the
// reason in a test log.
func schemaMessage(e *openapi3.SchemaError) string {
	if e.Origin != nil {
		return "" // the default: the causes, each shortened
	}
	if p := e.JSONPointer(); len(p) > 0 && !strings.HasPrefix(e.Reason, "error at") {
		return fmt.Sprintf("at %q: %s", "/"+strings.Join(p, "/"), e.Reason)
	}
	return e.Reason
}

// bearerPresent passes an http bearer scheme when the request carries a
// non-empty bearer token.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	ss := in.SecurityScheme
	if ss == nil || ss.Type != "http" || !strings.EqualFold(ss.Scheme, "bearer") {
		return in.NewError(fmt.Errorf("security scheme %q is not supported by openapitest", in.SecuritySchemeName))
	}
	auth := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return in.NewError(errors.New("no Authorization: Bearer token"))
	}
	return nil
}

// isProblem reports whether the Content-Type is application/problem+json.
func isProblem(header http.Header) bool {
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	return err == nil && mt == problemType
}

// checkProblemStatus checks that a problem body repeats the HTTP status.
func checkProblemStatus(where string, status int, body []byte) error {
	var p struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("%s: problem body is not JSON: %w", where, err)
	}
	if p.Status != status {
		return fmt.Errorf("%s: problem status %d differs from the HTTP status", where, p.Status)
	}
	return nil
}

// Middleware returns next wrapped so that every response it writes is
// checked with Check once next returns; a mismatch is reported with
// t.Errorf (the test goes on). The response still reaches the client
// unchanged. Close the test server before the test ends (t.Cleanup(srv.Close)
// waits for running handlers), so that no check reports late.
func (v *Validator) Middleware(t testing.TB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status, rec.header = http.StatusOK, w.Header().Clone()
		}
		if err := v.Check(r, rec.status, rec.header, rec.body.Bytes()); err != nil {
			t.Errorf("openapi: %v", err)
		}
	})
}

// recorder copies what a handler writes while passing it through.
type recorder struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	// 1xx answers are interim; the final status comes later.
	if r.status == 0 && (code < 100 || code >= 200) {
		r.status, r.header = code, r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Transport returns a RoundTripper that sends requests with base
// (http.DefaultTransport when nil) and checks every response with Check,
// reporting a mismatch with t.Errorf. It reads the whole response body and
// hands the caller an identical copy.
func (v *Validator) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("openapitest: read response body: %w", err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err := v.Check(req, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("openapi: %v", err)
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
)

type body struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeRejectsBadBodies(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
	}{
		{"empty", "", "application/json", 400, "empty_body"},
		{"malformed", `{"name":`, "application/json", 400, "invalid_json"},
		{"syntax", `{"name" "x"}`, "application/json", 400, "invalid_json"},
		{"unknown field", `{"name":"a","admin":true}`, "application/json", 400, "unknown_field"},
		{"wrong type", `{"name":5}`, "application/json", 400, "invalid_field"},
		{"huge number", `{"count":1e400}`, "application/json", 400, "invalid_field"},
		{"overflow int", `{"count":99999999999999999999999}`, "application/json", 400, "invalid_field"},
		{"trailing data", `{"name":"a"} {"name":"b"}`, "application/json", 400, "invalid_json"},
		{"invalid utf8", "{\"name\":\"\xff\xfe\"}", "application/json", 400, "invalid_json"},
		{"array", `[1,2]`, "application/json", 400, "invalid_field"},
		{"not json media", `{"name":"a"}`, "text/plain", 415, "unsupported_media_type"},
		{"too large", `{"name":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`, "application/json", 413, "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/x", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ctype)
			var v body
			err := httpapi.Decode(r, &v)
			var e *httpapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error = %v, want *httpapi.Error", err)
			}
			if httpapi.Status(e.Kind) != tc.status || e.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", httpapi.Status(e.Kind), e.Code, e.Detail, tc.status, tc.code)
			}
		})
	}
}

func TestDecodeAcceptsGoodBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/v1/x", strings.NewReader(`{"name":"a","count":3}`))
	var v body
	if err := httpapi.Decode(r, &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "a" || v.Count != 3 {
		t.Fatalf("decoded %+v", v)
	}
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) httpapi.Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != httpapi.ProblemContentType {
		t.Fatalf("Content-Type = %q", ct)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body.String(), err)
	}
	return p
}

func TestMiddlewareRecoversPanicWithRequestID(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := httpapi.Middleware(log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/x?token=secret-token-value", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	p := decodeProblem(t, rec)
	id := rec.Header().Get(httpapi.RequestIDHeader)
	if p.Code != "internal" || id == "" || p.RequestID != id {
		t.Fatalf("problem %+v, header id %q", p, id)
	}
	if !strings.Contains(logs.String(), `"requestId":"`+id+`"`) || !strings.Contains(logs.String(), "boom") {
		t.Fatalf("logs lack the request id or panic: %s", logs.String())
	}
	if strings.Contains(logs.String(), "secret-token-value") {
		t.Fatalf("logs carry the query string: %s", logs.String())
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic detail leaked to the client: %s", rec.Body.String())
	}
}

func TestRequestIDKeptOnlyWhenWellFormed(t *testing.T) {
	h := httpapi.Middleware(slog.New(slog.DiscardHandler), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(httpapi.RequestID(r.Context())))
	}))
	for _, tc := range []struct {
		in   string
		kept bool
	}{{"abcdef-1234", true}, {"bad id\nwith newline", false}, {"x", false}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(httpapi.RequestIDHeader, tc.in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		got := rec.Header().Get(httpapi.RequestIDHeader)
		if (got == tc.in) != tc.kept || got != rec.Body.String() {
			t.Errorf("in %q: got %q (body %q), kept want %v", tc.in, got, rec.Body.String(), tc.kept)
		}
	}
}

func TestWriteErrorHidesInternalErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/v1/x", nil)
	httpapi.WriteError(rec, r, errors.New("dynamodb: connection refused to 10.0.0.1"))
	p := decodeProblem(t, rec)
	if rec.Code != 500 || p.Code != "internal" || strings.Contains(rec.Body.String(), "10.0.0.1") {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
}

func TestWriteErrorKeepsPublicErrorsAndExtras(t *testing.T) {
	e := fault.New(fault.TooMany, "too_many_attempts", "Try later.")
	e.RetryAfter = 1500e6
	e.Extra = map[string]any{"accounts": []string{"a1"}, "code": "overwritten?"}
	rec := httptest.NewRecorder()
	httpapi.WriteError(rec, httptest.NewRequest("GET", "/v1/x", nil), errors.Join(errors.New("ctx"), e))
	p := decodeProblem(t, rec)
	if rec.Code != 429 || p.Code != "too_many_attempts" || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("got %d %+v retry %q", rec.Code, p, rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(rec.Body.String(), `"accounts":["a1"]`) {
		t.Fatalf("extra member missing: %s", rec.Body.String())
	}
}

func TestListOfNeverAnswersNullItems(t *testing.T) {
	l := httpapi.ListOf([]int(nil), "", func(i int) string { return "x" })
	raw, err := json.Marshal(l)
	if err != nil || string(raw) != `{"items":[]}` {
		t.Fatalf("empty list = %s, %v; want {\"items\":[]}", raw, err)
	}
	l = httpapi.ListOf([]int{1, 2}, "c", func(i int) string { return strconv.Itoa(i * 2) })
	raw, _ = json.Marshal(l)
	if string(raw) != `{"items":["2","4"],"nextCursor":"c"}` {
		t.Fatalf("list = %s", raw)
	}
}

// awsError has the shape of smithy.APIError.
type awsError struct{ code string }

func (e awsError) Error() string {
	return e.code + ": rate of requests exceeds the allowed throughput (table steward-prod)"
}
func (e awsError) ErrorCode() string { return e.code }

// A throttled or overloaded dependency, or a write that kept colliding, is
// 503 busy with Retry-After, never a bare 500; what AWS said stays in the
// logs.
func TestThrottlingIsBusyWithRetryAfter(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("get member: %w", awsError{"ProvisionedThroughputExceededException"}),
		fmt.Errorf("send: %w", awsError{"ThrottlingException"}),
		fmt.Errorf("commit: %w", awsError{"TransactionConflictException"}),
		fault.Busy(errors.New("commit member.invite: TransactionCanceledException: [TransactionConflict]")),
	} {
		rec := httptest.NewRecorder()
		httpapi.WriteError(rec, httptest.NewRequest("GET", "/v1/x", nil), err)
		p := decodeProblem(t, rec)
		if rec.Code != 503 || p.Code != "busy" || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("%v: got %d %s retry %q, want 503 busy retry 1", err, rec.Code, p.Code, rec.Header().Get("Retry-After"))
		}
		if strings.Contains(rec.Body.String(), "steward-prod") || strings.Contains(rec.Body.String(), "TransactionCanceled") {
			t.Errorf("the cause leaked into the answer: %s", rec.Body.String())
		}
	}
	// Other AWS errors stay internal.
	rec := httptest.NewRecorder()
	httpapi.WriteError(rec, httptest.NewRequest("GET", "/v1/x", nil), awsError{"ValidationException"})
	if rec.Code != 500 {
		t.Fatalf("ValidationException answered %d, want 500", rec.Code)
	}
}

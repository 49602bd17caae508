package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/fault"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
)

// RequestIDHeader carries the request id on every response.
const RequestIDHeader = "X-Request-Id"

// validRequestID reports whether a client-supplied request id is short and
// plain (^[A-Za-z0-9._=+/-]{8,64}$), so that it cannot inject anything
// into logs. It is kept only then. (A loop, not a regexp: compiling the
// counted repeat cost every cold start a millisecond.)
func validRequestID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._=+/-", c) >= 0) {
			return false
		}
	}
	return true
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Logger returns the request-scoped logger (carrying the request id), or
// the default logger outside a request.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithLogger returns ctx carrying l as its logger.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey, l)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status written, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Middleware wraps every route: it assigns the request id (kept from a
// well-formed X-Request-Id or API Gateway's id, else new), puts a logger
// carrying it in the context, recovers panics as a 500 problem, and writes
// one JSON access log line per request. Query strings are not logged: they
// can carry one-time tokens.
func Middleware(base *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		log := base.With("requestId", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = WithLogger(ctx, log)
		r = r.WithContext(ctx)
		w.Header().Set(RequestIDHeader, id)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					WriteError(rec, r, ErrInternal)
				}
			}
			log.Info("request",
				"method", r.Method,
				"path", LogPath(r),
				"status", rec.status,
				"bytes", rec.bytes,
				"durationMs", float64(time.Since(start).Microseconds())/1000,
			)
		}()
		if err := checkQuery(r); err != nil {
			WriteError(rec, r, err)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// checkQuery refuses a malformed query string and a parameter given more
// than once: no route takes a list in its query, and which of two values
// counts would otherwise be the handler's guess.
func checkQuery(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fault.New(fault.Invalid, "invalid_query", "The query string is malformed.")
	}
	for k, vs := range q {
		if len(vs) > 1 {
			e := fault.New(fault.Invalid, "invalid_parameter", fmt.Sprintf("Query parameter %q is given more than once.", k))
			e.Fields = []FieldError{{Field: k, Detail: "is given more than once"}}
			return e
		}
	}
	return nil
}

// LogPath is the path to log for r: the route pattern when one matched
// (so /approve/{token} never logs a token), else the raw path.
func LogPath(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.URL.Path
}

// HandlerFunc is a handler that returns an error; ServeHTTP answers the
// error as a problem through WriteError.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP implements http.Handler.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		WriteError(w, r, err)
	}
}

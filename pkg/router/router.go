// Package router builds the HTTP handler of a set of routes of the route
// table (pkg/routes) from their operations: the route's body rules,
// idempotency, authentication and impersonation refusal, the 404 and 405
// problems, and the middleware. It imports no domain package (the
// authentication comes as a Guard), so that a function links only the
// services it serves (pkg/app/boot, the functions' mains); infra/localstack/server
// mounts every route with it.
package router

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// Operations binds operation ids of the route table to their handlers.
type Operations = map[string]httpapi.HandlerFunc

// Options are what the mounted routes share.
type Options struct {
	// Logger is the base logger of the middleware; nil means slog.Default.
	Logger *slog.Logger
	// Store remembers the answers of idempotent routes; it must be set
	// when a route is Idempotent.
	Store *store.Store
	// Guard authenticates every route that is not public; it must be set
	// when one is not (a function of public routes only needs none).
	Guard Guard
	// Throttle, when set, counts every authenticated request against its
	// account's share (pkg/throttle) and answers 429 past it.
	Throttle Throttle
}

// Throttle is a per-account request budget (*throttle.Accounts).
type Throttle interface {
	// Allow counts one request of account; false says how long to wait.
	Allow(ctx context.Context, account string) (time.Duration, bool)
}

// errAccountRate answers a request over its account's share.
var errAccountRate = fault.New(fault.TooMany, "account_rate_limited",
	"This account is making more requests than its share of the API; retry after the number of seconds in Retry-After.")

// throttled counts each request of an authenticated caller against its
// account (behind Authenticate, so the caller is known).
func throttled(t Throttle, caller func(*http.Request) (string, string), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, _ := caller(r)
		if account != "" {
			if wait, ok := t.Allow(r.Context(), account); !ok {
				e := *errAccountRate
				e.RetryAfter = max(wait, time.Second)
				httpapi.WriteError(w, r, &e)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Guard is the authentication of the routes that are not public
// (pkg/app/authboot.Guard adapts pkg/auth's).
type Guard interface {
	// Authenticate lets an authenticated caller through to next.
	Authenticate(next http.Handler) http.Handler
	// RefuseImpersonated refuses an impersonated session before next.
	RefuseImpersonated(next http.Handler) http.Handler
	// Caller is the authenticated caller of r (behind Authenticate):
	// idempotent answers are remembered per caller.
	Caller(r *http.Request) (accountID, memberID string)
}

// New returns the handler of rs. It fails when a route has no operation,
// or needs a store or an authenticator that o lacks. Operations without a
// route of rs are ignored.
func New(rs []routes.Route, ops Operations, o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no routes")
	}
	mux := http.NewServeMux()
	// paths answers "which methods does this path allow?" for 405s.
	paths := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range rs {
		h, ok := ops[rt.Operation]
		if !ok {
			return nil, fmt.Errorf("route %s: no handler for operation %q", rt.Pattern(), rt.Operation)
		}
		var handler http.Handler = h
		if !rt.Public && o.Guard == nil {
			return nil, fmt.Errorf("route %s: authenticated without a guard", rt.Pattern())
		}
		if rt.Idempotent {
			if o.Store == nil || rt.Public {
				return nil, fmt.Errorf("route %s: idempotent needs a store and an authenticated caller", rt.Pattern())
			}
			handler = idempotent(o.Store, o.Guard.Caller, handler)
		}
		if rt.NoImpersonation {
			if rt.Public {
				return nil, fmt.Errorf("route %s: a public route has no session to refuse (NoImpersonation)", rt.Pattern())
			}
			handler = o.Guard.RefuseImpersonated(handler)
		}
		if !rt.Public && o.Throttle != nil {
			handler = throttled(o.Throttle, o.Guard.Caller, handler)
		}
		if !rt.Public {
			handler = o.Guard.Authenticate(handler)
		}
		mux.Handle(rt.Pattern(), bodyGuard(rt, handler))
		if _, seen := allowed[rt.Path]; !seen {
			paths.Handle(rt.Path, http.NotFoundHandler())
		}
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	fallback := func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			methods := allowed[pattern]
			sort.Strings(methods)
			w.Header().Set("Allow", strings.Join(methods, ", "))
			httpapi.WriteError(w, r, httpapi.ErrMethodNotAllowed)
			return
		}
		httpapi.WriteError(w, r, fault.New(fault.NotFound, "route_not_found", "No route matches "+r.Method+" "+r.URL.Path+"."))
	}
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			fallback(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return httpapi.Middleware(o.Logger, root), nil
}

// bodyGuard enforces the route's body rules before its handler runs: a body
// over httpapi.MaxBodyBytes is refused with 413, and so is any body on a
// route that reads none (400).
func bodyGuard(rt routes.Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > httpapi.MaxBodyBytes {
			httpapi.WriteError(w, r, httpapi.ErrBodyTooLarge)
			return
		}
		if !rt.Body && r.Body != nil && r.Body != http.NoBody {
			var one [1]byte
			if n, _ := r.Body.Read(one[:]); n > 0 {
				httpapi.WriteError(w, r, fault.New(fault.Invalid, "body_not_allowed", "This route takes no request body."))
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, httpapi.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

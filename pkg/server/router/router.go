// Package router builds the HTTP handler of a set of routes of the route
// table (pkg/routes) from their operations: the route's body rules,
// idempotency, authentication and impersonation refusal, the 404 and 405
// problems, and the middleware. It imports no domain package but auth, so
// that a function links only the services it serves (pkg/app/boot, the
// functions' mains); pkg/server mounts every route with it.
package router

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/stewardhq/steward/pkg/auth"
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
	// Auth authenticates every route that is not public; it must be set
	// when one is not (a function of public routes only needs none).
	Auth *auth.Service
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
		if rt.Idempotent {
			if o.Store == nil {
				return nil, fmt.Errorf("route %s: idempotent without a store", rt.Pattern())
			}
			handler = idempotent(o.Store, handler)
		}
		if rt.NoImpersonation {
			if rt.Public {
				return nil, fmt.Errorf("route %s: a public route has no session to refuse (NoImpersonation)", rt.Pattern())
			}
			handler = auth.RefuseImpersonated(handler)
		}
		if !rt.Public {
			if o.Auth == nil {
				return nil, fmt.Errorf("route %s: authenticated without an auth service", rt.Pattern())
			}
			handler = o.Auth.Authenticate(handler)
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
		httpapi.WriteError(w, r, httpapi.Errorf(http.StatusNotFound, "route_not_found", "No route matches "+r.Method+" "+r.URL.Path+"."))
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
				httpapi.WriteError(w, r, httpapi.Errorf(http.StatusBadRequest, "body_not_allowed", "This route takes no request body."))
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, httpapi.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

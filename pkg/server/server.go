// Package server assembles Steward's HTTP API from the route table: it binds
// each route's operation to its handler and wraps everything in the HTTP
// middleware. A Lambda function mounts the routes of its own function name;
// the local server mounts them all. Both build the handler here, so the two
// serve the same code.
package server

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sort"
	"strings"

	"github.com/stewardhq/steward/pkg/accounts"
	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/apikeys"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/health"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/invites"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/openapi"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// Deps are the dependencies the handlers share, built once at start.
type Deps struct {
	Store   *store.Store
	Auth    *auth.Service
	Invites *invites.Service
	APIKeys *apikeys.Service
	Members *members.Service
	// Permissions serves the catalogue, roles and decisions.
	Permissions *permissions.Service
	// Approvals serves documents, approval policies and requests, and
	// the approval pages.
	Approvals *approvals.Service
	// Alerts serves stock levels, the alert preview and the unsubscribe
	// page; its Run is the scheduled job.
	Alerts  *alerts.Service
	Logger  *slog.Logger
	Version string
}

// operations binds every operation id of the route table to its handler.
func operations(d Deps) map[string]httpapi.HandlerFunc {
	h := health.Handler{DB: d.Store, Version: d.Version}
	a := d.Auth
	inv := d.Invites
	ak := d.APIKeys
	mem := d.Members
	acc := &accounts.Handler{Store: d.Store}
	ops := d.Permissions.Operations()
	maps.Copy(ops, map[string]httpapi.HandlerFunc{
		"getHealth":  h.Get,
		"getOpenAPI": openapi.Get,

		"signup":                 a.HandleSignup,
		"verifyEmail":            a.HandleVerifyEmail,
		"login":                  a.HandleLogin,
		"refresh":                a.HandleRefresh,
		"logout":                 a.HandleLogout,
		"requestPasswordReset":   a.HandlePasswordReset,
		"confirmPasswordReset":   a.HandlePasswordResetConfirm,
		"getJWKS":                a.HandleJWKS,
		"getOpenIDConfiguration": a.HandleOpenIDConfiguration,
		"getMe":                  a.HandleMe,
		"impersonateUser":        a.HandleImpersonate,

		"listUsers":         mem.HandleList,
		"createUser":        mem.HandleCreate,
		"getUser":           mem.HandleGet,
		"updateUser":        mem.HandlePatch,
		"deleteUser":        mem.HandleDelete,
		"suspendUser":       mem.HandleSuspend,
		"reactivateUser":    mem.HandleReactivate,
		"deactivateUser":    mem.HandleDeactivate,
		"transferOwnership": mem.HandleTransferOwnership,

		"createInvitation": inv.HandleCreate,
		"listInvitations":  inv.HandleList,
		"resendInvitation": inv.HandleResend,
		"revokeInvitation": inv.HandleRevoke,
		"lookupInvitation": inv.HandleLookup,
		"acceptInvitation": inv.HandleAccept,
		"joinAccount":      inv.HandleJoin,

		"createApiKey": ak.HandleCreate,
		"listApiKeys":  ak.HandleList,
		"revokeApiKey": ak.HandleRevoke,

		"getAccount":      acc.HandleGetAccount,
		"updateAccount":   acc.HandleUpdateAccount,
		"listStores":      acc.HandleListStores,
		"getStore":        acc.HandleGetStore,
		"putStore":        acc.HandlePutStore,
		"listDepartments": acc.HandleListDepartments,
		"getDepartment":   acc.HandleGetDepartment,
		"putDepartment":   acc.HandlePutDepartment,
		"listAudit":       acc.HandleListAudit,
	})
	ap := d.Approvals
	maps.Copy(ops, map[string]httpapi.HandlerFunc{
		"getDocument":           ap.HandleGetDocument,
		"putDocument":           ap.HandlePutDocument,
		"createApprovalRequest": ap.HandleCreateRequest,
		"listApprovalRequests":  ap.HandleListRequests,
		"getApprovalRequest":    ap.HandleGetRequest,
		"decideApprovalRequest": ap.HandleDecide,
		"cancelApprovalRequest": ap.HandleCancel,
		"getApprovalPolicy":     ap.HandleGetPolicy,
		"putApprovalPolicy":     ap.HandlePutPolicy,
		"getApprovalPage":       ap.HandleApprovePage,
		"submitApprovalPage":    ap.HandleApproveSubmit,
	})
	al := d.Alerts
	maps.Copy(ops, map[string]httpapi.HandlerFunc{
		"putStockLevels":     al.HandlePutStock,
		"previewAlerts":      al.HandlePreview,
		"getUnsubscribePage": al.HandleUnsubscribePage,
		"unsubscribeAlerts":  al.HandleUnsubscribe,
	})
	return ops
}

// Handler returns the API for one function's routes (all routes when
// function is ""). It fails when a route has no handler.
func Handler(d Deps, function string) (http.Handler, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	ops := operations(d)
	mux := http.NewServeMux()
	// paths answers "which methods does this path allow?" for 405s.
	paths := http.NewServeMux()
	allowed := map[string][]string{}
	rs := routes.ForFunction(function)
	if len(rs) == 0 {
		return nil, fmt.Errorf("no routes for function %q", function)
	}
	for _, rt := range rs {
		h, ok := ops[rt.Operation]
		if !ok {
			return nil, fmt.Errorf("route %s: no handler for operation %q", rt.Pattern(), rt.Operation)
		}
		var handler http.Handler = h
		if rt.Idempotent {
			handler = idempotent(d.Store, handler)
		}
		if rt.NoImpersonation {
			if rt.Public {
				return nil, fmt.Errorf("route %s: a public route has no session to refuse (NoImpersonation)", rt.Pattern())
			}
			handler = auth.RefuseImpersonated(handler)
		}
		if !rt.Public {
			handler = d.Auth.Authenticate(handler)
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
	return httpapi.Middleware(d.Logger, root), nil
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

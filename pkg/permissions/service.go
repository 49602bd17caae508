package permissions

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
)

// Service serves the permission routes over the store. Build one per cold
// start and share it; it is safe for concurrent use.
type Service struct {
	Store *store.Store

	roleSets authz.RoleSetCache
}

// Operations binds the operation ids of the permission routes to their
// handlers, for the route table.
func (s *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"listPermissions":      s.HandleListPermissions,
		"listRoles":            s.HandleListRoles,
		"createRole":           s.HandleCreateRole,
		"getRole":              s.HandleGetRole,
		"updateRole":           s.HandleUpdateRole,
		"deleteRole":           s.HandleDeleteRole,
		"checkPermission":      s.HandleCheck,
		"checkPermissionBatch": s.HandleCheckBatch,
		"myPermissions":        s.HandleMyPermissions,
		"whoCan":               s.HandleWhoCan,
	}
}

// Permission keys these routes need.
const (
	permUsersView      = "users.view"
	permSettingsManage = "settings.manage"
)

// principal returns the authenticated caller.
func principal(r *http.Request) (*auth.Principal, error) {
	p := auth.FromContext(r.Context())
	if p == nil || p.Authz == nil || p.Roles == nil {
		return nil, httpapi.ErrUnauthenticated
	}
	return p, nil
}

// badRequest is a 400 problem naming the offending field (may be "").
func badRequest(code, field, detail string) *httpapi.Error {
	e := fault.New(fault.Invalid, code, detail)
	if field != "" {
		e.Fields = []httpapi.FieldError{{Field: field, Detail: detail}}
	}
	return e
}

// queryParams parses the query string, refusing parameters not in allowed
// and parameters given twice.
func queryParams(r *http.Request, allowed ...string) (map[string]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("invalid_query", "", "The query string is malformed.")
	}
	out := make(map[string]string, len(q))
	for k, vs := range q {
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			detail := fmt.Sprintf("Query parameter %q is not known here.", k)
			if len(allowed) > 0 {
				detail = fmt.Sprintf("Query parameter %q is not known here; use %s.", k, strings.Join(allowed, ", "))
			}
			return nil, badRequest("unknown_parameter", k, detail)
		}
		if len(vs) > 1 {
			return nil, badRequest("invalid_parameter", k, fmt.Sprintf("Query parameter %q is given more than once.", k))
		}
		out[k] = vs[0]
	}
	return out, nil
}

// pageLimit parses a page size: empty means the default.
func pageLimit(v string) (int, error) {
	if v == "" {
		return store.DefaultPageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > store.MaxPageSize {
		return 0, badRequest("invalid_parameter", "limit", fmt.Sprintf("limit must be an integer from 1 to %d.", store.MaxPageSize))
	}
	return n, nil
}

// etag is the entity tag of the roles item at version v.
func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

var (
	errPreconditionRequired = fault.New(fault.PreconditionRequired, "precondition_required",
		`Send If-Match with the ETag of GET /v1/roles/{id} (e.g. If-Match: "3"), so that you do not overwrite a change you have not seen.`)
	errConcurrentChange = fault.New(fault.Conflict, "concurrent_change",
		"The account's roles or members changed while this request ran; try again.")
)

func errPreconditionFailed(current int64) *httpapi.Error {
	return fault.New(fault.Stale, "stale_version",
		fmt.Sprintf("The account's roles changed since you read them (now at ETag %s); read them again and retry.", etag(current)))
}

// roleEvent is the audit event of a role change by p.
func roleEvent(r *http.Request, p *auth.Principal, action, roleID string, before, after any) audit.Event {
	ev := audit.Event{
		AccountID: p.AccountID(), ActorID: p.Member.ID, ActorName: p.Member.Name,
		Action: action, TargetType: "role", TargetID: roleID,
		Before: audit.Snapshot(before), After: audit.Snapshot(after),
		RequestID: httpapi.RequestID(r.Context()),
	}
	if p.Impersonator != nil {
		ev.ImpersonatorID = p.Impersonator.ID
	}
	return ev
}

// validID matches member, resource and scope ids.
func validID(v string) bool { return httpapi.IDLike(v, 128, true) }

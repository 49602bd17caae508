package permissions

import (
	"context"
	"fmt"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
)

// Service is the permission capability over the store: the catalogue
// (Catalogue), custom roles (ListRoles, GetRole, CreateRole, UpdateRole,
// DeleteRole) and decisions (Check, CheckBatch, MyPermissions, WhoCan).
// Its methods take the authenticated principal and typed inputs, return
// typed results, and refuse with *fault.Error values; the API's handlers
// (http.go) and any other caller (a portal page, a workflow step) call
// the same methods. Build one per cold start and share it; it is safe for
// concurrent use.
type Service struct {
	Store *store.Store
	// DeleteBudget is how long one role deletion keeps moving holders
	// before answering with the deletion under way (0:
	// DefaultDeleteBudget).
	DeleteBudget time.Duration

	roleSets rbac.RoleSetCache
}

// Permission keys these operations need.
const (
	permUsersView      = "users.view"
	permSettingsManage = "settings.manage"
)

// caller checks that p is an authenticated principal with its role set
// compiled.
func caller(p *auth.Principal) error {
	if p == nil || p.Authz == nil || p.Roles == nil {
		return httpapi.ErrUnauthenticated
	}
	return nil
}

// badRequest is an Invalid error naming the offending field (may be "").
func badRequest(code, field, detail string) *fault.Error {
	e := fault.New(fault.Invalid, code, detail)
	if field != "" {
		e.Fields = []fault.Field{{Field: field, Detail: detail}}
	}
	return e
}

var (
	errPreconditionRequired = fault.New(fault.PreconditionRequired, "precondition_required",
		`Send If-Match with the ETag of GET /v1/roles/{id} (e.g. If-Match: "3"), so that you do not overwrite a change you have not seen.`)
	errConcurrentChange = fault.New(fault.Conflict, "concurrent_change",
		"The account's roles or members changed while this request ran; try again.")
)

func errPreconditionFailed(current int64) *fault.Error {
	return fault.New(fault.Stale, "stale_version",
		fmt.Sprintf("The account's roles changed since you read them (now at ETag %s); read them again and retry.", httpapi.ETag(current)))
}

// roleEvent is the audit event of a role change by p.
func roleEvent(ctx context.Context, p *auth.Principal, action, roleID string, before, after any) audit.Event {
	ev := audit.Event{
		AccountID: p.AccountID(), ActorID: p.Member.ID, ActorName: p.Member.Name,
		Action: action, TargetType: "role", TargetID: roleID,
		Before: audit.Snapshot(before), After: audit.Snapshot(after),
		RequestID: httpapi.RequestID(ctx),
	}
	if p.Impersonator != nil {
		ev.ImpersonatorID = p.Impersonator.ID
	}
	return ev
}

// validID matches member, resource and scope ids.
func validID(v string) bool { return httpapi.IDLike(v, 128, true) }

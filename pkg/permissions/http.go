package permissions

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/views"
)

// The permission routes' handlers: each decodes the request, calls one
// operation of the Service and encodes its result (status, ETag and other
// headers, JSON body). The authenticated principal comes from the request
// context (auth.FromContext).

// JSON shapes of the answers.
type (
	rolesResponse struct {
		Roles   []roleView `json:"roles"`
		Version int64      `json:"version"`
	}
	deleteRoleResponse struct {
		Deleted string      `json:"deleted"`
		Members MemberMoves `json:"members"`
		Version int64       `json:"version"`
	}
	// pendingDeletionResponse is the 202 answer of a deletion still
	// under way: the role with its deletion state and the members this
	// request moved.
	pendingDeletionResponse struct {
		roleView
		Members MemberMoves `json:"members"`
	}
	batchRequest struct {
		Checks []CheckInput `json:"checks"`
	}
	batchResponse struct {
		Results []CheckResult `json:"results"`
	}
	whoCanItem struct {
		views.MemberRef
		Status    string     `json:"status"`
		Code      string     `json:"code"`
		GrantedBy *GrantedBy `json:"grantedBy,omitempty"`
	}
	whoCanResponse struct {
		Action string `json:"action"`
		httpapi.List[whoCanItem]
	}
)

func whoCanView(a Allowed) whoCanItem {
	return whoCanItem{MemberRef: views.RefOf(a.Member), Status: string(a.Member.Status), Code: string(a.Decision.Code), GrantedBy: grantedBy(a.Decision)}
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

// HandleListPermissions serves GET /v1/permissions (listPermissions).
func (s *Service) HandleListPermissions(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	out, err := s.Catalogue(r.Context(), auth.FromContext(r.Context()))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, max-age=300")
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

// HandleListRoles serves GET /v1/roles (listRoles), with the version of
// the account's custom roles as ETag.
func (s *Service) HandleListRoles(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	rs, err := s.ListRoles(r.Context(), auth.FromContext(r.Context()))
	if err != nil {
		return err
	}
	out := rolesResponse{Roles: []roleView{}, Version: rs.Version}
	for _, role := range rs.Roles {
		out.Roles = append(out.Roles, toRoleView(role, nil).withState(rs.States[role.ID]))
	}
	w.Header().Set("ETag", httpapi.ETag(rs.Version))
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

// HandleGetRole serves GET /v1/roles/{id} (getRole).
func (s *Service) HandleGetRole(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	role, st, version, err := s.getRole(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", httpapi.ETag(version))
	httpapi.WriteJSON(w, r, http.StatusOK, toRoleView(role, nil).withState(st))
	return nil
}

// HandleCreateRole serves POST /v1/roles (createRole): 201 with the role,
// its warnings, its Location and the new ETag.
func (s *Service) HandleCreateRole(w http.ResponseWriter, r *http.Request) error {
	// Refuse a caller without the right before reading the request, so
	// that validation answers tell them nothing.
	if err := canManageRoles(auth.FromContext(r.Context())); err != nil {
		return err
	}
	var in RoleInput
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	c, err := s.CreateRole(r.Context(), auth.FromContext(r.Context()), in)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", httpapi.ETag(c.Version))
	w.Header().Set("Location", "/v1/roles/"+c.Role.ID)
	httpapi.WriteJSON(w, r, http.StatusCreated, toRoleView(c.Role, c.Warnings))
	return nil
}

// HandleUpdateRole serves PATCH /v1/roles/{id} (updateRole); If-Match is
// required.
func (s *Service) HandleUpdateRole(w http.ResponseWriter, r *http.Request) error {
	// Refuse a caller without the right before reading the request, so
	// that validation answers tell them nothing.
	if err := canManageRoles(auth.FromContext(r.Context())); err != nil {
		return err
	}
	var in RolePatch
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	ifMatch, err := httpapi.ParseIfMatch(r)
	if err != nil {
		return err
	}
	c, err := s.UpdateRole(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), ifMatch, in)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", httpapi.ETag(c.Version))
	httpapi.WriteJSON(w, r, http.StatusOK, toRoleView(c.Role, c.Warnings))
	return nil
}

// HandleDeleteRole serves DELETE /v1/roles/{id} (deleteRole), with
// ?members=reassign&to=<roleId> or ?members=remove for a role members
// hold; If-Match is optional. 200 when the role is deleted; 202 with the
// role (status "deleting", holdersLeft) when its holders are too many to
// move within the request: DELETE again to continue.
func (s *Service) HandleDeleteRole(w http.ResponseWriter, r *http.Request) error {
	// Refuse a caller without the right before reading the request, so
	// that validation answers tell them nothing.
	if err := canManageRoles(auth.FromContext(r.Context())); err != nil {
		return err
	}
	q, err := queryParams(r, "members", "to")
	if err != nil {
		return err
	}
	ifMatch, err := httpapi.ParseIfMatch(r)
	if err != nil {
		return err
	}
	d, err := s.DeleteRole(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), DeleteOptions{Members: q["members"], To: q["to"]}, ifMatch)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", httpapi.ETag(d.Version))
	if d.Pending {
		// The deletion is under way: the role as it stands (status
		// "deleting", holdersLeft); DELETE again to continue.
		w.Header().Set("Location", "/v1/roles/"+d.ID)
		httpapi.WriteJSON(w, r, http.StatusAccepted, pendingDeletionResponse{roleView: toRoleView(d.Role, nil).withState(d.State), Members: d.Members})
		return nil
	}
	httpapi.WriteJSON(w, r, http.StatusOK, deleteRoleResponse{Deleted: d.ID, Members: d.Members, Version: d.Version})
	return nil
}

// HandleCheck serves POST /v1/authz/check (checkPermission).
func (s *Service) HandleCheck(w http.ResponseWriter, r *http.Request) error {
	var in CheckInput
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	out, err := s.Check(r.Context(), auth.FromContext(r.Context()), in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

// HandleCheckBatch serves POST /v1/authz/check-batch
// (checkPermissionBatch).
func (s *Service) HandleCheckBatch(w http.ResponseWriter, r *http.Request) error {
	var in batchRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	results, err := s.CheckBatch(r.Context(), auth.FromContext(r.Context()), in.Checks)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, batchResponse{Results: results})
	return nil
}

// HandleMyPermissions serves GET /v1/me/permissions (myPermissions).
func (s *Service) HandleMyPermissions(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	out, err := s.MyPermissions(r.Context(), auth.FromContext(r.Context()))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

// errBadLimit refuses a who-can limit outside 1..httpapi.MaxLimit; the
// route answers invalid_parameter, like its other query parameters.
var errBadLimit = badRequest("invalid_parameter", "limit", fmt.Sprintf("limit must be an integer from 1 to %d.", httpapi.MaxLimit))

// HandleWhoCan serves GET /v1/authz/who-can (whoCan): the query holds the
// check resource's fields plus action, limit and cursor.
func (s *Service) HandleWhoCan(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "action", "type", "id", "store", "department", "supplier", "docType", "docStatus", "approvalRequired", "limit", "cursor")
	if err != nil {
		return err
	}
	in := WhoCanQuery{Action: q["action"], Cursor: q["cursor"], Resource: ResourceInput{
		Type: q["type"], ID: q["id"], Store: q["store"], Department: q["department"], Supplier: q["supplier"],
		DocType: q["docType"], DocStatus: q["docStatus"],
	}}
	switch q["approvalRequired"] {
	case "", "false":
	case "true":
		in.Resource.ApprovalRequired = true
	default:
		return badRequest("invalid_parameter", "approvalRequired", "approvalRequired must be true or false.")
	}
	if in.Limit, err = httpapi.ParseLimit(r); err != nil {
		return errBadLimit
	}
	page, err := s.WhoCan(r.Context(), auth.FromContext(r.Context()), in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, whoCanResponse{Action: in.Action, List: httpapi.ListOf(page.Items, page.Next, whoCanView)})
	return nil
}

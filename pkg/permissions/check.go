package permissions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/views"
)

// MaxBatchChecks is the most checks one POST /v1/authz/check-batch holds.
const MaxBatchChecks = 100

// CheckInput is one check: may the caller, or the member UserID, do
// Action on Resource? (The body of POST /v1/authz/check, and an element of
// a batch.)
type CheckInput struct {
	Action   string         `json:"action"`
	Resource *ResourceInput `json:"resource"`
	UserID   string         `json:"userId,omitempty"`
}

// ResourceInput describes the resource of a check, always in the caller's
// account. Type is informational unless it names a document type, which
// then also sets DocType.
type ResourceInput struct {
	Type             string `json:"type,omitempty"`
	ID               string `json:"id,omitempty"`
	Store            string `json:"store,omitempty"`
	Department       string `json:"department,omitempty"`
	Supplier         string `json:"supplier,omitempty"`
	DocType          string `json:"docType,omitempty"`
	DocStatus        string `json:"docStatus,omitempty"`
	ApprovalRequired bool   `json:"approvalRequired,omitempty"`
	// Date is the document's date (RFC 3339 date-time, or a calendar
	// date YYYY-MM-DD read as its start in UTC): under the account's
	// lock-by-age an older document is read-only without locked.edit.
	Date string `json:"date,omitempty"`
}

// CheckResult is the answer to one check, with the decision's reason and
// code and, when a role granted it, the role and scope.
type CheckResult struct {
	Allowed    bool       `json:"allowed"`
	Reason     string     `json:"reason"`
	Code       string     `json:"code"`
	Permission string     `json:"permission,omitempty"`
	Missing    string     `json:"missing,omitempty"`
	GrantedBy  *GrantedBy `json:"grantedBy,omitempty"`
}

// GrantedBy is the role assignment that allowed a decision.
type GrantedBy struct {
	// Role is empty when a permission assignment granted it.
	Role  string `json:"role,omitempty"`
	Scope string `json:"scope"`
}

// ScopePermissions are the permissions held at one scope.
type ScopePermissions = views.ScopePermissions

// EffectivePermissions are the caller's effective permissions per scope
// (GET /v1/me/permissions).
type EffectivePermissions struct {
	MemberID     string             `json:"memberId"`
	Admin        bool               `json:"admin"`
	Owner        bool               `json:"owner"`
	Impersonated bool               `json:"impersonated"`
	Scopes       []ScopePermissions `json:"scopes"`
}

// WhoCanQuery asks which members may do Action on Resource, a page of
// Limit members (0: the default page size) from Cursor at a time.
type WhoCanQuery struct {
	Action   string
	Resource ResourceInput
	Limit    int
	Cursor   string
}

// Allowed is a member who may do a who-can query's action, and the
// decision that allows it.
type Allowed struct {
	Member   team.Member
	Decision rbac.Decision
}

// WhoCanPage is one page of who-can: the allowed members among the page
// of members examined (possibly none while Next is set), and the cursor of
// the next page ("" after the last).
type WhoCanPage struct {
	Items []Allowed
	Next  string
}

// grantedBy is the role assignment behind d, when a role allowed it.
func grantedBy(d rbac.Decision) *GrantedBy {
	if d.Code != rbac.CodeRole {
		return nil
	}
	return &GrantedBy{Role: d.Role, Scope: d.Scope.String()}
}

func toCheckResult(d rbac.Decision) CheckResult {
	return CheckResult{Allowed: d.Allowed, Reason: d.Reason(), Code: string(d.Code), Permission: d.Permission, Missing: d.Missing, GrantedBy: grantedBy(d)}
}

// validateAction checks that action is one a decision knows.
func validateAction(action, field string) error {
	if action == "" {
		return badRequest("missing_field", field, fmt.Sprintf("Field %q is required: a permission key (GET /v1/permissions) or a document action.", field))
	}
	if !rbac.IsAction(action) {
		return badRequest("unknown_action", field, fmt.Sprintf("Unknown action %q: use a permission key from GET /v1/permissions or a document action (%s).",
			action, strings.Join(rbac.DocumentActions(), ", ")))
	}
	return nil
}

// resource turns a check's resource into the engine's, in account. field
// (may be "") prefixes the names of offending fields.
func (in ResourceInput) resource(account, field string) (rbac.Resource, error) {
	res := rbac.Resource{
		Account: account, Type: in.Type, ID: in.ID, Store: in.Store, Department: in.Department, Supplier: in.Supplier,
		DocType: rbac.DocType(in.DocType), DocStatus: rbac.DocStatus(in.DocStatus), ApprovalRequired: in.ApprovalRequired,
	}
	name := func(f string) string {
		if field == "" {
			return f
		}
		return field + "." + f
	}
	if len(in.Type) > 64 {
		return res, badRequest("invalid_field", name("type"), "The resource type is at most 64 characters.")
	}
	if len(in.ID) > 128 {
		return res, badRequest("invalid_field", name("id"), "The resource id is at most 128 characters.")
	}
	if strings.IndexFunc(in.Type, httpapi.IsControl) >= 0 {
		return res, badRequest("invalid_field", name("type"), "The resource type must not contain control characters.")
	}
	if strings.IndexFunc(in.ID, httpapi.IsControl) >= 0 {
		return res, badRequest("invalid_field", name("id"), "The resource id must not contain control characters.")
	}
	for _, sc := range []struct{ name, kind, id string }{
		{"store", "store", in.Store}, {"department", "department", in.Department}, {"supplier", "supplier", in.Supplier},
	} {
		if sc.id == "" {
			continue
		}
		if _, err := rbac.ParseScope(sc.kind + ":" + sc.id); err != nil {
			return res, badRequest("invalid_scope", name(sc.name),
				fmt.Sprintf("%s %q is not a valid %s id: 1 to 128 letters, digits, '-', '_' or '.' (the id alone, not %q).", name(sc.name), sc.id, sc.kind, sc.kind+":id"))
		}
	}
	if in.DocType != "" && !res.DocType.Valid() {
		return res, badRequest("unknown_document_type", name("docType"), fmt.Sprintf("Unknown document type %q: use one of %s.", in.DocType, docTypeList()))
	}
	// A document type in "type" sets the document type too.
	if t := rbac.DocType(in.Type); t.Valid() {
		if in.DocType != "" && res.DocType != t {
			return res, badRequest("invalid_field", name("docType"), fmt.Sprintf("type %q and docType %q disagree.", in.Type, in.DocType))
		}
		res.DocType = t
	}
	if in.DocStatus != "" && !res.DocStatus.Valid() {
		return res, badRequest("unknown_document_status", name("docStatus"),
			fmt.Sprintf("Unknown document status %q: use draft, pending_approval, approved, denied, expired or completed.", in.DocStatus))
	}
	if in.Date != "" {
		d, err := time.Parse(time.RFC3339Nano, in.Date)
		if err != nil {
			d, err = time.Parse(time.DateOnly, in.Date)
		}
		if err != nil {
			return res, badRequest("invalid_field", name("date"), "The document date is an RFC 3339 date-time (2027-01-31T18:00:00Z) or a date (2027-01-31).")
		}
		res.Date = d.UTC()
	}
	return res, nil
}

func docTypeList() string {
	var out []string
	for _, t := range rbac.DocTypes() {
		out = append(out, string(t))
	}
	return strings.Join(out, ", ")
}

// parse validates one check; prefix names its position in a batch ("" for
// a single check).
func (in CheckInput) parse(account, prefix string) (rbac.Resource, error) {
	if err := validateAction(in.Action, prefix+"action"); err != nil {
		return rbac.Resource{}, err
	}
	if in.Resource == nil {
		return rbac.Resource{}, badRequest("missing_field", prefix+"resource", fmt.Sprintf("Field %q is required ({} for an account-level resource).", prefix+"resource"))
	}
	if in.UserID != "" && !validID(in.UserID) {
		return rbac.Resource{}, badRequest("invalid_field", prefix+"userId", fmt.Sprintf("%s %q is not a member id: 1 to 128 letters, digits, '-', '_' or '.'.", prefix+"userId", in.UserID))
	}
	return in.Resource.resource(account, prefix+"resource")
}

// Check answers one check (checkPermission): may the caller, or the
// member in.UserID, do in.Action on in.Resource? A check is a batch of one
// (see CheckBatch). A check about another member needs users.view (at
// account scope, or at every scope the member has a grant in).
func (s *Service) Check(ctx context.Context, p *auth.Principal, in CheckInput) (CheckResult, error) {
	if err := caller(p); err != nil {
		return CheckResult{}, err
	}
	out, err := s.decideChecks(ctx, p, []CheckInput{in}, func(int) string { return "" })
	if err != nil {
		return CheckResult{}, err
	}
	return out[0], nil
}

// documentID matches document ids (as pkg/approvals stores them).
func documentID(v string) bool { return httpapi.IDLike(v, 64, false) }

// storedRef is the stored document a resource names (its document type
// and id), if it names one.
func storedRef(res rbac.Resource) (store.DocRef, bool) {
	if res.ID == "" || !res.DocType.Valid() || !documentID(res.ID) {
		return store.DocRef{}, false
	}
	return store.DocRef{Type: res.DocType, ID: res.ID}, true
}

// withStored decides a resource that names a stored document on the
// stored facts: the document's store, department, supplier and status,
// and whether its type's approval policy requires an approval at its
// amount. A field the caller gave that contradicts the stored one is
// refused (400 resource_mismatch, naming the field): the caller's claim
// is never believed. Fields the caller left out are taken from the
// document; approvalRequired may only add a requirement.
func withStored(res *rbac.Resource, doc documents.Document, pol documents.ApprovalPolicy, field string) error {
	name := func(f string) string {
		if field == "" {
			return f
		}
		return field + "." + f
	}
	for _, f := range []struct{ name, given, stored string }{
		{"store", res.Store, doc.Store},
		{"department", res.Department, doc.Department},
		{"supplier", res.Supplier, doc.Supplier},
		{"docStatus", string(res.DocStatus), string(doc.Status)},
	} {
		if f.given != "" && f.given != f.stored {
			// The stored value is not told: the caller may not be
			// allowed to see the document.
			return badRequest("resource_mismatch", name(f.name), fmt.Sprintf(
				"%s %q contradicts the stored %s %s: a check on a stored document decides on its stored store, department, supplier and status; leave the field out (or send the stored value).",
				f.name, f.given, doc.Type, doc.ID))
		}
	}
	res.Store, res.Department, res.Supplier, res.DocStatus = doc.Store, doc.Department, doc.Supplier, doc.Status
	res.ApprovalRequired = res.ApprovalRequired || (pol.Enabled && len(pol.LevelsFor(doc.Amount)) > 0)
	return nil
}

// mayViewDocument is whether the caller may read doc (as GET
// /v1/documents/{type}/{id} decides).
func mayViewDocument(p *auth.Principal, doc documents.Document) bool {
	return p.Decide(rbac.ActionDocumentView, doc.Resource()).Allowed
}

// decideChecks answers checks in order. It reads everything the checks
// need besides the caller in one store call (store.LoadCheckFacts: one
// BatchGetItem up to 100 keys, one round trip in any case): the other
// members named with the account's roles, and the stored documents named
// (by document type and id) with their types' approval policies. A check
// naming a stored document decides on the stored facts (withStored); one
// naming a document that is not stored is decided as given, like any
// resource the host app describes. prefix names a check's position in
// error fields.
func (s *Service) decideChecks(ctx context.Context, p *auth.Principal, checks []CheckInput, prefix func(int) string) ([]CheckResult, error) {
	resources := make([]rbac.Resource, len(checks))
	var others []string
	var docs []store.DocRef
	seen := map[string]bool{}
	var err error
	for i, c := range checks {
		if resources[i], err = c.parse(p.AccountID(), prefix(i)); err != nil {
			return nil, err
		}
		if c.UserID != "" && c.UserID != p.Member.ID && !seen[c.UserID] {
			seen[c.UserID] = true
			others = append(others, c.UserID)
		}
		if ref, ok := storedRef(resources[i]); ok {
			docs = append(docs, ref)
		}
	}
	if len(others) > 0 {
		if !viewsSomeUsers(p) {
			return nil, errCannotViewUsers
		}
		if len(others) > store.MaxLoadMembers {
			return nil, badRequest("too_many_users", "checks",
				fmt.Sprintf("A batch may name at most %d members besides the caller; this one names %d.", store.MaxLoadMembers, len(others)))
		}
	}
	var facts store.CheckFacts
	if len(others) > 0 || len(docs) > 0 {
		if facts, err = s.Store.LoadCheckFacts(ctx, p.AccountID(), others, docs); err != nil {
			return nil, err
		}
	}
	for i := range resources {
		ref, ok := storedRef(resources[i])
		if !ok {
			continue
		}
		if doc, found := facts.Documents[ref]; found {
			if !mayViewDocument(p, doc) {
				// A caller who may not see the document learns nothing of
				// its stored facts: no comparison, the same answer for
				// every guess; the check is decided on the stored facts.
				resources[i].Store, resources[i].Department, resources[i].Supplier, resources[i].DocStatus = "", "", "", ""
			}
			if err := withStored(&resources[i], doc, facts.Policies[ref.Type], prefix(i)+"resource"); err != nil {
				return nil, err
			}
		}
	}
	subjects := map[string]*rbac.Principal{}
	if len(others) > 0 {
		rs, err := s.roleSets.Get(p.AccountID(), facts.Roles.Options, facts.Roles.Version, facts.Roles.Roles)
		if err != nil {
			return nil, err
		}
		for _, id := range others {
			m, ok := facts.Members[id]
			if !ok {
				return nil, errUserNotFound(id)
			}
			if !mayView(p, rs, m) {
				return nil, errCannotViewMember(id)
			}
			subjects[id] = rs.Compile(m.Authz(p.At))
		}
	}
	out := make([]CheckResult, len(checks))
	for i, c := range checks {
		subject := p.Authz
		if c.UserID != "" && c.UserID != p.Member.ID {
			subject = subjects[c.UserID]
		}
		out[i] = toCheckResult(subject.Decide(c.Action, resources[i]))
	}
	return out, nil
}

var errCannotViewUsers = fault.New(fault.Forbidden, "forbidden",
	"Checking another member's permissions needs users.view.")

func errCannotViewMember(id string) error {
	return fault.New(fault.Forbidden, "forbidden",
		fmt.Sprintf("Checking member %s needs users.view at account scope or at every scope the member has a grant in.", id))
}

func errUserNotFound(id string) error {
	e := fault.New(fault.NotFound, "user_not_found", fmt.Sprintf("There is no member %q in this account.", id))
	e.Fields = []fault.Field{{Field: "userId", Detail: "no such member"}}
	return e
}

// viewsSomeUsers reports whether the caller holds users.view anywhere,
// before anything is read.
func viewsSomeUsers(p *auth.Principal) bool {
	for _, sp := range p.Authz.Effective() {
		for _, k := range sp.Permissions {
			if k == permUsersView {
				return true
			}
		}
	}
	return false
}

// mayView reports whether the caller may see member m's permissions:
// users.view at account scope, or at every scope m has a grant in (never
// an administrator, nor a member without grants, which only account-scope
// viewers see).
func mayView(p *auth.Principal, rs *rbac.RoleSet, m team.Member) bool {
	if p.Authz.Holds(permUsersView, rbac.AccountScope) {
		return true
	}
	// Every grant of m counts here, expired or not started: its view
	// shows them all.
	am := m.Authz(p.At)
	if rs.IsAdmin(am) || len(am.Assignments) == 0 {
		return false
	}
	for _, a := range am.Assignments {
		if a.Scope.IsAccount() || !p.Authz.Holds(permUsersView, a.Scope) {
			return false
		}
	}
	return true
}

// CheckBatch answers 1 to MaxBatchChecks checks in order
// (checkPermissionBatch). All the other members and all the stored
// documents named are read with the roles and the policies in one store
// call (see decideChecks). The batch is validated as a whole: one bad
// check refuses the batch, naming the check's index ("checks[2].action").
func (s *Service) CheckBatch(ctx context.Context, p *auth.Principal, checks []CheckInput) ([]CheckResult, error) {
	if err := caller(p); err != nil {
		return nil, err
	}
	switch {
	case len(checks) == 0:
		return nil, badRequest("missing_field", "checks", `Field "checks" must hold 1 to 100 checks.`)
	case len(checks) > MaxBatchChecks:
		return nil, badRequest("too_many_checks", "checks", fmt.Sprintf("A batch holds at most %d checks; this one has %d. Split it.", MaxBatchChecks, len(checks)))
	}
	return s.decideChecks(ctx, p, checks, func(i int) string { return fmt.Sprintf("checks[%d].", i) })
}

// MyPermissions returns the caller's effective permissions per scope
// (myPermissions), for a client to show or hide its controls. It reads
// nothing: the principal holds them.
func (s *Service) MyPermissions(_ context.Context, p *auth.Principal) (EffectivePermissions, error) {
	if err := caller(p); err != nil {
		return EffectivePermissions{}, err
	}
	out := EffectivePermissions{
		MemberID: p.Member.ID, Admin: p.Authz.IsAdmin(), Owner: p.Authz.IsOwner(), Impersonated: p.Impersonated(),
		Scopes: views.EffectiveOf(p.Authz),
	}
	return out, nil
}

// WhoCan returns the members who may do q.Action on q.Resource (whoCan),
// examining one page of q.Limit members of the account (one query) at a
// time: a page may hold fewer allowed members than the limit, even none,
// while Next is set. It needs users.view at account scope.
func (s *Service) WhoCan(ctx context.Context, p *auth.Principal, q WhoCanQuery) (WhoCanPage, error) {
	if err := caller(p); err != nil {
		return WhoCanPage{}, err
	}
	if !p.Authz.Holds(permUsersView, rbac.AccountScope) {
		return WhoCanPage{}, fault.New(fault.Forbidden, "forbidden", "Who-can needs users.view at account scope.")
	}
	if err := validateAction(q.Action, "action"); err != nil {
		return WhoCanPage{}, err
	}
	res, err := q.Resource.resource(p.AccountID(), "")
	if err != nil {
		return WhoCanPage{}, err
	}
	// A deleted member is allowed nothing: who-can reads the live ones.
	page, err := s.Store.ListLiveMembers(ctx, p.AccountID(), q.Limit, q.Cursor)
	if err != nil {
		return WhoCanPage{}, err
	}
	out := WhoCanPage{Items: []Allowed{}, Next: page.Next}
	for _, m := range page.Items {
		d := p.Roles.Compile(m.Authz(p.At)).Decide(q.Action, res)
		if d.Allowed {
			out.Items = append(out.Items, Allowed{Member: m, Decision: d})
		}
	}
	return out, nil
}

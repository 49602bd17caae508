// Package permissions is the permission capability: the catalogue, custom
// roles, permission checks (one or a batch), the caller's effective
// permissions and the "who can" query. It decides with pkg/rbac and reads
// and writes through pkg/store.
//
// Service holds the operations: each takes the authenticated principal
// (*auth.Principal) and typed inputs, returns typed results, and refuses
// with *fault.Error values (whose kinds pkg/httpapi maps to statuses). It
// knows nothing of HTTP, so a server-rendered page, a workflow step or an
// event publisher calls the same operations as the API. http.go holds the
// API's handlers: each decodes the request (body, path, query, If-Match),
// calls one operation and encodes the result (status, ETag, JSON);
// operations.go binds the route table's operation ids to them, and the
// principal comes from the request context (auth.FromContext).
//
// Operations (see Service.Operations):
//
//	GET    /v1/permissions        listPermissions       Catalogue      HandleListPermissions
//	GET    /v1/roles              listRoles             ListRoles      HandleListRoles
//	POST   /v1/roles              createRole            CreateRole     HandleCreateRole
//	GET    /v1/roles/{id}         getRole               GetRole        HandleGetRole
//	PATCH  /v1/roles/{id}         updateRole            UpdateRole     HandleUpdateRole
//	DELETE /v1/roles/{id}         deleteRole            DeleteRole     HandleDeleteRole
//	POST   /v1/authz/check        checkPermission       Check          HandleCheck
//	POST   /v1/authz/check-batch  checkPermissionBatch  CheckBatch     HandleCheckBatch
//	GET    /v1/me/permissions     myPermissions         MyPermissions  HandleMyPermissions
//	GET    /v1/authz/who-can      whoCan                WhoCan         HandleWhoCan
//
// # Decisions
//
// Reading: every member of an account may read the catalogue and the
// account's roles (built-in and custom): clients need them to show
// assignments and to hide controls.
//
// Managing roles (create, change, delete) needs settings.manage at account
// scope; administrators and the owner hold it, and so does full_access at
// account scope (junior_admin, which excludes settings, does not). The
// grant ceiling applies on top: the caller must hold, at account scope,
// every permission of the role it creates, of the role's new definition
// and of the role's current one (nobody edits or deletes a role stronger
// than themselves). Custom roles never list critical or owner-only
// permissions (rbac.ValidateRole). Warnings about missing dependencies
// (e.g. presets.edit_shared without reports.view) do not block a change;
// they are returned with the role.
//
// An account's custom roles are one DynamoDB item with a version. That
// version is the ETag of GET /v1/roles and GET /v1/roles/{id} ("<version>",
// httpapi.ETag), so any change to any custom role changes every role's
// ETag. If-Match is read by the API's one rule (httpapi.ParseIfMatch) and
// compared with the version of the collection ("0" matches an account
// without custom roles). PATCH needs it (428 without it, 412 when stale);
// DELETE accepts it. POST and DELETE without If-Match re-read and retry a
// few times when another change wins the race. Built-in roles are read-only (403 built_in_role).
// An account has at most store.MaxCustomRoles custom roles.
//
// Narrowing a role's scopeKinds while members hold it at a kind that is
// no longer allowed is refused (409 role_in_use): those assignments would
// silently grant nothing.
//
// Deleting a role that members hold (whatever their status: a deleted
// member's dangling assignment would grant again if the id were reused)
// needs ?members=reassign&to=<roleId> or ?members=remove; without it the
// answer is 409 role_in_use with the number of members. Each changed member
// passes the grant ceiling (rbac.RoleSet.CheckChange): the caller needs
// users.manage where the member has grants, may only grant the target role
// where it holds its permissions, never changes its own grants, and only
// administrators change administrators. Up to store.MaxMembersPerRoleChange
// (95) holders, the role removal and every member change are one
// transaction with one audit event (role.delete). A role with more holders
// is deleted as resumable work behind a marker on the role: the role is
// marked "deleting" (role.delete_started; from then on no member write can
// give it, 400 role_deleted, and it cannot be changed, 409 role_deleting),
// its holders move in chunks of store.MaxMembersPerRoleChange, one
// transaction each (role.members_moved, the role's holdersLeft updated),
// and the last chunk deletes the role (role.delete). The request keeps
// going for Service.DeleteBudget (DefaultDeleteBudget, 10 s); when that
// runs out it answers 202 with the role as it stands (status "deleting",
// holdersLeft), and the next DELETE of the role resumes the work. Nothing
// runs after the answer (a Lambda may be frozen then): the marker and the
// holders still holding the role are the whole state, so a repeated
// DELETE, from anyone allowed to delete the role, continues wherever the
// last one stopped.
//
// Checks: the resource always belongs to the caller's account; a client
// cannot name another tenant. A check about the caller costs no DynamoDB
// request (the principal was loaded by authentication). A check about
// another member (userId) needs users.view: at account scope, or at every
// scope the member has a grant in (a store manager may check members of its
// own stores; administrators are only visible to account-scope viewers).
// The member and the account's roles version item are read in one
// BatchGetItem (with the document the check names, if any), the roles
// themselves coming from the store's per-version cache; an id that is not a member of
// the caller's account is 404 user_not_found. An API key checks by the
// same rule, with its own permissions at its own scopes (users.view among
// them to name a userId). A batch holds 1 to 100 checks answered in order,
// and reads all the distinct other members it names plus the roles in one
// BatchGetItem (at most store.MaxLoadMembers distinct other members). A
// batch is validated as a whole: one bad check is a 4xx for the batch,
// naming the check's index. In a check's resource, "type" is informational
// unless it names a document type, which then also sets docType.
//
// The stored document wins: a check whose resource names a stored document
// (a document type in type or docType, and its id) decides on the stored
// store, department, supplier and status, and on whether the type's
// approval policy requires an approval at the stored amount. A field the
// caller gives that contradicts the stored one is refused with 400
// resource_mismatch (naming the field, not telling the stored value);
// fields left out are taken from the document, and approvalRequired can
// only add a requirement. A resource naming no stored document (an id the
// host app never registered) is decided as given. The documents and their
// types' policies are read together with the other members and the roles:
// one BatchGetItem for a whole batch up to 100 keys (documents, one policy
// per document type, other members, the roles version item), and beyond
// that ceil(keys/100) BatchGetItems sent at once (store.LoadCheckFacts), one
// round trip either way. A check about the caller alone on a resource that
// names no document still costs no DynamoDB request.
//
// Managing roles is refused to an impersonated session (403
// impersonation_forbidden): the route table marks those routes
// (routes.Route.NoImpersonation) and the router refuses before the
// handler runs; any other caller of CreateRole, UpdateRole or DeleteRole
// must refuse an impersonated principal itself.
//
// Who can: GET /v1/authz/who-can needs users.view at account scope. Query
// parameters are the check resource's fields (type, id, store, department,
// supplier, docType, docStatus, approvalRequired) plus action, limit (1 to
// httpapi.MaxLimit, else 400 invalid_parameter) and cursor. Each page
// examines up to limit members of the account (one query) and returns
// those allowed, so a page may hold fewer items than limit, even none,
// while nextCursor is set; follow it to the end. The answer is
// {action, items, nextCursor} (httpapi.List with the action).
//
// Unknown query parameters are refused (400 unknown_parameter), like
// unknown body fields, so that a misspelt filter is not silently ignored.
package permissions

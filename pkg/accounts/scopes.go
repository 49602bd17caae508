package accounts

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Stores, departments and suppliers are served by one implementation: a kind of
// scope item is one entry of scopeKinds (a scopeKind, over its value in
// pkg/team and its items in pkg/store) and its rows in the route table (pkg/routes), GET /v1/{plural}, GET and PUT
// /v1/{plural}/{id}, whose operations are list{Plural}, get{Name} and
// put{Name}.

// scopeKind is one kind of scope item that the account manages: T is its
// value, B the body of its PUT.
type scopeKind[T team.ScopeItem[T], B any] struct {
	// name is the kind ("store"): the type of its audit targets and of
	// its rbac resources, and the start of its audit actions;
	// operation names it capitalized ("getStore").
	name string
	// plural names its routes (/v1/stores) and list operation
	// ("listStores").
	plural string
	// perm lets its holder see every item at account scope, or one
	// item at that item's scope.
	perm string
	// missing is the store's error for a missing item.
	missing error
	// resource is the item as a resource of decisions.
	resource func(account, id string) rbac.Resource
	// get, list and put are the store's operations on the kind.
	get  func(s *store.Store, ctx context.Context, account, id string) (T, error)
	list func(s *store.Store, ctx context.Context, account string, limit int, cursor string) (store.Page[T], error)
	put  func(s *store.Store, ctx context.Context, account string, v T, ev audit.Event) (T, error)
	// parse checks a body and returns the item it describes (no
	// version or times).
	parse func(b B, id string) (T, error)
	// view is the item's JSON answer; snap its audit snapshot at a
	// version.
	view func(T) any
	snap func(v T, version int64) any
}

// denied refuses a caller who may see no item of the kind.
func (k scopeKind[T, B]) denied() error {
	return fault.New(fault.Forbidden, "forbidden", "Viewing "+k.plural+" needs "+k.perm+" or directory.view.")
}

// notFound answers a missing item.
func (k scopeKind[T, B]) notFound() error {
	return fault.New(fault.NotFound, "not_found", "The "+k.name+" does not exist.")
}

// scopeRoutes adds the handlers of a kind's operations (http.go).
type scopeRoutes interface {
	addOperations(h *Handler, ops map[string]httpapi.HandlerFunc)
}

// scopeKinds are the kinds of scope item the account routes serve.
var scopeKinds = []scopeRoutes{
	scopeKind[team.Store, StoreBody]{
		name: "store", plural: "stores", perm: permStores, missing: team.ErrStoreNotFound,
		get: (*store.Store).GetStore, list: (*store.Store).ListStores, put: (*store.Store).PutStore,
		parse: StoreBody.Store, view: storeView, snap: anySnap(storeSnap),
		resource: func(a, id string) rbac.Resource { return rbac.Resource{Account: a, Type: "store", ID: id, Store: id} },
	},
	scopeKind[team.Department, DepartmentBody]{
		name: "department", plural: "departments", perm: permRecords, missing: team.ErrDepartmentNotFound,
		get: (*store.Store).GetDepartment, list: (*store.Store).ListDepartments, put: (*store.Store).PutDepartment,
		parse: DepartmentBody.Department, view: departmentView, snap: anySnap(departmentSnap),
		resource: func(a, id string) rbac.Resource {
			return rbac.Resource{Account: a, Type: "department", ID: id, Department: id}
		},
	},
	scopeKind[team.Supplier, SupplierBody]{
		name: "supplier", plural: "suppliers", perm: permPurchases, missing: team.ErrSupplierNotFound,
		get: (*store.Store).GetSupplier, list: (*store.Store).ListSuppliers, put: (*store.Store).PutSupplier,
		parse: SupplierBody.Supplier, view: supplierView, snap: anySnap(supplierSnap),
		resource: func(a, id string) rbac.Resource {
			return rbac.Resource{Account: a, Type: "supplier", ID: id, Supplier: id}
		},
	},
}

// JSON shapes of the scope items, and their audit snapshots (what an item
// is, without times). Field names are camelCase and part of the API
// contract (pkg/openapi/openapi.json).

type storeSnapshot struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Address  string `json:"address,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
	Version  int64  `json:"version"`
}

type storeJSON struct {
	storeSnapshot
	itemTimes
}

func storeSnap(s team.Store, version int64) storeSnapshot {
	return storeSnapshot{ID: s.ID, Name: s.Name, Address: s.Address, TimeZone: s.TimeZone, Version: version}
}

func storeView(s team.Store) any { return storeJSON{storeSnap(s, s.Version), timesOf(s)} }

type departmentSnapshot struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Version int64  `json:"version"`
}

type departmentJSON struct {
	departmentSnapshot
	itemTimes
}

func departmentSnap(d team.Department, version int64) departmentSnapshot {
	return departmentSnapshot{ID: d.ID, Name: d.Name, Kind: string(d.Kind), Version: version}
}

func departmentView(d team.Department) any {
	return departmentJSON{departmentSnap(d, d.Version), timesOf(d)}
}

type supplierSnapshot struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

type supplierJSON struct {
	supplierSnapshot
	itemTimes
}

func supplierSnap(p team.Supplier, version int64) supplierSnapshot {
	return supplierSnapshot{ID: p.ID, Name: p.Name, Version: version}
}

func supplierView(p team.Supplier) any { return supplierJSON{supplierSnap(p, p.Version), timesOf(p)} }

// itemTimes end an item's JSON, after its snapshot's fields.
type itemTimes struct {
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func timesOf[T team.ScopeItem[T]](v T) itemTimes {
	st := v.Stamps()
	return itemTimes{CreatedAt: st.CreatedAt.UTC(), UpdatedAt: st.UpdatedAt.UTC()}
}

// anySnap is a snapshot function whose snapshots are any.
func anySnap[T, S any](f func(T, int64) S) func(T, int64) any {
	return func(v T, version int64) any { return f(v, version) }
}

// seesAll reports whether p sees every item of the kind.
func (k scopeKind[T, B]) seesAll(p *auth.Principal) bool {
	acct := accountResource(p)
	return p.Authz.Holds(permDirectory, rbac.AccountScope) || allowed(p, k.perm, acct) || allowed(p, permSettings, acct)
}

// sees reports whether p sees the item id.
func (k scopeKind[T, B]) sees(p *auth.Principal, all bool, id string) bool {
	return all || allowed(p, k.perm, k.resource(p.AccountID(), id))
}

// mayList reports whether p may list the kind at all (it then sees the
// items sees allows).
func (k scopeKind[T, B]) mayList(p *auth.Principal) (all bool, ok bool) {
	if k.seesAll(p) {
		return true, true
	}
	return false, holdsSomewhere(p, k.perm)
}

// Get reads an item the caller may see.
func (k scopeKind[T, B]) Get(ctx context.Context, h *Handler, p *auth.Principal, id string) (T, error) {
	var zero T
	if err := ValidateID(id); err != nil {
		return zero, err
	}
	if !k.sees(p, k.seesAll(p), id) {
		return zero, k.denied()
	}
	v, err := k.get(h.Store, ctx, p.AccountID(), id)
	if errors.Is(err, k.missing) {
		return zero, k.notFound()
	}
	return v, err
}

// List lists the items the caller may see.
func (k scopeKind[T, B]) List(ctx context.Context, h *Handler, p *auth.Principal, limit int, cursor string) (store.Page[T], error) {
	all, ok := k.mayList(p)
	if !ok {
		return store.Page[T]{}, k.denied()
	}
	page, err := k.list(h.Store, ctx, p.AccountID(), limit, cursor)
	if err != nil {
		return page, err
	}
	page.Items = slices.DeleteFunc(page.Items, func(v T) bool { return !k.sees(p, all, v.ScopeID()) })
	return page, nil
}

// Put creates the item id (version 0: no If-Match) or replaces it at the
// version read; read reads the version and the body once the caller may
// change items and the id is valid. created says which.
func (k scopeKind[T, B]) Put(ctx context.Context, h *Handler, p *auth.Principal, id string, read ReadRequest) (out T, created bool, err error) {
	var zero T
	if err := requireSettings(p); err != nil {
		return zero, false, err
	}
	if err := ValidateID(id); err != nil {
		return zero, false, err
	}
	var body B
	version, err := read(&body)
	if err != nil {
		return zero, false, err
	}
	v, err := k.parse(body, id)
	if err != nil {
		return zero, false, err
	}
	account := p.AccountID()
	ev := p.Event(ctx, k.name+".create", k.name, id)
	if version == 0 {
		ev.After = snapshot(k.snap(v, 1))
		out, err = k.put(p.Acting(h.Store), ctx, account, v, ev)
		if errors.Is(err, team.ErrScopeExists) {
			return zero, false, errExists
		}
		return out, err == nil, err
	}
	before, err := k.get(h.Store, ctx, account, id)
	if errors.Is(err, k.missing) || err == nil && !httpapi.VersionMatches(version, before.Stamps().Version) {
		return zero, false, errStale
	}
	if err != nil {
		return zero, false, err
	}
	v = v.WithStamps(before.Stamps())
	if v == before {
		return before, false, nil
	}
	at := before.Stamps().Version
	ev.Action = k.name + ".replace"
	ev.Before, ev.After = snapshot(k.snap(before, at)), snapshot(k.snap(v, at+1))
	out, err = k.put(p.Acting(h.Store), ctx, account, v, ev)
	if errors.Is(err, team.ErrStaleVersion) || errors.Is(err, k.missing) {
		return zero, false, errStale
	}
	return out, false, err
}

// capitalized is s with its first letter upper-case (ASCII).
func capitalized(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

package apitest

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

type acctEvent struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	Actor struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"actor"`
	Impersonator *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"impersonator"`
	Action string `json:"action"`
	Target struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"target"`
	Before    map[string]any `json:"before"`
	After     map[string]any `json:"after"`
	RequestID string         `json:"requestId"`
}

type acctPage struct {
	Items []map[string]any `json:"items"`
	Next  string           `json:"nextCursor"`
}

// acctOwner signs up an account and signs its owner in.
func (e *Env) acctOwner(t *testing.T, prefix string) (signedUp, string) {
	t.Helper()
	o := e.signupBare(t, newEmail(prefix))
	return o, e.login(t, o.Email, goodPassword, "").AccessToken
}

// acctMember adds an active member with the given assignments to owner's
// account (a person who also has an account of their own) and signs them
// in to owner's account.
func (e *Env) acctMember(t *testing.T, owner signedUp, as []rbac.Assignment) (string, string) {
	t.Helper()
	p := e.signupBare(t, newEmail("acct-member"))
	now := time.Now()
	m := team.Member{
		ID: store.NewID("m"), AccountID: owner.AccountID, IdentityID: mustIdentity(t, e, p.Email), Email: p.Email, Name: "Mo Member",
		Status: rbac.StatusActive, Assignments: as, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	ev := audit.Event{AccountID: owner.AccountID, ActorID: owner.MemberID, Action: "member.create", TargetType: "member", TargetID: m.ID}
	if err := e.Store.AddMember(context.Background(), m, ev); err != nil {
		t.Fatal(err)
	}
	return m.ID, e.login(t, p.Email, goodPassword, owner.AccountID).AccessToken
}

// acctField returns the first field a problem names.
func (r *Response) acctField(t *testing.T) string {
	t.Helper()
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	r.JSON(t, &p)
	if len(p.Errors) == 0 {
		return ""
	}
	return p.Errors[0].Field
}

func wantETag(t *testing.T, r *Response, want string) {
	t.Helper()
	if got := r.Header.Get("ETag"); got != want {
		t.Fatalf("ETag %q, want %q (%s)", got, want, r.Body)
	}
}

// acctList follows a list's cursors to the end and returns the ids, and
// how many pages it took.
func (e *Env) acctList(t *testing.T, token, path string, limit int) ([]string, int) {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 1; ; pages++ {
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p acctPage
		e.Call(t, "GET", path+"?"+q.Encode(), token, nil).Want(t, http.StatusOK, "").JSON(t, &p)
		if len(p.Items) > limit {
			t.Fatalf("%s: %d items over the limit %d", path, len(p.Items), limit)
		}
		for _, it := range p.Items {
			ids = append(ids, it["id"].(string))
		}
		if p.Next == "" {
			return ids, pages
		}
		if pages > 50 {
			t.Fatalf("%s: no end after 50 pages", path)
		}
		cursor = p.Next
	}
}

func TestAccountReadAndPatch(t *testing.T) {
	e := New(t)
	owner, tk := e.acctOwner(t, "acct-patch")

	r := e.Call(t, "GET", "/v1/account", tk, nil).Want(t, http.StatusOK, "")
	wantETag(t, r, `"1"`)
	a := r.Map(t)
	if a["id"] != owner.AccountID || a["ownerId"] != owner.MemberID || a["settings"].(map[string]any)["timeZone"] != "UTC" {
		t.Fatalf("account %v", a)
	}

	if st := a["settings"].(map[string]any); st["auditRetentionDays"] != 400.0 || st["documentRetentionDays"] != 730.0 {
		t.Fatalf("default retention %v", st)
	}

	change := map[string]any{"name": "Acme Renamed", "settings": map[string]any{
		"timeZone": "Europe/Berlin", "alertHour": 6, "invitationTtlHours": 48, "auditRetentionDays": 90,
		"externalApproverDomains": []string{"Partner.Example", "partner.example"},
	}}
	e.Call(t, "PATCH", "/v1/account", tk, change).Want(t, http.StatusPreconditionRequired, "precondition_required")
	e.Call(t, "PATCH", "/v1/account", tk, change, "If-Match", "W/1").Want(t, http.StatusBadRequest, "invalid_field")
	r = e.Call(t, "PATCH", "/v1/account", tk, change, "If-Match", `"1"`).Want(t, http.StatusOK, "")
	wantETag(t, r, `"2"`)
	a = r.Map(t)
	s := a["settings"].(map[string]any)
	if a["name"] != "Acme Renamed" || s["timeZone"] != "Europe/Berlin" || s["alertHour"] != 6.0 || s["invitationTtlHours"] != 48.0 ||
		len(s["externalApproverDomains"].([]any)) != 1 || s["externalApproverDomains"].([]any)[0] != "partner.example" {
		t.Fatalf("patched account %v", a)
	}
	if s["auditRetentionDays"] != 90.0 || s["documentRetentionDays"] != 730.0 {
		t.Fatalf("patched retention %v", s)
	}
	// The same If-Match again is stale: nobody's change is lost.
	e.Call(t, "PATCH", "/v1/account", tk, map[string]any{"name": "Lost"}, "If-Match", `"1"`).Want(t, http.StatusPreconditionFailed, "stale_version")

	// Bad settings answer 400 naming the field, and change nothing.
	for _, c := range []struct {
		body  any
		code  string
		field string
	}{
		{map[string]any{"settings": map[string]any{"timeZone": "Mars/Olympus_Mons"}}, "invalid_field", "settings.timeZone"},
		{map[string]any{"settings": map[string]any{"alertHour": 25}}, "invalid_field", "settings.alertHour"},
		{map[string]any{"settings": map[string]any{"alertHour": "seven"}}, "invalid_field", "settings.alertHour"},
		{map[string]any{"settings": map[string]any{"invitationTtlHours": 0}}, "invalid_field", "settings.invitationTtlHours"},
		{map[string]any{"settings": map[string]any{"auditRetentionDays": 29}}, "invalid_field", "settings.auditRetentionDays"},
		{map[string]any{"settings": map[string]any{"documentRetentionDays": 3651}}, "invalid_field", "settings.documentRetentionDays"},
		{map[string]any{"settings": map[string]any{"externalApproverDomains": []string{"ok.example", "not a domain"}}}, "invalid_field", "settings.externalApproverDomains[1]"},
		{map[string]any{"settings": map[string]any{"selfRegistration": map[string]any{"defaultRole": "administrator"}}}, "invalid_field", "settings.selfRegistration.defaultRole"},
		{map[string]any{"settings": map[string]any{"selfRegistration": map[string]any{"enabled": true, "defaultRole": "team_member"}}}, "invalid_field", "settings.selfRegistration.domains"},
		{map[string]any{"settings": map[string]any{"colour": "red"}}, "unknown_field", "colour"},
		{map[string]any{"ownerId": "m_x"}, "unknown_field", "ownerId"},
		{map[string]any{"name": ""}, "invalid_field", "name"},
	} {
		r := e.Call(t, "PATCH", "/v1/account", tk, c.body, "If-Match", `"2"`).Want(t, http.StatusBadRequest, c.code)
		if got := r.acctField(t); got != c.field {
			t.Errorf("%v: problem names %q, want %q", c.body, got, c.field)
		}
	}
	e.Call(t, "PATCH", "/v1/account", tk, "{", "If-Match", `"2"`).Want(t, http.StatusBadRequest, "invalid_json")

	// Self-registration with a domain and a default role.
	r = e.Call(t, "PATCH", "/v1/account", tk, map[string]any{"settings": map[string]any{"selfRegistration": map[string]any{
		"enabled": true, "domains": []string{"Acme.Example"}, "defaultRole": "team_member",
	}}}, "If-Match", `"2"`).Want(t, http.StatusOK, "")
	wantETag(t, r, `"3"`)
	sr := r.Map(t)["settings"].(map[string]any)["selfRegistration"].(map[string]any)
	if sr["enabled"] != true || sr["defaultRole"] != "team_member" || sr["domains"].([]any)[0] != "acme.example" {
		t.Fatalf("self-registration %v", sr)
	}
	// A change that changes nothing writes nothing.
	r = e.Call(t, "PATCH", "/v1/account", tk, map[string]any{"name": "Acme Renamed"}, "If-Match", `"3"`).Want(t, http.StatusOK, "")
	wantETag(t, r, `"3"`)
	r = e.Call(t, "GET", "/v1/account", tk, nil).Want(t, http.StatusOK, "")
	wantETag(t, r, `"3"`)
	if r.Map(t)["name"] != "Acme Renamed" {
		t.Fatalf("account after bad patches %s", r.Body)
	}
	page, err := e.Store.ListAudit(context.Background(), owner.AccountID, audit.Filter{Action: "account.update"}, 10, "")
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("account.update events %+v, %v: want 2", page.Items, err)
	}
}

func TestStoresAndDepartments(t *testing.T) {
	e := New(t)
	owner, tk := e.acctOwner(t, "acct-scopes")

	r := e.Call(t, "PUT", "/v1/stores/s1", tk, map[string]any{"name": "Main", "address": "1 High St", "timeZone": "Europe/Paris"}).Want(t, http.StatusCreated, "")
	wantETag(t, r, `"1"`)
	if r.Header.Get("Location") != "/v1/stores/s1" {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	e.Call(t, "PUT", "/v1/stores/s2", tk, map[string]any{"name": "Outlet"}).Want(t, http.StatusCreated, "")
	// Without If-Match an existing store is not replaced.
	e.Call(t, "PUT", "/v1/stores/s1", tk, map[string]any{"name": "Blind"}).Want(t, http.StatusPreconditionRequired, "precondition_required")

	r = e.Call(t, "GET", "/v1/stores/s1", tk, nil).Want(t, http.StatusOK, "")
	wantETag(t, r, `"1"`)
	st := r.Map(t)
	if st["name"] != "Main" || st["address"] != "1 High St" || st["timeZone"] != "Europe/Paris" || st["version"] != 1.0 {
		t.Fatalf("store %v", st)
	}
	ids, pages := e.acctList(t, tk, "/v1/stores", 1)
	if !slices.Equal(ids, []string{"s1", "s2"}) || pages < 2 {
		t.Fatalf("stores %v in %d pages", ids, pages)
	}

	r = e.Call(t, "PUT", "/v1/stores/s1", tk, map[string]any{"name": "Main Street"}, "If-Match", `"1"`).Want(t, http.StatusOK, "")
	wantETag(t, r, `"2"`)
	st = r.Map(t)
	if st["name"] != "Main Street" || st["address"] != nil || st["createdAt"] == st["updatedAt"] {
		t.Fatalf("replaced store %v", st)
	}
	e.Call(t, "PUT", "/v1/stores/s1", tk, map[string]any{"name": "Lost"}, "If-Match", `"1"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	e.Call(t, "PUT", "/v1/stores/s9", tk, map[string]any{"name": "Ghost"}, "If-Match", `"1"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	e.Call(t, "GET", "/v1/stores/s9", tk, nil).Want(t, http.StatusNotFound, "not_found")

	// Bad ids and bodies.
	for _, path := range []string{"/v1/stores/bad.id", "/v1/stores/a%20b", "/v1/departments/x:y"} {
		if r := e.Call(t, "GET", path, tk, nil).Want(t, http.StatusBadRequest, "invalid_field"); r.acctField(t) != "id" {
			t.Errorf("GET %s names %q", path, r.acctField(t))
		}
		e.Call(t, "PUT", path, tk, map[string]any{"name": "x", "kind": "sales"}).Want(t, http.StatusBadRequest, "invalid_field")
	}
	e.Call(t, "PUT", "/v1/stores/s3", tk, map[string]any{"name": "x", "id": "s3"}).Want(t, http.StatusBadRequest, "unknown_field")
	e.Call(t, "PUT", "/v1/stores/s3", tk, map[string]any{"address": "nowhere"}).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "PUT", "/v1/stores/s3", tk, map[string]any{"name": "x", "timeZone": "Atlantis/Capital"}).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "GET", "/v1/stores?limit=0", tk, nil).Want(t, http.StatusBadRequest, "invalid_field")

	// Departments work the same.
	r = e.Call(t, "PUT", "/v1/departments/d1", tk, map[string]any{"name": "Sales", "kind": "sales"}).Want(t, http.StatusCreated, "")
	wantETag(t, r, `"1"`)
	e.Call(t, "PUT", "/v1/departments/d2", tk, map[string]any{"name": "R&D", "kind": "custom"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/departments/d3", tk, map[string]any{"name": "Marketing", "kind": "marketing"}).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "PUT", "/v1/departments/d1", tk, map[string]any{"name": "Sales", "kind": "sales"}).Want(t, http.StatusPreconditionRequired, "precondition_required")
	r = e.Call(t, "PUT", "/v1/departments/d1", tk, map[string]any{"name": "Sales EU", "kind": "sales"}, "If-Match", `"1"`).Want(t, http.StatusOK, "")
	wantETag(t, r, `"2"`)
	e.Call(t, "PUT", "/v1/departments/d1", tk, map[string]any{"name": "Lost", "kind": "sales"}, "If-Match", `"1"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	r = e.Call(t, "GET", "/v1/departments/d2", tk, nil).Want(t, http.StatusOK, "")
	wantETag(t, r, `"1"`)
	if d := r.Map(t); d["name"] != "R&D" || d["kind"] != "custom" {
		t.Fatalf("department %v", d)
	}
	ids, pages = e.acctList(t, tk, "/v1/departments", 1)
	if !slices.Equal(ids, []string{"d1", "d2"}) || pages < 2 {
		t.Fatalf("departments %v in %d pages", ids, pages)
	}
	e.Call(t, "GET", "/v1/departments/d9", tk, nil).Want(t, http.StatusNotFound, "not_found")

	// The scopes that assignments name must exist: one read answers which
	// do not (the account always does; supplier acme is registered here).
	e.Call(t, "PUT", "/v1/suppliers/acme", tk, map[string]any{"name": "Acme Supply"}).Want(t, http.StatusCreated, "")
	missing, err := e.Store.ScopesExist(context.Background(), owner.AccountID, []rbac.Scope{
		rbac.AccountScope, rbac.StoreScope("s1"), rbac.DepartmentScope("d1"), rbac.StoreScope("zz"),
		rbac.SupplierScope("acme"), rbac.DepartmentScope("s1"), rbac.StoreScope("zz"),
	})
	if err != nil || !slices.Equal(missing, []rbac.Scope{rbac.StoreScope("zz"), rbac.DepartmentScope("s1")}) {
		t.Fatalf("missing scopes %v, %v", missing, err)
	}
	if missing, err := e.Store.ScopesExist(context.Background(), owner.AccountID, nil); err != nil || len(missing) != 0 {
		t.Fatalf("no scopes: %v, %v", missing, err)
	}
}

func TestAuditLog(t *testing.T) {
	e := New(t)
	owner, tk := e.acctOwner(t, "acct-audit")
	e.Call(t, "PUT", "/v1/stores/s1", tk, map[string]any{"name": "Main"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/stores/s2", tk, map[string]any{"name": "Outlet"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/stores/s1", tk, map[string]any{"name": "Main Street"}, "If-Match", `"1"`).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/departments/d1", tk, map[string]any{"name": "Buying", "kind": "purchase"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PATCH", "/v1/account", tk, map[string]any{"settings": map[string]any{"alertHour": 8}}, "If-Match", `"1"`).Want(t, http.StatusOK, "")

	list := func(q url.Values) ([]acctEvent, string) {
		t.Helper()
		var p struct {
			Items []acctEvent `json:"items"`
			Next  string      `json:"nextCursor"`
		}
		e.Call(t, "GET", "/v1/audit?"+q.Encode(), tk, nil).Want(t, http.StatusOK, "").JSON(t, &p)
		return p.Items, p.Next
	}
	actions := func(evs []acctEvent) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Action+" "+ev.Target.ID)
		}
		return out
	}

	all, _ := list(url.Values{"limit": {"200"}})
	if len(all) < 5 || !slices.Equal(actions(all[:5]), []string{
		"account.update " + owner.AccountID, "department.create d1", "store.replace s1", "store.create s2", "store.create s1",
	}) {
		t.Fatalf("newest first: %v", actions(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Time.After(all[i-1].Time) {
			t.Fatalf("event %d is newer than event %d", i, i-1)
		}
	}
	replace := all[2]
	if replace.Actor.ID != owner.MemberID || replace.Actor.Name != "Olive Owner" || replace.Impersonator != nil || replace.RequestID == "" ||
		replace.Target.Type != "store" || replace.Before["name"] != "Main" || replace.After["name"] != "Main Street" || replace.After["version"] != 2.0 {
		t.Fatalf("store.replace event %+v", replace)
	}
	if all[4].Before != nil || all[4].After["name"] != "Main" {
		t.Fatalf("store.create event %+v", all[4])
	}
	acct := all[0]
	if acct.Before["settings"].(map[string]any)["alertHour"] != 7.0 || acct.After["settings"].(map[string]any)["alertHour"] != 8.0 {
		t.Fatalf("account.update event %+v", acct)
	}

	// Filters.
	if evs, _ := list(url.Values{"action": {"store.create"}}); !slices.Equal(actions(evs), []string{"store.create s2", "store.create s1"}) {
		t.Fatalf("action filter: %v", actions(evs))
	}
	if evs, _ := list(url.Values{"target": {"store:s1"}}); !slices.Equal(actions(evs), []string{"store.replace s1", "store.create s1"}) {
		t.Fatalf("target filter: %v", actions(evs))
	}
	if evs, _ := list(url.Values{"targetType": {"store"}, "targetId": {"s2"}}); !slices.Equal(actions(evs), []string{"store.create s2"}) {
		t.Fatalf("targetType/targetId filter: %v", actions(evs))
	}
	if evs, _ := list(url.Values{"actor": {owner.MemberID}, "target": {"store:s1"}, "action": {"store.replace"}}); !slices.Equal(actions(evs), []string{"store.replace s1"}) {
		t.Fatalf("actor+target+action filter: %v", actions(evs))
	}
	if evs, _ := list(url.Values{"actor": {owner.MemberID}, "limit": {"200"}}); len(evs) < 5 || evs[0].ID != all[0].ID {
		t.Fatalf("actor filter: %v", actions(evs))
	}
	if evs, _ := list(url.Values{"actor": {"m_nobody"}}); len(evs) != 0 {
		t.Fatalf("unknown actor: %v", actions(evs))
	}
	at := replace.Time.Format(time.RFC3339Nano)
	if evs, _ := list(url.Values{"from": {at}, "to": {at}}); !slices.Equal(actions(evs), []string{"store.replace s1"}) {
		t.Fatalf("time range [%s, %s]: %v", at, at, actions(evs))
	}
	if evs, _ := list(url.Values{"from": {at}, "action": {"store.create"}}); len(evs) != 0 {
		t.Fatalf("creates after the replacement: %v", actions(evs))
	}
	if evs, _ := list(url.Values{"to": {all[3].Time.Format(time.RFC3339Nano)}, "targetType": {"store"}, "targetId": {"s1"}}); !slices.Equal(actions(evs), []string{"store.create s1"}) {
		t.Fatalf("up to the second create: %v", actions(evs))
	}

	// Pagination: two at a time gives the same events in the same order.
	var paged []string
	cursor := ""
	for i := 0; ; i++ {
		q := url.Values{"limit": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		evs, next := list(q)
		if len(evs) > 2 || i > 100 {
			t.Fatalf("page %d: %d events", i, len(evs))
		}
		for _, ev := range evs {
			paged = append(paged, ev.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	var want []string
	for _, ev := range all {
		want = append(want, ev.ID)
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged %v, want %v", paged, want)
	}

	// A forged cursor, or one of another filter, is refused.
	_, next := list(url.Values{"limit": {"1"}})
	e.Call(t, "GET", "/v1/audit?cursor=forged", tk, nil).Want(t, http.StatusBadRequest, "bad_cursor")
	e.Call(t, "GET", "/v1/audit?action=store.create&cursor="+url.QueryEscape(next), tk, nil).Want(t, http.StatusBadRequest, "bad_cursor")
	e.Call(t, "GET", "/v1/stores?cursor="+url.QueryEscape(next), tk, nil).Want(t, http.StatusBadRequest, "bad_cursor")
	e.Call(t, "GET", "/v1/audit?cursor="+url.QueryEscape(next), tk, nil).Want(t, http.StatusOK, "")

	// Bad filters.
	for _, q := range []string{"from=yesterday", "to=2025-13-01T00:00:00Z", "target=store", "targetType=store", "action=Not%20An%20Action",
		"from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z", "limit=1000"} {
		e.Call(t, "GET", "/v1/audit?"+q, tk, nil).Want(t, http.StatusBadRequest, "invalid_field")
	}
}

// Another account's owner, calling every route with this account's ids,
// gets their own account's data only.
func TestAccountRoutesTenantIsolation(t *testing.T) {
	e := New(t)
	ownerA, tkA := e.acctOwner(t, "acct-iso-a")
	ownerB, tkB := e.acctOwner(t, "acct-iso-b")
	e.Call(t, "PUT", "/v1/stores/sa", tkA, map[string]any{"name": "A store"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/stores/sa2", tkA, map[string]any{"name": "A store 2"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/departments/da", tkA, map[string]any{"name": "A dept", "kind": "sales"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/stores/sb", tkB, map[string]any{"name": "B store"}).Want(t, http.StatusCreated, "")

	// Account: B reads and changes B.
	if a := e.Call(t, "GET", "/v1/account", tkB, nil).Want(t, http.StatusOK, "").Map(t); a["id"] != ownerB.AccountID {
		t.Fatalf("B reads account %v", a["id"])
	}
	if a := e.Call(t, "PATCH", "/v1/account", tkB, map[string]any{"name": "B renamed"}, "If-Match", `"1"`).Want(t, http.StatusOK, "").Map(t); a["id"] != ownerB.AccountID {
		t.Fatalf("B patched account %v", a["id"])
	}
	if a := e.Call(t, "GET", "/v1/account", tkA, nil).Want(t, http.StatusOK, "").Map(t); a["name"] == "B renamed" || a["version"] != 1.0 {
		t.Fatalf("A's account changed: %v", a)
	}

	// Stores and departments: A's ids are not found for B.
	e.Call(t, "GET", "/v1/stores/sa", tkB, nil).Want(t, http.StatusNotFound, "not_found")
	e.Call(t, "GET", "/v1/departments/da", tkB, nil).Want(t, http.StatusNotFound, "not_found")
	e.Call(t, "PUT", "/v1/stores/sa", tkB, map[string]any{"name": "Hijack"}, "If-Match", `"1"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	e.Call(t, "PUT", "/v1/departments/da", tkB, map[string]any{"name": "Hijack", "kind": "sales"}, "If-Match", `"1"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	if ids, _ := e.acctList(t, tkB, "/v1/stores", 50); !slices.Equal(ids, []string{"sb"}) {
		t.Fatalf("B lists stores %v", ids)
	}
	if ids, _ := e.acctList(t, tkB, "/v1/departments", 50); len(ids) != 0 {
		t.Fatalf("B lists departments %v", ids)
	}
	// Ids are per account: B may have its own "sa", and A's stays A's.
	e.Call(t, "PUT", "/v1/stores/sa", tkB, map[string]any{"name": "B's sa"}).Want(t, http.StatusCreated, "")
	if st := e.Call(t, "GET", "/v1/stores/sa", tkA, nil).Want(t, http.StatusOK, "").Map(t); st["name"] != "A store" || st["version"] != 1.0 {
		t.Fatalf("A's store changed: %v", st)
	}

	// A's cursors do not work for B.
	var p acctPage
	e.Call(t, "GET", "/v1/stores?limit=1", tkA, nil).Want(t, http.StatusOK, "").JSON(t, &p)
	if p.Next == "" {
		t.Fatal("A's first page of stores has no cursor")
	}
	e.Call(t, "GET", "/v1/stores?limit=1&cursor="+url.QueryEscape(p.Next), tkB, nil).Want(t, http.StatusBadRequest, "bad_cursor")
	var ap acctPage
	e.Call(t, "GET", "/v1/audit?limit=1", tkA, nil).Want(t, http.StatusOK, "").JSON(t, &ap)
	e.Call(t, "GET", "/v1/audit?limit=1&cursor="+url.QueryEscape(ap.Next), tkB, nil).Want(t, http.StatusBadRequest, "bad_cursor")

	// Audit: B sees none of A's events, whatever the filter.
	for _, q := range []string{"actor=" + ownerA.MemberID, "target=store:sa2", "target=account:" + ownerA.AccountID, "action=department.create", "limit=200"} {
		var p acctPage
		e.Call(t, "GET", "/v1/audit?"+q, tkB, nil).Want(t, http.StatusOK, "").JSON(t, &p)
		for _, it := range p.Items {
			if it["actor"].(map[string]any)["id"] == ownerA.MemberID || it["target"].(map[string]any)["id"] == "sa2" || it["target"].(map[string]any)["id"] == ownerA.AccountID {
				t.Fatalf("B's audit (%s) shows A's event %v", q, it)
			}
		}
	}
}

func TestAccountRoutesNeedPermissions(t *testing.T) {
	e := New(t)
	owner, tk := e.acctOwner(t, "acct-perm")
	e.Call(t, "PUT", "/v1/stores/s1", tk, map[string]any{"name": "One"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/stores/s2", tk, map[string]any{"name": "Two"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/departments/d1", tk, map[string]any{"name": "Sales", "kind": "sales"}).Want(t, http.StatusCreated, "")

	// A member without any grant reads the account and nothing else.
	nobodyID, nobody := e.acctMember(t, owner, nil)
	e.Call(t, "GET", "/v1/account", nobody, nil).Want(t, http.StatusOK, "")
	e.Call(t, "PATCH", "/v1/account", nobody, map[string]any{"name": "Mine"}, "If-Match", `"1"`).Want(t, http.StatusForbidden, "forbidden")
	e.Call(t, "PATCH", "/v1/account", nobody, map[string]any{"name": "Mine"}).Want(t, http.StatusForbidden, "forbidden")
	e.Call(t, "PUT", "/v1/stores/s3", nobody, map[string]any{"name": "Mine"}).Want(t, http.StatusForbidden, "forbidden")
	e.Call(t, "PUT", "/v1/stores/s1", nobody, map[string]any{"name": "Mine"}, "If-Match", `"1"`).Want(t, http.StatusForbidden, "forbidden")
	e.Call(t, "PUT", "/v1/departments/d2", nobody, map[string]any{"name": "Mine", "kind": "sales"}).Want(t, http.StatusForbidden, "forbidden")
	for _, path := range []string{"/v1/stores", "/v1/stores/s1", "/v1/stores/s9", "/v1/departments", "/v1/departments/d1", "/v1/audit"} {
		e.Call(t, "GET", path, nobody, nil).Want(t, http.StatusForbidden, "forbidden")
	}

	// A team member of store s1 sees that store only, and no audit log.
	_, staff := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}})
	if ids, _ := e.acctList(t, staff, "/v1/stores", 50); !slices.Equal(ids, []string{"s1"}) {
		t.Fatalf("team member lists stores %v", ids)
	}
	e.Call(t, "GET", "/v1/stores/s1", staff, nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/stores/s2", staff, nil).Want(t, http.StatusForbidden, "forbidden")
	e.Call(t, "GET", "/v1/audit", staff, nil).Want(t, http.StatusForbidden, "forbidden")
	e.Call(t, "PUT", "/v1/stores/s1", staff, map[string]any{"name": "Mine"}, "If-Match", `"1"`).Want(t, http.StatusForbidden, "forbidden")

	// A manager sees the directory: every store.
	_, mgr := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.StoreScope("s1")}})
	if ids, _ := e.acctList(t, mgr, "/v1/stores", 50); !slices.Equal(ids, []string{"s1", "s2"}) {
		t.Fatalf("manager lists stores %v", ids)
	}
	e.Call(t, "GET", "/v1/stores/s2", mgr, nil).Want(t, http.StatusOK, "")

	// Nothing changed; an impersonation shows both identities in the log.
	e.Call(t, "POST", "/v1/users/"+nobodyID+"/impersonate", tk, nil).Want(t, http.StatusOK, "")
	var p struct {
		Items []acctEvent `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=session.impersonate", tk, nil).Want(t, http.StatusOK, "").JSON(t, &p)
	if len(p.Items) != 1 || p.Items[0].Actor.ID != nobodyID || p.Items[0].Impersonator == nil ||
		p.Items[0].Impersonator.ID != owner.MemberID || p.Items[0].Impersonator.Name != "Olive Owner" {
		t.Fatalf("impersonation events %+v", p.Items)
	}
	if a := e.Call(t, "GET", "/v1/account", tk, nil).Want(t, http.StatusOK, "").Map(t); a["version"] != 1.0 {
		t.Fatalf("account changed: %v", a)
	}
}

// Two changes based on the same version: exactly one wins, the other is
// told its version is stale, and the winner's change is what is stored.
func TestConcurrentAccountPatchesOneWins(t *testing.T) {
	e := New(t)
	_, tk := e.acctOwner(t, "acct-race")
	e.Call(t, "PUT", "/v1/stores/s1", tk, map[string]any{"name": "Start"}).Want(t, http.StatusCreated, "")
	for _, c := range []struct{ method, path, field string }{
		{"PATCH", "/v1/account", "name"},
		{"PUT", "/v1/stores/s1", "name"},
	} {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		names := []string{"First", "Second"}
		for i := range 2 {
			wg.Go(func() {
				statuses[i] = e.Call(t, c.method, c.path, tk, map[string]any{c.field: names[i]}, "If-Match", `"1"`).Status
			})
		}
		wg.Wait()
		slices.Sort(statuses)
		if !slices.Equal(statuses, []int{http.StatusOK, http.StatusPreconditionFailed}) {
			t.Fatalf("%s %s: statuses %v, want one 200 and one 412", c.method, c.path, statuses)
		}
		r := e.Call(t, "GET", c.path, tk, nil).Want(t, http.StatusOK, "")
		wantETag(t, r, `"2"`)
		if n := r.Map(t)["name"]; n != "First" && n != "Second" {
			t.Fatalf("%s: stored name %v", c.path, n)
		}
	}
}

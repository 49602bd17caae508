package apitest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestCheckBadInput(t *testing.T) {
	e := newPermEnv(t)
	for name, tc := range map[string]struct {
		body   any
		status int
		code   string
		field  string
	}{
		"unknown action":       {permCheck("orders.fly", map[string]any{}, ""), 400, "unknown_action", "orders.fly"},
		"no action":            {map[string]any{"resource": map[string]any{}}, 400, "missing_field", "action"},
		"no resource":          {map[string]any{"action": "orders.view"}, 400, "missing_field", "resource"},
		"store with spaces":    {permCheck("orders.view", map[string]any{"store": "s 1"}, ""), 400, "invalid_scope", "resource.store"},
		"store as scope":       {permCheck("orders.view", map[string]any{"store": "store:s1"}, ""), 400, "invalid_scope", "resource.store"},
		"bad department":       {permCheck("orders.view", map[string]any{"department": strings.Repeat("d", 129)}, ""), 400, "invalid_scope", "resource.department"},
		"bad docType":          {permCheck("documents.view", map[string]any{"docType": "memo"}, ""), 400, "unknown_document_type", "memo"},
		"bad docStatus":        {permCheck("documents.view", map[string]any{"docType": "bom", "docStatus": "lost"}, ""), 400, "unknown_document_status", "lost"},
		"type and docType":     {permCheck("documents.view", map[string]any{"type": "bom", "docType": "write_off"}, ""), 400, "invalid_field", "disagree"},
		"unknown field":        {map[string]any{"action": "orders.view", "resource": map[string]any{}, "accountId": "a_other"}, 400, "unknown_field", "accountId"},
		"resource account":     {permCheck("orders.view", map[string]any{"account": "a_other"}, ""), 400, "unknown_field", "account"},
		"bad userId":           {permCheck("orders.view", map[string]any{}, "a#b"), 400, "invalid_field", "userId"},
		"wrong type":           {map[string]any{"action": 3, "resource": map[string]any{}}, 400, "invalid_field", "action"},
		"unknown user (owner)": {permCheck("orders.view", map[string]any{}, "m_nobody"), 404, "user_not_found", "m_nobody"},
		"empty body":           {"", 400, "empty_body", ""},
	} {
		t.Run(name, func(t *testing.T) {
			d := e.do(e.owner, "POST", "/v1/authz/check", tc.body).problem(t, tc.status, tc.code)
			if !strings.Contains(d, tc.field) {
				t.Fatalf("detail %q does not name %q", d, tc.field)
			}
		})
	}
}

func TestCheckBatchBadInput(t *testing.T) {
	e := newPermEnv(t)
	many := make([]any, 101)
	for i := range many {
		many[i] = permCheck("orders.view", map[string]any{}, "")
	}
	e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": many}).problem(t, http.StatusBadRequest, "too_many_checks")
	e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{}}).problem(t, http.StatusBadRequest, "missing_field")
	d := e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{
		permCheck("orders.view", map[string]any{}, ""), permCheck("orders.view", map[string]any{}, ""), permCheck("nope.nope", map[string]any{}, ""),
	}}).problem(t, http.StatusBadRequest, "unknown_action")
	if !strings.Contains(d, "nope.nope") {
		t.Fatalf("detail %q", d)
	}
	r := e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{permCheck("orders.view", map[string]any{"store": "a b"}, "")}})
	r.problem(t, http.StatusBadRequest, "invalid_scope")
	if errs := r.json(t)["errors"].([]any); errs[0].(map[string]any)["field"] != "checks[0].resource.store" {
		t.Fatalf("errors %v", errs)
	}
	e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{permCheck("orders.view", map[string]any{}, "m_ghost")}}).problem(t, http.StatusNotFound, "user_not_found")
}

func TestCheckBatchAnswersInOrder(t *testing.T) {
	e := newPermEnv(t)
	mgr := e.member(e.acct, "Mia", "manager@store:s1")
	tm := e.member(e.acct, "Tom", "team_member@store:s2")
	sup := e.member(e.acct, "Sue", "supplier@supplier:acme")
	checks := []struct {
		body    map[string]any
		allowed bool
		code    string
	}{
		{permCheck("orders.view", map[string]any{"store": "s1"}, mgr.ID), true, "role"},
		{permCheck("orders.view", map[string]any{"store": "s1"}, tm.ID), false, "no_grant"},
		{permCheck("orders.view", map[string]any{"store": "s2"}, tm.ID), true, "role"},
		{permCheck("billing.manage", map[string]any{}, ""), true, "owner"},
		{permCheck("purchases.view", map[string]any{"supplier": "acme"}, sup.ID), true, "role"},
		{permCheck("purchases.view", map[string]any{"supplier": "other"}, sup.ID), false, "no_grant"},
		{permCheck("documents.approve", map[string]any{"type": "invoice", "store": "s1"}, mgr.ID), false, "no_approval_step"},
		{permCheck("users.manage", map[string]any{"store": "s1"}, mgr.ID), true, "role"},
		{permCheck("ownership.transfer", map[string]any{}, mgr.ID), false, "owner_only"},
		{permCheck("documents.edit", map[string]any{"type": "purchase_order", "docStatus": "pending_approval"}, e.owner.ID), false, "document_pending_approval"},
	}
	var body []any
	for _, c := range checks {
		body = append(body, c.body)
	}
	res := e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": body}).ok(t, http.StatusOK)["results"].([]any)
	if len(res) != len(checks) {
		t.Fatalf("%d results for %d checks", len(res), len(checks))
	}
	for i, c := range checks {
		got := res[i].(map[string]any)
		if got["allowed"] != c.allowed || got["code"] != c.code || got["reason"] == "" {
			t.Errorf("check %d (%v): %v, want allowed=%v code=%s", i, c.body, got, c.allowed, c.code)
		}
	}
}

func TestCheckAnotherMemberNeedsUsersView(t *testing.T) {
	e := newPermEnv(t)
	mgr := e.member(e.acct, "Mia", "manager@store:s1")
	tm1 := e.member(e.acct, "Tom", "team_member@store:s1")
	tm2 := e.member(e.acct, "Tim", "team_member@store:s2")
	both := e.member(e.acct, "Bo", "team_member@store:s1", "team_member@store:s2")
	body := func(user string) map[string]any { return permCheck("orders.view", map[string]any{"store": "s1"}, user) }

	// A team member holds no users.view: refused before any read.
	r := e.do(tm1, "POST", "/v1/authz/check", body(tm2.ID))
	r.problem(t, http.StatusForbidden, "forbidden")
	if n := len(e.count.take()); n != 0 {
		t.Fatalf("refusal cost %d requests", n)
	}
	e.do(tm1, "POST", "/v1/authz/check", body(tm1.ID)).ok(t, http.StatusOK) // itself by id
	// A store manager checks members of its own store only.
	if got := e.do(mgr, "POST", "/v1/authz/check", body(tm1.ID)).ok(t, http.StatusOK); got["allowed"] != true {
		t.Fatalf("manager about its member: %v", got)
	}
	e.do(mgr, "POST", "/v1/authz/check", body(tm2.ID)).problem(t, http.StatusForbidden, "forbidden")
	e.do(mgr, "POST", "/v1/authz/check", body(both.ID)).problem(t, http.StatusForbidden, "forbidden")
	e.do(mgr, "POST", "/v1/authz/check", body(e.owner.ID)).problem(t, http.StatusForbidden, "forbidden")
	e.do(mgr, "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{body(tm1.ID), body(tm2.ID)}}).problem(t, http.StatusForbidden, "forbidden")
	// The owner sees everyone.
	e.do(e.owner, "POST", "/v1/authz/check", body(both.ID)).ok(t, http.StatusOK)
}

func TestTenantIsolation(t *testing.T) {
	e := newPermEnv(t)
	memberA := e.member(e.acct, "Al", "full_access@account")
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "secret_role", "name": "Secret", "permissions": []string{"orders.view"}}).ok(t, http.StatusCreated)
	acctB, ownerB := e.newAccount()
	memberB := e.member(acctB, "Bo", "team_member@store:s1")

	body := permCheck("orders.view", map[string]any{"store": "s1"}, memberA.ID)
	e.do(ownerB, "POST", "/v1/authz/check", body).problem(t, http.StatusNotFound, "user_not_found")
	e.do(ownerB, "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{body}}).problem(t, http.StatusNotFound, "user_not_found")
	e.do(ownerB, "POST", "/v1/authz/check", permCheck("orders.view", map[string]any{}, e.owner.ID)).problem(t, http.StatusNotFound, "user_not_found")
	// Another account's custom role is invisible and untouchable.
	e.do(ownerB, "GET", "/v1/roles/secret_role", nil).problem(t, http.StatusNotFound, "role_not_found")
	e.do(ownerB, "DELETE", "/v1/roles/secret_role", nil).problem(t, http.StatusNotFound, "role_not_found")
	e.do(ownerB, "PATCH", "/v1/roles/secret_role", map[string]any{"name": "Mine"}, "If-Match", `"0"`).problem(t, http.StatusNotFound, "role_not_found")
	for _, role := range e.do(ownerB, "GET", "/v1/roles", nil).ok(t, http.StatusOK)["roles"].([]any) {
		if role.(map[string]any)["id"] == "secret_role" {
			t.Fatal("account B lists account A's role")
		}
	}
	// Who-can in B lists B's members only.
	items := e.do(ownerB, "GET", "/v1/authz/who-can?action=orders.view&store=s1", nil).ok(t, http.StatusOK)["items"].([]any)
	var ids []string
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	slices.Sort(ids)
	want := []string{ownerB.ID, memberB.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("who-can in B: %v, want %v", ids, want)
	}
	if v := e.rolesVersion(e.acct); v != 1 {
		t.Fatalf("account A's roles changed: version %d", v)
	}
}

// One check for another member costs one DynamoDB request; a batch of 100
// checks for one member costs one; a batch for 5 members costs one; a
// check about oneself costs none.
func TestDecisionRequestCounts(t *testing.T) {
	e := newPermEnv(t)
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "buyer", "name": "Buyer", "permissions": []string{"purchases.view", "purchases.edit"}}).ok(t, http.StatusCreated)
	var members []string
	for i := range 5 {
		members = append(members, e.member(e.acct, fmt.Sprint("m", i), fmt.Sprintf("buyer@store:s%d", i)).ID)
	}
	expect := func(name string, want int) {
		t.Helper()
		ops := e.count.take()
		if len(ops) != want || want == 1 && ops[0] != "BatchGetItem" {
			t.Fatalf("%s: %d DynamoDB requests %v, want %d (a BatchGetItem)", name, len(ops), ops, want)
		}
	}

	got := e.do(e.owner, "POST", "/v1/authz/check", permCheck("purchases.edit", map[string]any{"store": "s0"}, members[0])).ok(t, http.StatusOK)
	if got["allowed"] != true {
		t.Fatalf("check: %v", got)
	}
	expect("one check for another member", 1)

	e.do(e.owner, "POST", "/v1/authz/check", permCheck("purchases.edit", map[string]any{"store": "s0"}, "")).ok(t, http.StatusOK)
	expect("one check for oneself", 0)

	var same, mixed []any
	for i := range 100 {
		same = append(same, permCheck("purchases.edit", map[string]any{"store": fmt.Sprint("s", i%7)}, members[0]))
		mixed = append(mixed, permCheck("purchases.edit", map[string]any{"store": fmt.Sprint("s", i%5)}, members[i%5]))
	}
	res := e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": same}).ok(t, http.StatusOK)["results"].([]any)
	expect("100 checks for one member", 1)
	for i, r := range res {
		if r.(map[string]any)["allowed"] != (i%7 == 0) {
			t.Fatalf("same member, check %d: %v", i, r)
		}
	}
	res = e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": mixed}).ok(t, http.StatusOK)["results"].([]any)
	expect("100 checks for 5 members", 1)
	for i, r := range res {
		if r.(map[string]any)["allowed"] != true {
			t.Fatalf("mixed, check %d: %v", i, r)
		}
	}
	e.do(e.owner, "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{permCheck("orders.view", map[string]any{}, "")}}).ok(t, http.StatusOK)
	expect("a batch about oneself", 0)
}

func TestMyPermissions(t *testing.T) {
	e := newPermEnv(t)
	tm := e.member(e.acct, "Tom", "team_member@store:s1", "planner_overview@account")
	body := e.do(tm, "GET", "/v1/me/permissions", nil).ok(t, http.StatusOK)
	if body["admin"] != false || body["owner"] != false || body["memberId"] != tm.ID {
		t.Fatalf("flags %v", body)
	}
	scopes := body["scopes"].([]any)
	if len(scopes) != 2 {
		t.Fatalf("scopes %v", scopes)
	}
	acct, s1 := scopes[0].(map[string]any), scopes[1].(map[string]any)
	if acct["scope"] != "account" || fmt.Sprint(acct["permissions"]) != "[planning.overview]" {
		t.Fatalf("account scope %v", acct)
	}
	if s1["scope"] != "store:s1" || !slices.Contains(s1["permissions"].([]any), any("orders.view")) || !slices.Contains(s1["permissions"].([]any), any("planning.overview")) {
		t.Fatalf("store scope %v", s1)
	}
	owner := e.do(e.owner, "GET", "/v1/me/permissions", nil).ok(t, http.StatusOK)
	if owner["admin"] != true || owner["owner"] != true {
		t.Fatalf("owner %v", owner)
	}
	os := owner["scopes"].([]any)
	if len(os) != 1 || !slices.Contains(os[0].(map[string]any)["permissions"].([]any), any("ownership.transfer")) {
		t.Fatalf("owner scopes %v", os)
	}
}

func TestWhoCan(t *testing.T) {
	e := newPermEnv(t)
	appr := e.member(e.acct, "Ava", "approver@store:s1")
	e.member(e.acct, "Val", "approver@store:s2")
	e.member(e.acct, "Tom", "team_member@store:s1")
	mgr := e.member(e.acct, "Mia", "manager@store:s1")
	susp := e.member(e.acct, "Sid", "approver@store:s1")
	susp.Status = "suspended"
	e.assignStatus(susp)

	q := "/v1/authz/who-can?action=documents.approve&type=purchase_order&store=s1&docStatus=pending_approval"
	var got []string
	cursor, pages := "", 0
	for {
		url := q + "&limit=2"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		body := e.do(e.owner, "GET", url, nil).ok(t, http.StatusOK)
		if ops := e.count.take(); len(ops) != 1 {
			t.Fatalf("page cost %v", ops)
		}
		for _, it := range body["items"].([]any) {
			it := it.(map[string]any)
			got = append(got, it["id"].(string))
			if it["id"] == appr.ID && (it["code"] != "role" || it["grantedBy"].(map[string]any)["scope"] != "store:s1") {
				t.Fatalf("approver item %v", it)
			}
		}
		pages++
		next, _ := body["nextCursor"].(string)
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("pages do not end")
		}
		cursor = next
	}
	slices.Sort(got)
	want := []string{e.owner.ID, appr.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) || pages < 3 {
		t.Fatalf("who-can %v over %d pages, want %v", got, pages, want)
	}

	e.do(mgr, "GET", q, nil).problem(t, http.StatusForbidden, "forbidden") // users.view at a store only
	e.do(e.owner, "GET", "/v1/authz/who-can?store=s1", nil).problem(t, http.StatusBadRequest, "missing_field")
	e.do(e.owner, "GET", "/v1/authz/who-can?action=fly.away", nil).problem(t, http.StatusBadRequest, "unknown_action")
	e.do(e.owner, "GET", q+"&stor=s1", nil).problem(t, http.StatusBadRequest, "unknown_parameter")
	e.do(e.owner, "GET", q+"&limit=0", nil).problem(t, http.StatusBadRequest, "invalid_parameter")
	e.do(e.owner, "GET", q+"&limit=201", nil).problem(t, http.StatusBadRequest, "invalid_parameter")
	e.do(e.owner, "GET", q+"&cursor=forged", nil).problem(t, http.StatusBadRequest, "bad_cursor")
	e.do(e.owner, "GET", "/v1/authz/who-can?action=orders.view&store=s%201", nil).problem(t, http.StatusBadRequest, "invalid_scope")
	e.do(e.owner, "GET", "/v1/authz/who-can?action=orders.view&approvalRequired=yes", nil).problem(t, http.StatusBadRequest, "invalid_parameter")
	// A cursor of another account does not open here.
	acctB, ownerB := e.newAccount()
	e.member(acctB, "x")
	e.member(acctB, "y")
	first := e.do(ownerB, "GET", "/v1/authz/who-can?action=orders.view&limit=1", nil).ok(t, http.StatusOK)
	e.do(e.owner, "GET", "/v1/authz/who-can?action=orders.view&cursor="+first["nextCursor"].(string), nil).problem(t, http.StatusBadRequest, "bad_cursor")
}

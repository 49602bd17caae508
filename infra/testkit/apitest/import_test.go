package apitest

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// POST /v1/users/import: many inactive members in one call, each row as
// POST /v1/users, answered row by row (seed 003: inactive end users
// "installed ... via a user import").

// importAnswer is the 200 answer of POST /v1/users/import.
type importAnswer struct {
	Results []struct {
		Row    int    `json:"row"`
		Status string `json:"status"`
		ID     string `json:"id"`
		Error  *struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"error"`
	} `json:"results"`
	Created int `json:"created"`
	Failed  int `json:"failed"`
}

// importUsers posts rows as token and answers the 200 answer.
func (e *Env) importUsers(t *testing.T, token string, rows ...map[string]any) importAnswer {
	t.Helper()
	var ans importAnswer
	e.Call(t, "POST", "/v1/users/import", token, map[string]any{"users": rows}).Want(t, http.StatusOK, "").JSON(t, &ans)
	if len(ans.Results) != len(rows) || ans.Created+ans.Failed != len(rows) {
		t.Fatalf("import of %d rows answered %+v", len(rows), ans)
	}
	for i, r := range ans.Results {
		if r.Row != i {
			t.Fatalf("result %d names row %d: results out of row order", i, r.Row)
		}
	}
	return ans
}

// wantRows checks each row's outcome: "created" or the failure's code.
func wantRows(t *testing.T, ans importAnswer, want ...string) {
	t.Helper()
	for i, w := range want {
		r := ans.Results[i]
		got := r.Status
		if r.Status == "created" && r.ID == "" {
			got = "created without an id"
		}
		if r.Status == "failed" {
			if r.Error == nil || r.Error.Detail == "" {
				got = "failed without an error"
			} else {
				got = r.Error.Code
			}
		}
		if got != w {
			t.Errorf("row %d: %s, want %s (%+v)", i, got, w, r)
		}
	}
}

func importRow(email string, role, scope string) map[string]any {
	row := map[string]any{"email": email, "name": "Imported " + email[:6]}
	if role != "" {
		row["assignments"] = []map[string]string{{"role": role, "scope": scope}}
	}
	return row
}

func TestUserImportMixedRows(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("imp-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	existing := newEmail("imp-existing")
	e.mbInactive(t, ownerTk, existing, nil)

	first := newEmail("imp-a")
	before := e.auditCountAction(t, owner.AccountID, "member.create")
	ans := e.importUsers(t, ownerTk,
		importRow(first, "team_member", "store:s1"),
		importRow("not an email", "", ""),
		importRow(newEmail("imp-b"), "", ""),
		map[string]any{"email": "  " + first + " ", "name": "Same person, again"},
		importRow(existing, "team_member", "store:s1"),
		importRow(newEmail("imp-c"), "team_member", "store:nowhere"),
		importRow(newEmail("imp-d"), "no_such_role", "store:s1"),
		map[string]any{"email": newEmail("imp-e"), "name": ""},
		map[string]any{"email": newEmail("imp-f"), "name": "Bad scope", "assignments": []map[string]string{{"role": "team_member", "scope": "galaxy:far"}}},
		importRow(newEmail("imp-g"), "accountant", "store:s2"),
	)
	wantRows(t, ans, "created", "invalid_field", "created", "duplicate_in_file", "already_member",
		"unknown_scope", "invalid_field", "invalid_field", "invalid_field", "created")
	if ans.Created != 3 || ans.Failed != 7 {
		t.Fatalf("counts: created %d failed %d", ans.Created, ans.Failed)
	}
	// Each created row is an inactive member without a sign-in, with its
	// grants, audited as POST /v1/users audits one.
	for _, i := range []int{0, 2, 9} {
		var m memberView
		e.Call(t, "GET", "/v1/users/"+ans.Results[i].ID, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
		if m.Status != "inactive" {
			t.Errorf("row %d: member %+v, want inactive", i, m)
		}
		if i == 0 && (m.Email != first || len(m.Assignments) != 1 || m.Assignments[0].Role != "team_member" || m.Assignments[0].Scope != "store:s1") {
			t.Errorf("row 0: member %+v", m)
		}
	}
	if n := e.auditCountAction(t, owner.AccountID, "member.create") - before; n != 3 {
		t.Errorf("%d member.create events, want 3 (one per created row)", n)
	}
	// An inactive member cannot sign in: there is no sign-in to use.
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": first, "password": goodPassword}).Want(t, http.StatusUnauthorized, "")
	// Nor can it be reactivated; it can be invited.
	e.Call(t, "POST", "/v1/users/"+ans.Results[0].ID+"/reactivate", ownerTk, nil).Want(t, http.StatusConflict, "no_identity")
	// A second import of the same file creates nothing new.
	again := e.importUsers(t, ownerTk, importRow(first, "team_member", "store:s1"))
	wantRows(t, again, "already_member")
}

// The grant ceiling applies per row: a manager at store s1 creates the
// members it could create one by one, and the other rows fail with the
// codes POST /v1/users answers.
func TestUserImportCeilingPerRow(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("imp-ceil"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	_, mgrTk := e.join(t, ownerTk, newEmail("imp-mgr"), store1("manager"))
	ans := e.importUsers(t, mgrTk.AccessToken,
		importRow(newEmail("imp-ok"), "team_member", "store:s1"),
		importRow(newEmail("imp-s2"), "team_member", "store:s2"),
		importRow(newEmail("imp-acct"), "accountant", "store:s1"),
		map[string]any{"email": newEmail("imp-adm"), "name": "Would Be Admin", "admin": true, "assignments": teamMemberAtS1()},
		importRow(newEmail("imp-none"), "", ""),
		importRow(newEmail("imp-sm"), "senior_manager", "store:s1"),
	)
	wantRows(t, ans, "created", "outside_managed_scope", "exceeds_own_rights", "admin_only",
		"outside_managed_scope", "admin_only_role")
	// The same rows one by one answer the same codes.
	e.Call(t, "POST", "/v1/users", mgrTk.AccessToken, importRow(newEmail("imp-s2b"), "team_member", "store:s2")).Want(t, http.StatusForbidden, "outside_managed_scope")
	e.Call(t, "POST", "/v1/users", mgrTk.AccessToken, importRow(newEmail("imp-acctb"), "accountant", "store:s1")).Want(t, http.StatusForbidden, "exceeds_own_rights")
}

// The whole call is refused only for its size, its caller or its session.
func TestUserImportLimits(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("imp-lim"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken

	e.Call(t, "POST", "/v1/users/import", ownerTk, map[string]any{"users": []any{}}).Want(t, http.StatusBadRequest, "import_empty")
	e.Call(t, "POST", "/v1/users/import", ownerTk, map[string]any{}).Want(t, http.StatusBadRequest, "import_empty")
	rows := make([]map[string]any, 1001)
	for i := range rows {
		rows[i] = map[string]any{"email": fmt.Sprintf("imp-lim-%d@example.com", i), "name": "Row " + strconv.Itoa(i)}
	}
	e.Call(t, "POST", "/v1/users/import", ownerTk, map[string]any{"users": rows}).Want(t, http.StatusBadRequest, "import_too_large")
	e.Call(t, "POST", "/v1/users/import", ownerTk, map[string]any{"users": []any{map[string]any{"email": "x@example.com", "name": "X", "boss": true}}}).Want(t, http.StatusBadRequest, "")

	// A member without users.manage anywhere: refused whole, as
	// POST /v1/users refuses it.
	_, tmTk := e.join(t, ownerTk, newEmail("imp-tm"), store1("team_member"))
	before := e.auditCount(t, owner.AccountID)
	e.Call(t, "POST", "/v1/users/import", tmTk.AccessToken, map[string]any{"users": []any{importRow(newEmail("imp-x"), "team_member", "store:s1")}}).Want(t, http.StatusForbidden, "outside_managed_scope")
	e.Call(t, "POST", "/v1/users", tmTk.AccessToken, importRow(newEmail("imp-x"), "team_member", "store:s1")).Want(t, http.StatusForbidden, "outside_managed_scope")
	if after := e.auditCount(t, owner.AccountID); after != before {
		t.Fatalf("refused imports wrote %d audit events", after-before)
	}

	// Idempotency-Key: a retry replays the answer and creates nothing.
	body := map[string]any{"users": []any{importRow(newEmail("imp-idem1"), "", ""), importRow(newEmail("imp-idem2"), "", "")}}
	first := e.Call(t, "POST", "/v1/users/import", ownerTk, body, "Idempotency-Key", "import-key-1").Want(t, http.StatusOK, "")
	n := e.auditCount(t, owner.AccountID)
	again := e.Call(t, "POST", "/v1/users/import", ownerTk, body, "Idempotency-Key", "import-key-1").Want(t, http.StatusOK, "")
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s / %s (%v)", first.Body, again.Body, again.Header)
	}
	if e.auditCount(t, owner.AccountID) != n {
		t.Fatal("the replay wrote")
	}
}

var _ = abuse(
	abuseCase{rule: "tenants are apart", who: "other tenant", name: "imports members into another account's stores and roles",
		status: http.StatusOK,
		do: func(t *testing.T, e *Env) *Response {
			a, aTk := e.acctOwner(t, "imp-ten-a")
			e.Call(t, "PUT", "/v1/stores/a_only_store", aTk, map[string]any{"name": "A only"}).Want(t, http.StatusCreated, "")
			e.Call(t, "POST", "/v1/roles", aTk, map[string]any{"id": "a_only_role", "name": "A only", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")
			aBefore := e.auditCount(t, a.AccountID)
			_, bTk := e.acctOwner(t, "imp-ten-b")
			r := e.Call(t, "POST", "/v1/users/import", bTk, map[string]any{"users": []any{
				importRow(newEmail("imp-ten1"), "team_member", "store:a_only_store"),
				importRow(newEmail("imp-ten2"), "a_only_role", "account"),
			}})
			var ans importAnswer
			r.JSON(t, &ans)
			wantRows(t, ans, "unknown_scope", "invalid_field")
			if after := e.auditCount(t, a.AccountID); after != aBefore {
				t.Errorf("A's audit log went from %d to %d", aBefore, after)
			}
			return r
		}},
	abuseCase{rule: "only managers create members", who: "member", name: "imports without users.manage",
		status: http.StatusForbidden, code: "outside_managed_scope",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("imp-nm"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			_, tk := e.join(t, ownerTk, newEmail("imp-nm-dm"), map[string]any{"assignments": []map[string]string{{"role": "department_manager", "scope": "department:sales"}}})
			return e.Call(t, "POST", "/v1/users/import", tk.AccessToken, map[string]any{"users": []any{importRow(newEmail("imp-nm-x"), "", "")}})
		}},
	abuseCase{rule: "impersonation is for looking", who: "impersonator", name: "imports members as the member",
		status: http.StatusForbidden, code: "impersonation_forbidden",
		do: func(t *testing.T, e *Env) *Response {
			owner, _, _, imp := e.impersonating(t)
			before := e.auditCount(t, owner.AccountID)
			r := e.Call(t, "POST", "/v1/users/import", imp, map[string]any{"users": []any{importRow(newEmail("imp-imp"), "", "")}})
			if after := e.auditCount(t, owner.AccountID); after != before {
				t.Errorf("the impersonated import wrote %d events", after-before)
			}
			return r
		}},
)

// TestUserImportThousandRows imports the most rows a call takes, every
// one created, and logs how long it took (-v shows it; the README's
// figure). No timed assertion: the time goes to the log only.
func TestUserImportThousandRows(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("imp-1000"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	rows := make([]map[string]any, 1000)
	for i := range rows {
		rows[i] = importRow(newEmail(fmt.Sprintf("imp%04d", i)), "team_member", "store:s1")
	}
	start := time.Now()
	ans := e.importUsers(t, ownerTk, rows...)
	took := time.Since(start)
	if ans.Created != 1000 {
		failed := map[string]int{}
		for _, r := range ans.Results {
			if r.Error != nil {
				failed[r.Error.Code]++
			}
		}
		t.Errorf("created %d of 1000; failures by code %v", ans.Created, failed)
	}
	t.Logf("1,000-row import: %d created in %s (%.0f rows/s)", ans.Created, took.Round(time.Millisecond), float64(ans.Created)/took.Seconds())
}

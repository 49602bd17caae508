package apitest

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// seniorOnlyPolicy awaits the senior managers of the account alone.
func seniorOnlyPolicy() map[string]any {
	return map[string]any{
		"enabled": true,
		"levels": []map[string]any{
			{"minAmount": 0, "role": "senior_manager", "required": 1, "scope": "account"},
		},
		"selfApproval":      false,
		"externalApprovers": map[string]any{"allowed": false},
		"expiresAfterHours": 48,
	}
}

// TestOffboardLeavesRequestsWithoutApprovers: taking out the only member a
// pending request awaits is refused with 409 approvers_left_without naming
// the request, unless force=true; a member whose duties others can take
// over leaves with or without a body; a body naming an unknown field is
// refused, and so is a reassignTo naming a member who is not active.
func TestOffboardLeavesRequestsWithoutApprovers(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, seniorOnlyPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-off", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-off", nil)
	e.approvalToken(t, tm.senior.Email, since)
	e.waitRequest(t, tm.senior.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })

	// Members awaited nowhere leave as before, with or without a body.
	e.Call(t, "POST", "/v1/users/"+tm.mgrS2.ID+"/suspend", tm.ownerTk, nil).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/users/"+tm.mgr2.ID+"/deactivate", tm.ownerTk, map[string]any{}).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/suspend", tm.ownerTk, map[string]any{"reassign": tm.senior.ID}).Want(t, http.StatusBadRequest, "unknown_field")
	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/suspend", tm.ownerTk, map[string]any{"reassignTo": tm.mgr2.ID}).Want(t, http.StatusConflict, "reassignee_not_active")

	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/users/" + tm.senior.ID + "/suspend"},
		{"POST", "/v1/users/" + tm.senior.ID + "/deactivate"},
		{"DELETE", "/v1/users/" + tm.senior.ID},
	} {
		var p struct {
			Code     string   `json:"code"`
			Requests []string `json:"requests"`
		}
		e.Call(t, c.method, c.path, tm.ownerTk, nil).Want(t, http.StatusConflict, "approvers_left_without").JSON(t, &p)
		if !slices.Equal(p.Requests, []string{req.ID}) {
			t.Fatalf("%s %s: requests %v, want [%s]", c.method, c.path, p.Requests, req.ID)
		}
		e.Call(t, c.method, c.path, tm.ownerTk, map[string]any{"force": false}).Want(t, http.StatusConflict, "approvers_left_without")
	}
	// Reactivating never checks; force proceeds.
	var m struct {
		Status string `json:"status"`
	}
	e.Call(t, "POST", "/v1/users/"+tm.senior.ID+"/suspend", tm.ownerTk, map[string]any{"force": true}).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "suspended" {
		t.Fatalf("after a forced suspension: %+v", m)
	}
	e.Call(t, "POST", "/v1/users/"+tm.senior.ID+"/reactivate", tm.ownerTk, nil).Want(t, http.StatusOK, "")
}

// TestOffboardCountsActiveApproversOnly: of two managers awaited at a
// level needing one approval, the first leaves freely; the second would
// leave the request to a suspended member only, which is refused.
func TestOffboardCountsActiveApproversOnly(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-two", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-two", nil)
	e.approvalToken(t, tm.mgr1.Email, since)
	e.waitRequest(t, tm.mgr1.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/suspend", tm.ownerTk, nil).Want(t, http.StatusOK, "")
	var p struct {
		Requests []string `json:"requests"`
	}
	e.Call(t, "DELETE", "/v1/users/"+tm.mgr2.ID, tm.ownerTk, nil).Want(t, http.StatusConflict, "approvers_left_without").JSON(t, &p)
	if !slices.Equal(p.Requests, []string{req.ID}) {
		t.Fatalf("requests %v, want [%s]", p.Requests, req.ID)
	}
	// Once mgr1 is back, mgr2 may leave.
	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/reactivate", tm.ownerTk, nil).Want(t, http.StatusOK, "")
	e.Call(t, "DELETE", "/v1/users/"+tm.mgr2.ID, tm.ownerTk, nil).Want(t, http.StatusOK, "")
}

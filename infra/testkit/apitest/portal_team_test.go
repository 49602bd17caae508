package apitest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The team page's search and a store manager's view read on past one
// store page: a member far down a large account is found on the first
// page view, and a manager whose store's members sit far apart sees them
// without paging through the account 25 at a time.
func TestPortalTeamSearchReadsOn(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pts-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	var rows []map[string]any
	for i := range 120 {
		row := importRow(newEmail(fmt.Sprintf("pts-%03d", i)), "team_member", "store:s2")
		row["name"] = fmt.Sprintf("Bulk member %03d", i)
		rows = append(rows, row)
	}
	if ans := e.importUsers(t, ownerTk, rows...); ans.Created != 120 {
		t.Fatalf("import: %+v", ans)
	}
	// The member 100th in id order (the order the store lists in).
	var list struct {
		Items []struct{ ID, Name string }
		Next  string `json:"next"`
	}
	e.Call(t, "GET", "/v1/users?limit=100", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 100 {
		t.Fatalf("listed %d", len(list.Items))
	}
	far := list.Items[99]
	cookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk, owner.MemberID))
	body, _ := e.portalPage(t, cookie, "/portal/team?q="+strings.ReplaceAll(strings.ToLower(far.Name), " ", "+"))
	if !strings.Contains(body, far.ID) {
		t.Fatalf("the search for %q (100th of 121) found nothing on the first view: %s", far.Name, body)
	}
	// A manager of s1 with two members at s1, far apart in id order.
	first, last := list.Items[3], list.Items[98]
	for _, id := range []string{first.ID, last.ID} {
		var m struct{ Version int64 }
		e.Call(t, "GET", "/v1/users/"+id, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
		e.Call(t, "PATCH", "/v1/users/"+id, ownerTk, map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}},
			"If-Match", fmt.Sprintf(`"%d"`, m.Version)).Want(t, http.StatusOK, "")
	}
	mgrID, mgrTk := e.join(t, ownerTk, newEmail("pts-mgr"), store1("manager"))
	mgr := e.enterPortal(t, e.mintPortalLink(t, mgrTk.AccessToken, mgrID))
	body, _ = e.portalPage(t, mgr, "/portal/team")
	if !strings.Contains(body, first.ID) || !strings.Contains(body, last.ID) {
		t.Fatalf("the manager's first team page lacks its store's members: %s", body)
	}
	// A search that matches nobody stops at the budget and offers to go on.
	body, _ = e.portalPage(t, cookie, "/portal/team?q=nobody-here")
	if !strings.Contains(body, "No members match.") {
		t.Fatalf("a search of 122 members: %s", body)
	}
}

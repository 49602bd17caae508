package rbac_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// benchData is the benchmark data set: 100 accounts x 100 members x 4
// stores (plus 2 departments and 2 suppliers per account), roles spread
// over the built-ins, each account's owner and a few admins and non-active
// members, compiled once; and seeded random requests, about 10% of them
// for a resource of another account.
type benchData struct {
	principals []*rbac.Principal
	members    []rbac.Member
	requests   []benchRequest
}

type benchRequest struct {
	p      *rbac.Principal
	action string
	r      rbac.Resource
}

func newBenchData(accounts, membersPer, stores, requests int) *benchData {
	rng := rand.New(rand.NewPCG(1, 2))
	rs := rbac.BuiltIns()
	roles := rs.Roles()
	statuses := []rbac.Status{rbac.StatusInvited, rbac.StatusInactive, rbac.StatusSuspended, rbac.StatusDeleted}
	actions := rbac.DocumentActions()
	for _, p := range rbac.Permissions() {
		actions = append(actions, p.Key)
	}
	docTypes := rbac.DocTypes()
	docStatuses := []rbac.DocStatus{"", rbac.DocDraft, rbac.DocPendingApproval, rbac.DocApproved, rbac.DocDenied, rbac.DocExpired, rbac.DocCompleted}
	scopeOf := func(kind rbac.ScopeKind) rbac.Scope {
		switch kind {
		case rbac.ScopeStore:
			return rbac.StoreScope(fmt.Sprintf("s%d", rng.IntN(stores)))
		case rbac.ScopeDepartment:
			return rbac.DepartmentScope(fmt.Sprintf("d%d", rng.IntN(2)))
		case rbac.ScopeSupplier:
			return rbac.SupplierScope(fmt.Sprintf("p%d", rng.IntN(2)))
		}
		return rbac.AccountScope
	}
	d := &benchData{}
	byAccount := make([][]*rbac.Principal, accounts)
	for a := range accounts {
		acct := fmt.Sprintf("acct-%03d", a)
		for i := range membersPer {
			m := rbac.Member{ID: fmt.Sprintf("%s-m%03d", acct, i), Account: acct, Status: rbac.StatusActive}
			switch x := rng.IntN(100); {
			case i == 0:
				m.Owner, m.Admin = true, true
			case x < 3:
				m.Admin = true
			case x < 8:
				m.Status = statuses[rng.IntN(len(statuses))]
			}
			for range 1 + rng.IntN(3) {
				r := roles[rng.IntN(len(roles))]
				kind := r.ScopeKinds[rng.IntN(len(r.ScopeKinds))]
				m.Assignments = append(m.Assignments, rbac.Assignment{Role: r.ID, Scope: scopeOf(kind)})
			}
			p := rs.Compile(m)
			d.members = append(d.members, m)
			d.principals = append(d.principals, p)
			byAccount[a] = append(byAccount[a], p)
		}
	}
	for range requests {
		a := rng.IntN(accounts)
		p := byAccount[a][rng.IntN(membersPer)]
		resAcct := a
		if rng.IntN(10) == 0 { // cross-tenant
			resAcct = (a + 1 + rng.IntN(accounts-1)) % accounts
		}
		r := rbac.Resource{Account: fmt.Sprintf("acct-%03d", resAcct)}
		switch rng.IntN(10) {
		case 0: // account-level resource
		case 1:
			r.Department = fmt.Sprintf("d%d", rng.IntN(2))
		case 2:
			r.Supplier = fmt.Sprintf("p%d", rng.IntN(2))
			r.Store = fmt.Sprintf("s%d", rng.IntN(stores))
		default:
			r.Store = fmt.Sprintf("s%d", rng.IntN(stores))
		}
		if rng.IntN(3) == 0 {
			r.DocType = docTypes[rng.IntN(len(docTypes))]
			r.DocStatus = docStatuses[rng.IntN(len(docStatuses))]
			r.ApprovalRequired = rng.IntN(2) == 0
		}
		d.requests = append(d.requests, benchRequest{p: p, action: actions[rng.IntN(len(actions))], r: r})
	}
	return d
}

var benchSet = newBenchData(100, 100, 4, 1<<14)

// BenchmarkDecide measures one in-process decision with the member's
// grants and the account's roles compiled beforehand.
func BenchmarkDecide(b *testing.B) {
	reqs := benchSet.requests
	allowed, cross := 0, 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q := &reqs[i&(len(reqs)-1)]
		d := q.p.Decide(q.action, q.r)
		if d.Allowed {
			allowed++
		} else if d.Code == rbac.CodeCrossTenant {
			cross++
		}
	}
	b.ReportMetric(float64(allowed)/float64(b.N)*100, "%allowed")
	b.ReportMetric(float64(cross)/float64(b.N)*100, "%cross-tenant")
}

// BenchmarkDecideReason adds rendering the reason text, which only the
// API's answer needs.
func BenchmarkDecideReason(b *testing.B) {
	reqs := benchSet.requests
	n := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q := &reqs[i&(len(reqs)-1)]
		n += len(q.p.Decide(q.action, q.r).Reason())
	}
	_ = n
}

// BenchmarkCompileAndDecide is the cold path: compile the member, then
// decide once.
func BenchmarkCompileAndDecide(b *testing.B) {
	rs := rbac.BuiltIns()
	reqs := benchSet.requests
	members := benchSet.members
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q := &reqs[i&(len(reqs)-1)]
		_ = rs.Compile(members[i%len(members)]).Decide(q.action, q.r)
	}
}

// BenchmarkWhoCan decides one approval for the 100 members of an account.
func BenchmarkWhoCan(b *testing.B) {
	rs := rbac.BuiltIns()
	members := benchSet.members[:100]
	r := rbac.Resource{Account: members[0].Account, Store: "s1", DocType: rbac.DocPurchaseOrder, DocStatus: rbac.DocPendingApproval}
	b.ReportAllocs()
	for b.Loop() {
		_ = rs.WhoCan(members, rbac.ActionDocumentApprove, r)
	}
}

// BenchmarkCompileAndDecidePreset is the cold path for a member of an
// inventory-preset account with lock-by-age on: two roles, and two
// permission assignments of eight keys each (their keys are checked at
// every compile), deciding an edit of a dated document.
func BenchmarkCompileAndDecidePreset(b *testing.B) {
	rs, err := rbac.NewRoleSetFor(rbac.Options{Preset: "inventory", LockAfterDays: 30})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	keys := []string{"orders.view", "orders.edit", "orders.close", "purchases.view", "purchases.edit", "products.view", "stock.view", "reports.view"}
	m := rbac.Member{ID: "u", Account: "acme", Status: rbac.StatusActive, At: now, Assignments: []rbac.Assignment{
		{Role: "normal_user", Scope: rbac.StoreScope("s1")},
		{Role: "department_write", Scope: rbac.DepartmentScope("sales")},
		{Permissions: keys, Scope: rbac.StoreScope("s2")},
		{Permissions: keys, Scope: rbac.StoreScope("s3")},
	}}
	r := rbac.Resource{Account: "acme", Store: "s3", DocType: rbac.DocPurchaseOrder, DocStatus: rbac.DocDraft, Date: now.AddDate(0, 0, -3)}
	b.ReportAllocs()
	for b.Loop() {
		if !rs.Compile(m).Decide(rbac.ActionDocumentEdit, r).Allowed {
			b.Fatal("denied")
		}
	}
}

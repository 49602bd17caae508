package authz_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stewardhq/steward/pkg/authz"
)

// benchData is the benchmark data set: 100 accounts x 100 members x 4
// stores (plus 2 departments and 2 suppliers per account), roles spread
// over the built-ins, each account's owner and a few admins and non-active
// members, compiled once; and seeded random requests, about 10% of them
// for a resource of another account.
type benchData struct {
	principals []*authz.Principal
	members    []authz.Member
	requests   []benchRequest
}

type benchRequest struct {
	p      *authz.Principal
	action string
	r      authz.Resource
}

func newBenchData(accounts, membersPer, stores, requests int) *benchData {
	rng := rand.New(rand.NewPCG(1, 2))
	rs := authz.BuiltIns()
	roles := rs.Roles()
	statuses := []authz.Status{authz.StatusInvited, authz.StatusInactive, authz.StatusSuspended, authz.StatusDeleted}
	actions := authz.DocumentActions()
	for _, p := range authz.Permissions() {
		actions = append(actions, p.Key)
	}
	docTypes := authz.DocTypes()
	docStatuses := []authz.DocStatus{"", authz.DocDraft, authz.DocPendingApproval, authz.DocApproved, authz.DocDenied, authz.DocExpired, authz.DocCompleted}
	scopeOf := func(kind authz.ScopeKind) authz.Scope {
		switch kind {
		case authz.ScopeStore:
			return authz.StoreScope(fmt.Sprintf("s%d", rng.IntN(stores)))
		case authz.ScopeDepartment:
			return authz.DepartmentScope(fmt.Sprintf("d%d", rng.IntN(2)))
		case authz.ScopeSupplier:
			return authz.SupplierScope(fmt.Sprintf("p%d", rng.IntN(2)))
		}
		return authz.AccountScope
	}
	d := &benchData{}
	byAccount := make([][]*authz.Principal, accounts)
	for a := range accounts {
		acct := fmt.Sprintf("acct-%03d", a)
		for i := range membersPer {
			m := authz.Member{ID: fmt.Sprintf("%s-m%03d", acct, i), Account: acct, Status: authz.StatusActive}
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
				m.Assignments = append(m.Assignments, authz.Assignment{Role: r.ID, Scope: scopeOf(kind)})
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
		r := authz.Resource{Account: fmt.Sprintf("acct-%03d", resAcct)}
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
		} else if d.Code == authz.CodeCrossTenant {
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
	rs := authz.BuiltIns()
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
	rs := authz.BuiltIns()
	members := benchSet.members[:100]
	r := authz.Resource{Account: members[0].Account, Store: "s1", DocType: authz.DocPurchaseOrder, DocStatus: authz.DocPendingApproval}
	b.ReportAllocs()
	for b.Loop() {
		_ = rs.WhoCan(members, authz.ActionDocumentApprove, r)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// Role ids the flows rely on; the other custom roles are custom_NNN.
const (
	roleDoomed   = "doomed"        // held by Sizes.RoleHolders members, deleted by a flow
	roleApprover = "wide_approver" // held by Sizes.Approvers members: the wide level
	roleReviewer = "po_reviewer"   // held by reviewers: the seeded requests' level
	roleTarget   = "custom_003"
	reviewers    = 5
	passphrase   = "scale run password 1"
)

// world is what the seed wrote, for the flows.
type world struct {
	account    string
	ownerEmail string
	stores     []string
	// members are the large tenant's members but the owner.
	members []string
	// approverEmails are the emails of the holders of roleApprover.
	approverEmails map[string]bool
	reviewerEmail  string
	requesterID    string
	// multiEmail signs in to Sizes.Memberships accounts.
	multiEmail string
	roles      []string
}

// seeder writes the data set: through the API where that is quick enough
// (roles, policies, stores, documents), straight through pkg/store
// otherwise (accounts, members, approval requests, stock levels), with
// the same store functions the API uses.
type seeder struct {
	st    *store.Store
	c     *client
	hash  string
	sizes Sizes
	out   io.Writer
	conc  int
	w     world
	owner team.Member
}

// progress prints a line every tenth of n.
type progress struct {
	out   io.Writer
	what  string
	n     int
	step  int
	done  atomic.Int64
	began time.Time
}

func newProgress(out io.Writer, what string, n int) *progress {
	return &progress{out: out, what: what, n: n, step: max(1, n/10), began: time.Now()}
}

func (p *progress) tick() {
	d := int(p.done.Add(1))
	if d%p.step == 0 || d == p.n {
		fmt.Fprintf(p.out, "  seed: %-22s %6d/%d  %6.1fs\n", p.what, d, p.n, time.Since(p.began).Seconds())
	}
}

// parallel runs f(0..n-1) on conc goroutines, stopping at the first
// error.
func parallel(ctx context.Context, n, conc int, p *progress, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, conc) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
				if p != nil {
					p.tick()
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func (s *seeder) event(account, action, typ, id string) audit.Event {
	return audit.Event{AccountID: account, ActorID: s.owner.ID, ActorName: s.owner.Name, Action: action, TargetType: typ, TargetID: id}
}

// ownerToken signs the large tenant's owner in (access tokens expire,
// and seeding is long: each phase takes a fresh one).
func (s *seeder) ownerToken(ctx context.Context) (string, error) {
	return s.c.login(ctx, s.w.ownerEmail, passphrase, "")
}

// seed writes everything, phase by phase.
func (s *seeder) seed(ctx context.Context) error {
	phases := []struct {
		name string
		f    func(context.Context) error
	}{
		{"large account", s.account},
		{"custom roles", s.customRoles},
		{"policies", s.policies},
		{"stores", s.storesPhase},
		{"members", s.membersPhase},
		{"stock levels", s.stock},
		{"documents", s.documents},
		{"approval requests", s.requests},
		{"small accounts", s.smallAccounts},
	}
	for _, ph := range phases {
		began := time.Now()
		if err := ph.f(ctx); err != nil {
			return fmt.Errorf("seed %s: %w", ph.name, err)
		}
		fmt.Fprintf(s.out, "  seed: %-22s done in %.1fs\n", ph.name, time.Since(began).Seconds())
	}
	return nil
}

func (s *seeder) account(ctx context.Context) error {
	now := time.Now().UTC()
	id := store.NewID("a")
	s.w.account = id
	s.w.ownerEmail = "owner@large.scale.example.com"
	ident := team.Identity{ID: store.NewID("i"), Email: s.w.ownerEmail, PasswordHash: s.hash, EmailVerified: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	s.owner = team.Member{ID: store.NewID("m"), AccountID: id, IdentityID: ident.ID, Email: ident.Email, Name: "Olga Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	acct := team.Account{ID: id, Name: "Large shop", Settings: team.DefaultSettings(), OwnerID: s.owner.ID, Version: 1, CreatedAt: now, UpdatedAt: now}
	return s.st.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: s.owner, Identity: ident, NewIdentity: true}, s.event(id, "account.create", "account", id))
}

// customRoles creates Sizes.Roles roles over POST /v1/roles.
func (s *seeder) customRoles(ctx context.Context) error {
	tok, err := s.ownerToken(ctx)
	if err != nil {
		return err
	}
	p := newProgress(s.out, "custom roles", s.sizes.Roles)
	for i := range s.sizes.Roles {
		body := map[string]any{"scopeKinds": []string{"store", "account"}}
		switch i {
		case 0:
			body["id"], body["name"], body["permissions"] = roleDoomed, "Doomed", []string{"stores.view", "products.view", "purchases.view"}
		case 1:
			body["id"], body["name"], body["permissions"] = roleApprover, "Approver", []string{"orders.view", "approve.sales_order"}
		case 2:
			body["id"], body["name"], body["permissions"] = roleReviewer, "Reviewer", []string{"purchases.view", "approve.purchase_order"}
		default:
			perms := [][]string{{"stores.view", "products.view"}, {"purchases.view", "orders.view"}, {"stock.view", "products.view"}, {"reports.view", "stores.view"}}
			body["id"], body["name"], body["permissions"] = fmt.Sprintf("custom_%03d", i), fmt.Sprintf("Custom %d", i), perms[i%len(perms)]
		}
		if _, err := s.c.want(ctx, http.StatusCreated, "POST", "/v1/roles", tok, body); err != nil {
			return err
		}
		s.w.roles = append(s.w.roles, body["id"].(string))
		p.tick()
	}
	return nil
}

// policies: purchase orders need one reviewer (the seeded requests);
// sales orders one holder of the wide approver role (the wide level).
func (s *seeder) policies(ctx context.Context) error {
	tok, err := s.ownerToken(ctx)
	if err != nil {
		return err
	}
	for doc, role := range map[string]string{"purchase_order": roleReviewer, "sales_order": roleApprover} {
		body := map[string]any{"enabled": true, "selfApproval": false, "expiresAfterHours": 168,
			"levels": []map[string]any{{"minAmount": 0, "role": role, "required": 1, "scope": "account"}}}
		if _, err := s.c.want(ctx, http.StatusOK, "PUT", "/v1/approval-policies/"+doc, tok, body); err != nil {
			return err
		}
	}
	return nil
}

func (s *seeder) storesPhase(ctx context.Context) error {
	tok, err := s.ownerToken(ctx)
	if err != nil {
		return err
	}
	for i := range s.sizes.Stores {
		s.w.stores = append(s.w.stores, fmt.Sprintf("s%03d", i))
	}
	return parallel(ctx, s.sizes.Stores, s.conc, newProgress(s.out, "stores", s.sizes.Stores), func(ctx context.Context, i int) error {
		_, err := s.c.want(ctx, http.StatusCreated, "PUT", "/v1/stores/"+s.w.stores[i], tok, map[string]any{"name": fmt.Sprintf("Store %d", i)})
		return err
	})
}

// membersPhase writes the members but the owner: the holders of the
// doomed role, the approvers, the reviewers (the first signs in), then
// members with a built-in or custom role at a store.
func (s *seeder) membersPhase(ctx context.Context) error {
	n := s.sizes.Members - 1
	s.w.members = make([]string, n)
	s.w.approverEmails = map[string]bool{}
	var mu sync.Mutex
	now := time.Now().UTC()
	builtins := []string{rbac.RoleManager, rbac.RoleTeamMember, rbac.RoleAccountant, rbac.RoleSeniorManager}
	return parallel(ctx, n, s.conc, newProgress(s.out, "members", n), func(ctx context.Context, i int) error {
		rng := rand.New(rand.NewPCG(7, uint64(i)))
		store1 := rbac.StoreScope(s.w.stores[rng.IntN(len(s.w.stores))])
		m := team.Member{ID: store.NewID("m"), AccountID: s.w.account, Email: fmt.Sprintf("m%05d@large.scale.example.com", i),
			Name: fmt.Sprintf("Member %d", i), Status: rbac.StatusActive, Version: 1, CreatedAt: now, UpdatedAt: now}
		holders, approvers := s.sizes.RoleHolders, s.sizes.Approvers
		var ident *team.Identity
		switch {
		case i < holders:
			m.Assignments = []rbac.Assignment{{Role: roleDoomed, Scope: store1}}
		case i < holders+approvers:
			m.Assignments = []rbac.Assignment{{Role: roleApprover, Scope: rbac.AccountScope}}
			mu.Lock()
			s.w.approverEmails[m.Email] = true
			mu.Unlock()
		case i < holders+approvers+reviewers:
			m.Assignments = []rbac.Assignment{{Role: roleReviewer, Scope: rbac.AccountScope}}
			if i == holders+approvers {
				ident = &team.Identity{ID: store.NewID("i"), Email: m.Email, PasswordHash: s.hash, EmailVerified: true, Version: 1, CreatedAt: now, UpdatedAt: now}
				m.IdentityID = ident.ID
				s.w.reviewerEmail = m.Email
			}
		case i == holders+approvers+reviewers:
			// The requester of the seeded requests.
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleFullAccess, Scope: rbac.AccountScope}}
			s.w.requesterID = m.ID
		default:
			if x := rng.IntN(3); x == 0 && len(s.w.roles) > 3 {
				m.Assignments = []rbac.Assignment{{Role: s.w.roles[3+rng.IntN(len(s.w.roles)-3)], Scope: store1}}
			} else {
				m.Assignments = []rbac.Assignment{{Role: builtins[rng.IntN(len(builtins))], Scope: store1}}
			}
		}
		s.w.members[i] = m.ID
		ev := s.event(s.w.account, "member.create", "member", m.ID)
		if ident != nil {
			return s.st.JoinAccount(ctx, m, *ident, true, nil, ev)
		}
		return s.st.AddMember(ctx, m, ev)
	})
}

// stock writes ten levels per store, three of them low.
func (s *seeder) stock(ctx context.Context) error {
	now := time.Now().UTC()
	return parallel(ctx, len(s.w.stores), s.conc, nil, func(ctx context.Context, i int) error {
		var levels []store.StockLevel
		for k := range 10 {
			onHand := 50.0
			if k < 3 {
				onHand = 1
			}
			levels = append(levels, store.StockLevel{Store: s.w.stores[i], SKU: fmt.Sprintf("sku-%02d", k), Name: fmt.Sprintf("Item %d", k), OnHand: onHand, Threshold: 10, UpdatedAt: now})
		}
		return s.st.PutStockLevels(ctx, s.w.account, levels)
	})
}

func docID(i int) string { return fmt.Sprintf("po-%05d", i) }

// documents writes Sizes.Documents purchase orders over PUT
// /v1/documents; one in ten is due in two days.
func (s *seeder) documents(ctx context.Context) error {
	tok, err := s.ownerToken(ctx)
	if err != nil {
		return err
	}
	due := time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02")
	n := s.sizes.Documents
	return parallel(ctx, n, s.conc, newProgress(s.out, "documents", n), func(ctx context.Context, i int) error {
		body := map[string]any{"store": s.w.stores[i%len(s.w.stores)], "amount": 100 + i%900, "currency": "EUR", "title": fmt.Sprintf("Purchase order %d", i), "supplier": "acme"}
		if i%10 == 0 {
			body["dueDate"] = due
		}
		_, err := s.c.want(ctx, http.StatusCreated, "PUT", "/v1/documents/purchase_order/"+docID(i), tok, body)
		return err
	})
}

// requests writes one approval request per document, as the API and the
// workflow's first await would (store.CreateApprovalRequest, then
// store.AwaitLevel asking the reviewers), created two days ago one
// millisecond apart; the newest Sizes.Decided are then approved
// (store.FinishRequest), so that a reviewer's "waiting for me" list
// starts with that many requests it no longer awaits.
func (s *seeder) requests(ctx context.Context) error {
	pol, err := s.st.GetApprovalPolicy(ctx, s.w.account, rbac.DocPurchaseOrder)
	if err != nil {
		return err
	}
	requester, err := s.st.GetMember(ctx, s.w.account, s.w.requesterID)
	if err != nil {
		return err
	}
	var asked []documents.Approver
	var awaiting []string
	for i := range reviewers {
		m, err := s.st.GetMember(ctx, s.w.account, s.w.members[s.sizes.RoleHolders+s.sizes.Approvers+i])
		if err != nil {
			return err
		}
		asked = append(asked, documents.Approver{Level: 1, MemberID: m.ID, Name: m.Name, Email: m.Email})
		awaiting = append(awaiting, m.ID)
	}
	base := time.Now().UTC().Add(-48 * time.Hour)
	n := s.sizes.Documents
	timeout := min(pol.ExpiresAfterHours*3600, workflow.MaxTimeoutSeconds)
	return parallel(ctx, n, s.conc, newProgress(s.out, "approval requests", n), func(ctx context.Context, i int) error {
		doc, err := s.st.GetDocument(ctx, s.w.account, rbac.DocPurchaseOrder, docID(i))
		if err != nil {
			return err
		}
		now := base.Add(time.Duration(i) * time.Millisecond)
		r := documents.ApprovalRequest{
			ID: store.NewApprovalRequestID(now), AccountID: s.w.account, DocType: doc.Type, DocID: doc.ID, DocTitle: doc.Title,
			Amount: doc.Amount, Currency: doc.Currency, Store: doc.Store, Department: doc.Department, Supplier: doc.Supplier,
			RequesterID: requester.ID, RequesterName: requester.Name, RequesterEmail: requester.Email,
			Levels: pol.LevelsFor(doc.Amount), TimeoutSeconds: timeout, Status: documents.RequestPending, Version: 1, CreatedAt: now, UpdatedAt: now,
		}
		ev := audit.Event{AccountID: s.w.account, ActorID: requester.ID, ActorName: requester.Name, Action: "approval.request", TargetType: "approval_request", TargetID: r.ID}
		if err := s.st.CreateApprovalRequest(ctx, r, doc, ev); err != nil {
			return err
		}
		as := append([]documents.Approver(nil), asked...)
		for k := range as {
			as[k].AskedAt = now
		}
		wev := audit.Event{AccountID: s.w.account, ActorName: "workflow", Action: "approval.await", TargetType: "approval_request", TargetID: r.ID}
		if err := s.st.AwaitLevel(ctx, r, 1, "seed-task-"+r.ID, as, awaiting, nil, wev); err != nil {
			return err
		}
		if i >= n-s.sizes.Decided {
			fev := audit.Event{AccountID: s.w.account, ActorName: "workflow", Action: "approval.approved", TargetType: "approval_request", TargetID: r.ID}
			return s.st.FinishRequest(ctx, r, documents.RequestApproved, rbac.DocApproved, now.Add(time.Minute), fev)
		}
		return nil
	})
}

// smallAccounts writes Sizes.SmallAccounts accounts of an owner, two
// members and a store; one identity is also a member of the first
// Sizes.Memberships of them (it owns the first).
func (s *seeder) smallAccounts(ctx context.Context) error {
	now := time.Now().UTC()
	s.w.multiEmail = "many@scale.example.com"
	multi := team.Identity{ID: store.NewID("i"), Email: s.w.multiEmail, PasswordHash: s.hash, EmailVerified: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	n := s.sizes.SmallAccounts
	// The first account, whose owner is the many-membership identity,
	// goes first: the others name that identity.
	one := func(ctx context.Context, i int) error {
		id := store.NewID("a")
		ident := team.Identity{ID: store.NewID("i"), Email: fmt.Sprintf("owner%04d@small.scale.example.com", i), PasswordHash: s.hash, EmailVerified: true, Version: 1, CreatedAt: now, UpdatedAt: now}
		if i == 0 {
			ident = multi
		}
		owner := team.Member{ID: store.NewID("m"), AccountID: id, IdentityID: ident.ID, Email: ident.Email, Name: "Small owner",
			Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
		acct := team.Account{ID: id, Name: fmt.Sprintf("Small shop %04d", i), Settings: team.DefaultSettings(), OwnerID: owner.ID, Version: 1, CreatedAt: now, UpdatedAt: now}
		ev := audit.Event{AccountID: id, ActorID: owner.ID, ActorName: owner.Name, Action: "account.create", TargetType: "account", TargetID: id}
		if err := s.st.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true}, ev); err != nil {
			return err
		}
		sid := fmt.Sprintf("small-%04d", i)
		if _, err := s.st.PutStore(ctx, id, team.Store{ID: sid, Name: "Main store"}, ev); err != nil {
			return err
		}
		for k := range 2 {
			m := team.Member{ID: store.NewID("m"), AccountID: id, Email: fmt.Sprintf("m%d.a%04d@small.scale.example.com", k, i), Name: fmt.Sprintf("Member %d", k),
				Status: rbac.StatusActive, Version: 1, CreatedAt: now, UpdatedAt: now,
				Assignments: []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope(sid)}}}
			if i > 0 && i < s.sizes.Memberships && k == 0 {
				m.IdentityID, m.Email, m.Name = multi.ID, multi.Email, "Many Accounts"
			}
			if err := s.st.AddMember(ctx, m, ev); err != nil {
				return err
			}
		}
		return nil
	}
	if err := one(ctx, 0); err != nil {
		return err
	}
	p := newProgress(s.out, "small accounts", n-1)
	return parallel(ctx, n-1, s.conc, p, func(ctx context.Context, i int) error { return one(ctx, i+1) })
}

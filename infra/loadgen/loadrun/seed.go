package loadgen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// SeedOptions shape the data set.
type SeedOptions struct {
	// Accounts, Members (per account, owner included) and Stores (per
	// account).
	Accounts, Members, Stores int
	// Concurrency is how many accounts are written at once.
	Concurrency int
	// PasswordHash is the argon2id hash every seeded identity signs in
	// with (hashed once by the caller).
	PasswordHash string
	// Seed makes the role spread reproducible.
	Seed uint64
	// Progress, when set, receives a line every tenth of the accounts.
	Progress io.Writer
}

// Custom roles every seeded account has.
var customRoles = []rbac.Role{
	{ID: "store_auditor", Name: "Store auditor", Description: "Load-run custom role.",
		Permissions: []string{"stores.view", "products.view", "reports.view"}, ScopeKinds: []rbac.ScopeKind{rbac.ScopeStore}},
	{ID: "buyer", Name: "Buyer", Description: "Load-run custom role.",
		Permissions: []string{"purchases.view", "purchases.edit", "orders.view", "products.view"}},
}

// Dataset is what Seed wrote.
type Dataset struct {
	Accounts []*Account
	// Writes is the number of store writes (transactions) made.
	Writes int64
	// Elapsed is how long seeding took.
	Elapsed time.Duration
}

// Account is one seeded account.
type Account struct {
	Index int
	ID    string
	// Stores are the account's store ids, unique across accounts
	// ("a007-s2"), so that naming another account's store is a real
	// cross-tenant request.
	Stores []string
	// Members are every member, the owner first and the caller second.
	Members []SeededMember
}

// SeededMember is one seeded member.
type SeededMember struct {
	ID    string
	Email string
	// Admin is the admin flag (the owner and a few more).
	Admin bool
	// SignIn marks members with an identity and password: the owner and
	// the caller (a manager of the first two stores).
	SignIn bool
}

// Owner is the account's owner (an admin who may view every member).
func (a *Account) Owner() SeededMember { return a.Members[0] }

// Caller is the account's non-admin signed-in member: a manager of the
// account's first two stores.
func (a *Account) Caller() SeededMember { return a.Members[1] }

// Seed writes the data set through the store with bounded concurrency:
// per account an owner (identity with PasswordHash), Stores stores, the
// custom roles, a manager of the first two stores who joined through an
// accepted invitation (identity with PasswordHash), two more admins, and
// the rest with roles spread over the built-ins (manager, team member,
// accountant, senior manager and full access, at store or account scope)
// and the custom roles; about 3% of them suspended.
func Seed(ctx context.Context, st *store.Store, o SeedOptions) (*Dataset, error) {
	if o.Accounts < 2 || o.Members < 4 || o.Stores < 2 {
		return nil, fmt.Errorf("seed: need at least 2 accounts, 4 members and 2 stores per account")
	}
	if _, err := rbac.NewRoleSet(customRoles...); err != nil {
		return nil, fmt.Errorf("seed: custom roles: %w", err)
	}
	began := time.Now()
	ds := &Dataset{Accounts: make([]*Account, o.Accounts)}
	var writes, done atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, max(1, o.Concurrency))
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	step := max(1, o.Accounts/10)
	for i := range o.Accounts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
			a, n, err := seedAccount(ctx, st, o, i, rng)
			writes.Add(n)
			if err != nil {
				errOnce.Do(func() { firstErr = fmt.Errorf("seed account %d: %w", i, err); cancel() })
				return
			}
			ds.Accounts[i] = a
			if d := done.Add(1); o.Progress != nil && (d%int64(step) == 0 || int(d) == o.Accounts) {
				fmt.Fprintf(o.Progress, "  seed: %3d/%d accounts, %6d members, %6d writes, %5.1fs\n",
					d, o.Accounts, d*int64(o.Members), writes.Load(), time.Since(began).Seconds())
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ds.Writes = writes.Load()
	ds.Elapsed = time.Since(began)
	return ds, nil
}

// seedAccount writes one account; it returns the number of writes made.
func seedAccount(ctx context.Context, st *store.Store, o SeedOptions, idx int, rng *rand.Rand) (*Account, int64, error) {
	now := time.Now().UTC()
	var writes int64
	a := &Account{Index: idx, ID: store.NewID("a")}
	for s := range o.Stores {
		a.Stores = append(a.Stores, fmt.Sprintf("a%03d-s%d", idx, s))
	}
	email := func(j int) string { return fmt.Sprintf("m%03d.a%03d@loadgen.example.com", j, idx) }

	// The owner, with an identity.
	acct := team.Account{ID: a.ID, Name: fmt.Sprintf("Load shop %03d", idx), Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ownerIdent := team.Identity{ID: store.NewID("i"), Email: email(0), PasswordHash: o.PasswordHash, EmailVerified: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{ID: store.NewID("m"), AccountID: a.ID, IdentityID: ownerIdent.ID, Email: ownerIdent.Email, Name: "Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.OwnerID = owner.ID
	ev := func(action, targetType, target string) audit.Event {
		return audit.Event{AccountID: a.ID, ActorID: owner.ID, ActorName: owner.Name, Action: action, TargetType: targetType, TargetID: target}
	}
	if err := st.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: owner, Identity: ownerIdent, NewIdentity: true}, ev("account.create", "account", a.ID)); err != nil {
		return nil, writes, err
	}
	writes++
	a.Members = append(a.Members, SeededMember{ID: owner.ID, Email: owner.Email, Admin: true, SignIn: true})

	for s, id := range a.Stores {
		if _, err := st.PutStore(ctx, a.ID, team.Store{ID: id, Name: fmt.Sprintf("Store %d", s)}, ev("store.create", "store", id)); err != nil {
			return nil, writes, err
		}
		writes++
	}
	if _, err := st.SaveCustomRoles(ctx, a.ID, customRoles, 0, nil, ev("role.create", "role", customRoles[0].ID)); err != nil {
		return nil, writes, err
	}
	writes++

	// The caller: invited and accepted, so that it has an identity.
	caller := team.Member{ID: store.NewID("m"), AccountID: a.ID, Email: email(1), Name: "Manager",
		Status: rbac.StatusInvited, Version: 1, CreatedAt: now, UpdatedAt: now,
		Assignments: []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.StoreScope(a.Stores[0])}, {Role: rbac.RoleManager, Scope: rbac.StoreScope(a.Stores[1])}}}
	inv := team.Invitation{ID: store.NewID("inv"), AccountID: a.ID, MemberID: caller.ID, Email: caller.Email, Name: caller.Name,
		Assignments: caller.Assignments, InviterID: owner.ID, InviterName: owner.Name, Status: team.InvitationPending,
		ExpiresAt: now.Add(24 * time.Hour), CreatedAt: now, Version: 1}
	_, hash := onetime.New()
	tok := store.Token{Hash: hash, Kind: store.TokenInvitation, AccountID: a.ID, SubjectID: inv.ID, ExpiresAt: inv.ExpiresAt}
	if err := st.CreateInvitation(ctx, inv, caller, tok, ev("invitation.create", "invitation", inv.ID)); err != nil {
		return nil, writes, err
	}
	writes++
	callerIdent := team.Identity{ID: store.NewID("i"), Email: caller.Email, PasswordHash: o.PasswordHash, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := st.AcceptInvitation(ctx, store.Acceptance{Invitation: inv, TokenHash: hash, Identity: callerIdent, NewIdentity: true, Name: caller.Name, Now: now},
		audit.Event{AccountID: a.ID, ActorID: caller.ID, ActorName: caller.Name, Action: "invitation.accept", TargetType: "invitation", TargetID: inv.ID}); err != nil {
		return nil, writes, err
	}
	writes++
	a.Members = append(a.Members, SeededMember{ID: caller.ID, Email: caller.Email, SignIn: true})

	storeAt := func() rbac.Scope { return rbac.StoreScope(a.Stores[rng.IntN(len(a.Stores))]) }
	for j := 2; j < o.Members; j++ {
		m := team.Member{ID: store.NewID("m"), AccountID: a.ID, Email: email(j), Name: fmt.Sprintf("Member %d", j),
			Status: rbac.StatusActive, Version: 1, CreatedAt: now, UpdatedAt: now}
		switch x := rng.IntN(100); {
		case j < 4: // a few admins
			m.Admin = true
		case x < 20:
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleManager, Scope: storeAt()}}
		case x < 42:
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: storeAt()}}
		case x < 50:
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleAccountant, Scope: rbac.AccountScope}}
		case x < 55:
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleAccountant, Scope: storeAt()}}
		case x < 60:
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleSeniorManager, Scope: rbac.AccountScope}}
		case x < 65:
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleSeniorManager, Scope: storeAt()}}
		case x < 75:
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleFullAccess, Scope: rbac.AccountScope}}
		case x < 83:
			m.Assignments = []rbac.Assignment{{Role: "store_auditor", Scope: storeAt()}}
		case x < 90:
			m.Assignments = []rbac.Assignment{{Role: "buyer", Scope: storeAt()}}
		default: // two grants
			m.Assignments = []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: storeAt()}, {Role: "buyer", Scope: rbac.AccountScope}}
		}
		if !m.Admin && rng.IntN(100) < 3 {
			m.Status = rbac.StatusSuspended
		}
		if err := st.AddMember(ctx, m, ev("member.create", "member", m.ID)); err != nil {
			return nil, writes, err
		}
		writes++
		a.Members = append(a.Members, SeededMember{ID: m.ID, Email: m.Email, Admin: m.Admin})
	}
	return a, writes, nil
}

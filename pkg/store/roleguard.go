package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/team"
)

// Custom roles and the members that hold them change in different
// transactions, so two races had to be closed (a member could otherwise
// keep an assignment of a role that no longer exists: it grants nothing,
// decisions fail closed, but it is wrong data, and it would grant again if
// a role with the same id were created later):
//
//   - A member write that gives a member a custom role it did not hold
//     (UpdateMember, AddMember, CreateInvitation) reads the account's roles
//     item and, in its own transaction, updates that item on the condition
//     that it is still at the version read, where the role exists. A role
//     deleted between the caller's validation and the commit fails the
//     write with ErrRoleGone instead of leaving a dangling assignment.
//   - The same update counts the assignment in the item's assignSeq
//     attribute (leaving the version, and so the role ETags and the cached
//     role sets, alone). DeleteCustomRole requires assignSeq unchanged since
//     it read the roles, before it listed the role's holders: a member who
//     gained a custom role after the listing fails the deletion with
//     ErrMemberChanged, and the caller lists the holders again.
//
// Replacing the roles item (SaveCustomRoles) resets assignSeq; that is safe
// because it also moves the version every guarded write conditions on.

// ErrRoleGone: a member write names a custom role that the account no
// longer has (it was deleted after the caller validated the assignment).
var ErrRoleGone = errors.New("a custom role of the member no longer exists")

// errRolesMoved: the roles item changed between the guard's read and the
// commit; the write reads the roles again and retries.
var errRolesMoved = errors.New("the account's roles changed meanwhile")

// roleGuardAttempts is how often a guarded member write re-reads the roles
// when another role change wins the race.
const roleGuardAttempts = 4

// attrAssignSeq is the roles item's count of guarded member writes.
const attrAssignSeq = "assignSeq"

// customRoleIDs returns the distinct non-built-in role ids of as.
func customRoleIDs(as []authz.Assignment) []string {
	var out []string
	for _, a := range as {
		if !authz.IsBuiltInRole(a.Role) && !slices.Contains(out, a.Role) {
			out = append(out, a.Role)
		}
	}
	return out
}

// guardCustomRoles adds the roles guard to tx for member m as it will be
// written. existing says m is stored already: then only the custom roles
// m does not hold yet are guarded (a member keeps a role it holds; its
// deletion lists it among the holders). Without custom roles to guard it
// adds nothing and reads nothing.
func (s *Store) guardCustomRoles(ctx context.Context, tx *Tx, m team.Member, existing bool) error {
	added := customRoleIDs(m.Assignments)
	if len(added) == 0 {
		return nil
	}
	var read CustomRoles
	if existing {
		lm, err := s.LoadMembers(ctx, m.AccountID, []string{m.ID})
		if err != nil {
			return err
		}
		read = lm.Roles
		if before, ok := lm.Members[m.ID]; ok {
			added = slices.DeleteFunc(added, func(id string) bool {
				return slices.ContainsFunc(before.Assignments, func(a authz.Assignment) bool { return a.Role == id })
			})
		}
		if len(added) == 0 {
			return nil
		}
	} else {
		var err error
		if read, err = s.GetCustomRoles(ctx, m.AccountID); err != nil {
			return err
		}
	}
	for _, id := range added {
		if !slices.ContainsFunc(read.Roles, func(r authz.Role) bool { return r.ID == id }) {
			return fmt.Errorf("%w: %q", ErrRoleGone, id)
		}
	}
	tx.Update(rolesKey(m.AccountID), Cond{
		Expr:   "SET #seq = if_not_exists(#seq, :zero) + :one",
		Names:  map[string]string{"#seq": attrAssignSeq},
		Values: map[string]types.AttributeValue{":zero": num(0), ":one": num(1)},
	}, VersionIs(read.Version), errRolesMoved)
	return nil
}

// commitGuarded commits the transaction build makes for member m with the
// roles guard, reading the roles again when they changed meanwhile. After
// roleGuardAttempts lost races it gives up with team.ErrStaleVersion.
func (s *Store) commitGuarded(ctx context.Context, m team.Member, existing bool, build func() *Tx) error {
	for attempt := 1; ; attempt++ {
		tx := build()
		if err := s.guardCustomRoles(ctx, tx, m, existing); err != nil {
			return err
		}
		err := s.Commit(ctx, tx)
		if !errors.Is(err, errRolesMoved) {
			return err
		}
		if attempt == roleGuardAttempts {
			return fmt.Errorf("%w: the account's roles kept changing", team.ErrStaleVersion)
		}
	}
}

// DeleteCustomRole saves roles (the account's custom roles without the
// deleted one) and members (its former holders, changed) like
// SaveCustomRoles, where read is the roles item as read before the
// holders were listed (MembersWithRole). It also requires that no member
// gained a custom role since read: otherwise nothing is written and it
// fails with ErrMemberChanged, and the caller lists the holders again and
// retries. A roles item at another version is team.ErrStaleVersion.
func (s *Store) DeleteCustomRole(ctx context.Context, account string, roles []authz.Role, read CustomRoles, members []team.Member, ev audit.Event) (int64, error) {
	cond := VersionIs(read.Version)
	cond.Names["#seq"] = attrAssignSeq
	if read.AssignSeq == 0 {
		cond.Expr += " AND attribute_not_exists(#seq)"
	} else {
		cond.Expr += " AND #seq = :seq"
		cond.Values[":seq"] = num(read.AssignSeq)
	}
	v, err := s.saveCustomRoles(ctx, account, roles, read.Version, cond, members, ev)
	var ce *ConditionError
	if errors.As(err, &ce) && ce.Index == 0 && errors.Is(err, team.ErrStaleVersion) {
		// The roles item failed its condition: at the version read, it
		// was the assignment count that moved.
		if n, ok := ce.Item[AttrVersion].(*types.AttributeValueMemberN); ok && n.Value == fmt.Sprint(read.Version) {
			return 0, fmt.Errorf("%w: a member gained a custom role meanwhile", ErrMemberChanged)
		}
	}
	return v, err
}

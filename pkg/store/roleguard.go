package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Custom roles and the members that hold them change in different
// transactions, so two races had to be closed (a member could otherwise
// keep an assignment of a role that no longer exists: it grants nothing,
// decisions fail closed, but it is wrong data, and it would grant again if
// a role with the same id were created later):
//
//   - A member write that gives a member a custom role it did not hold
//     (UpdateMember, AddMember, CreateInvitation, ...) updates, in its own
//     transaction, that role's item (one small item, not the account's
//     roles) on the condition that it exists and is not marked for
//     deletion. A role deleted or marked between the caller's validation
//     and the commit fails the write with ErrRoleGone instead of leaving a
//     dangling assignment.
//   - The same update counts the assignment in the role item's assignSeq
//     attribute (leaving the roles version, and so the role ETags and the
//     cached role sets, alone). DeleteRole requires assignSeq unchanged
//     since it read the roles, before it listed the role's holders: a
//     member who gained the role after the listing fails the deletion
//     with ErrMemberChanged, and the caller lists the holders again. A
//     deletion in chunks marks the role first (MarkRoleDeleting), after
//     which no member gains it, so its listings of holders are complete.
//
// Member writes granting different roles touch different items and never
// conflict with each other; grants of one role serialise on its item (a
// transaction conflict is retried by Commit).

// ErrRoleGone: a member write names a custom role that the account no
// longer has (it was deleted, or marked for deletion, after the caller
// validated the assignment).
var ErrRoleGone = errors.New("a custom role of the member no longer exists")

// attrAssignSeq is a role item's count of guarded member writes.
const attrAssignSeq = "assignSeq"

// customRoleIDs returns the distinct non-built-in role ids of as.
func customRoleIDs(as []rbac.Assignment) []string {
	var out []string
	for _, a := range as {
		if a.Role != "" && !rbac.IsBuiltInRole(a.Role) && !slices.Contains(out, a.Role) {
			out = append(out, a.Role)
		}
	}
	return out
}

// guardRole adds the roles guard of custom role id to tx: the role item
// counts the grant, when it exists and is not marked for deletion.
func (tx *Tx) guardRole(account, id string) {
	tx.Update(roleKey(account, id), Cond{
		Expr:   "SET #seq = if_not_exists(#seq, :zero) + :one",
		Names:  map[string]string{"#seq": attrAssignSeq},
		Values: map[string]types.AttributeValue{":zero": num(0), ":one": num(1)},
	}, &Cond{
		Expr:  "attribute_exists(#pk) AND attribute_not_exists(#status)",
		Names: map[string]string{"#pk": AttrPK, "#status": "status"},
	}, ErrRoleGone)
}

// guardCustomRoles adds the roles guard to tx for member m as it will be
// written, and returns the roles guarded. existing says m is stored
// already: then only the custom roles m does not hold yet are guarded (a
// member keeps a role it holds; its deletion lists it among the holders),
// which costs reading the member. Without custom roles to guard it adds
// nothing and reads nothing.
func (s *Store) guardCustomRoles(ctx context.Context, tx *Tx, m team.Member, existing bool) ([]string, error) {
	added := customRoleIDs(m.Assignments)
	if len(added) == 0 {
		return nil, nil
	}
	if existing {
		before, err := s.GetMember(ctx, m.AccountID, m.ID)
		switch {
		case errors.Is(err, team.ErrMemberNotFound):
			// The write fails on the member anyway.
		case err != nil:
			return nil, err
		default:
			added = slices.DeleteFunc(added, func(id string) bool {
				return slices.ContainsFunc(before.Assignments, func(a rbac.Assignment) bool { return a.Role == id })
			})
		}
	}
	for _, id := range added {
		tx.guardRole(m.AccountID, id)
	}
	return added, nil
}

// commitGuarded commits the transaction build makes for member m with the
// roles guard. A guarded role item that is missing because the account's
// roles are not migrated yet (roles.go) is migrated, and the write tried
// again; otherwise a failed guard is ErrRoleGone.
func (s *Store) commitGuarded(ctx context.Context, m team.Member, existing bool, build func() *Tx) error {
	for attempt := 1; ; attempt++ {
		tx := build()
		added, err := s.guardCustomRoles(ctx, tx, m, existing)
		if err != nil {
			return err
		}
		err = s.Commit(ctx, tx)
		if !errors.Is(err, ErrRoleGone) {
			return err
		}
		if attempt == 1 {
			legacy, lerr := s.rolesLegacy(ctx, m.AccountID)
			if lerr != nil {
				return lerr
			}
			if legacy {
				if _, err := s.currentRoles(ctx, m.AccountID); err != nil {
					return err
				}
				continue
			}
		}
		// A plain error, not the failed condition: callers read a failed
		// condition without an item as a missing member.
		return fmt.Errorf("%w: %q", ErrRoleGone, added)
	}
}

// rolesLegacy reports whether the account's roles are still in its
// version item (one small strongly consistent read).
func (s *Store) rolesLegacy(ctx context.Context, account string) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: rolesKey(account), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#pk, #roles"), ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#roles": "roles"},
	})
	if err != nil {
		return false, fmt.Errorf("get custom roles: %w", err)
	}
	_, legacy := out.Item["roles"]
	return legacy, nil
}

package store

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/team"
)

// DeleteMember marks a member deleted (its name and email stay for the
// history) at its version, and frees its email in the account and its
// identity's membership, so the person no longer signs in here and may be
// invited again later.
func (s *Store) DeleteMember(ctx context.Context, m team.Member, ev audit.Event) (team.Member, error) {
	tx := NewTx(ev)
	next := tx.updateMember(m, s.now().UTC(), team.ErrStaleVersion)
	tx.Delete(memberEmailKey(m.AccountID, m.Email), nil, nil)
	if m.IdentityID != "" {
		tx.Delete(membershipKey(m.IdentityID, m.AccountID), nil, nil)
	}
	if err := s.Commit(ctx, tx); err != nil {
		return team.Member{}, err
	}
	return next, nil
}

// TransferOwnership makes to the owner instead of from, in one transaction
// with the account's owner id: from stays an administrator. Both members
// must still be at the versions read.
func (s *Store) TransferOwnership(ctx context.Context, acct team.Account, from, to team.Member, ev audit.Event) error {
	now := timeAV(s.now().UTC())
	tx := NewTx(ev)
	for _, x := range []struct {
		m     team.Member
		owner bool
	}{{from, false}, {to, true}} {
		tx.Update(memberKey(x.m.AccountID, x.m.ID), Cond{
			Expr:  "SET #owner = :owner, #admin = :true, #ver = :next, #upd = :now",
			Names: map[string]string{"#owner": "owner", "#admin": "admin", "#upd": "updatedAt"},
			Values: map[string]types.AttributeValue{
				":owner": &types.AttributeValueMemberBOOL{Value: x.owner}, ":true": &types.AttributeValueMemberBOOL{Value: true},
				":next": num(x.m.Version + 1), ":now": now,
			},
		}, VersionIs(x.m.Version), team.ErrStaleVersion)
	}
	tx.Update(accountKey(acct.ID), Cond{
		Expr:   "SET #oid = :to, #ver = #ver + :one, #upd = :now",
		Names:  map[string]string{"#oid": "ownerId", "#upd": "updatedAt"},
		Values: map[string]types.AttributeValue{":to": str(to.ID), ":from": str(from.ID), ":one": num(1), ":now": now},
	}, &Cond{Expr: "#oid = :from", Names: map[string]string{"#ver": AttrVersion}}, team.ErrStaleVersion)
	err := s.Commit(ctx, tx)
	if errors.Is(err, ErrConditionFailed) && !errors.Is(err, team.ErrStaleVersion) {
		return team.ErrStaleVersion
	}
	return err
}

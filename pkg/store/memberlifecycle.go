package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// DeleteMember marks a member deleted (its name and email stay for the
// history) at its version, and frees its email in the account and its
// identity's membership, so the person no longer signs in here and may be
// invited again later.
//
// The member item moves from MEMBER#{m} to DELETED#{m} (deletedMemberKey)
// in the same transaction: the reads of live members (who-can, alert
// recipients, approvers, role holders) query the MEMBER# range only and no
// longer pay for deleted members. m is the member as read (at its version,
// which the removal requires), with the changed fields; it is written
// whole at the next version with status deleted.
func (s *Store) DeleteMember(ctx context.Context, m team.Member, ev audit.Event) (team.Member, error) {
	return s.deleteMemberWith(ctx, m, ev, nil)
}

// deleteMemberWith is DeleteMember with extra's writes in its transaction.
func (s *Store) deleteMemberWith(ctx context.Context, m team.Member, ev audit.Event, extra func(*Tx)) (team.Member, error) {
	tx := NewTx(ev)
	now := s.now().UTC()
	tx.Delete(memberKey(m.AccountID, m.ID), VersionIs(m.Version), team.ErrStaleVersion)
	next := m
	next.Status, next.Version, next.UpdatedAt = rbac.StatusDeleted, m.Version+1, now
	it := toMemberItem(next)
	it.SK = key(prefixDeleted, m.ID)
	tx.Put(marshal(it), nil, nil)
	tx.Delete(memberEmailKey(m.AccountID, m.Email), nil, nil)
	if m.IdentityID != "" {
		tx.Delete(membershipKey(m.IdentityID, m.AccountID), nil, nil)
	}
	if extra != nil {
		extra(tx)
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

// MoveDeletedMembers moves the account's members deleted before
// DeleteMember moved them (status deleted, still at MEMBER#{m}) to
// DELETED#{m}, each in one transaction conditioned on its version read (a
// member that changed meanwhile is left for the next run). It reads the
// live range once and is safe to run again; moved is how many it moved.
// It writes no audit event: nothing about the member changes.
func (s *Store) MoveDeletedMembers(ctx context.Context, account string) (moved int, err error) {
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, s.membersQuery(account, 1000, start))
		if err != nil {
			return moved, fmt.Errorf("move deleted members: %w", err)
		}
		for _, raw := range page.Items {
			if st, _ := raw["status"].(*types.AttributeValueMemberS); st == nil || st.Value != string(rbac.StatusDeleted) {
				continue
			}
			id, _ := raw["id"].(*types.AttributeValueMemberS)
			ver, _ := raw[AttrVersion].(*types.AttributeValueMemberN)
			if id == nil || ver == nil {
				continue
			}
			v, err := strconv.ParseInt(ver.Value, 10, 64)
			if err != nil {
				continue
			}
			item := maps.Clone(raw)
			item[AttrSK] = str(key(prefixDeleted, id.Value))
			cond := VersionIs(v)
			_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Delete: &types.Delete{TableName: aws.String(s.table), Key: memberKey(account, id.Value),
					ConditionExpression: aws.String(cond.Expr), ExpressionAttributeNames: cond.Names, ExpressionAttributeValues: cond.Values}},
				{Put: &types.Put{TableName: aws.String(s.table), Item: item}},
			}})
			var cancelled *types.TransactionCanceledException
			switch {
			case errors.As(err, &cancelled):
				continue
			case err != nil:
				return moved, fmt.Errorf("move deleted members: %w", err)
			}
			moved++
		}
		if len(page.LastEvaluatedKey) == 0 {
			return moved, nil
		}
		start = page.LastEvaluatedKey
	}
}

package store

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Delegations: one item per member who set one, and a reverse entry per
// delegation under its delegate, so that "waiting for me" finds the
// members who delegate to the caller with one query of a few items.
//
//	delegation  pk ACCOUNT#{a}  sk DELEGATION#{member}             ttl
//	reverse     pk ACCOUNT#{a}  sk DELEGATE#{delegate}#{member}    ttl
//
// Both are written and removed in one transaction. Their TTL is the
// delegation's end plus delegationKeep: an ended delegation is shown for a
// while, then swept (every reader checks the window anyway).
const (
	prefixDelegation = "DELEGATION"
	prefixDelegate   = "DELEGATE"
	typeDelegation   = "delegation"
	typeDelegate     = "delegate"
	delegationKeep   = 30 * 24 * time.Hour
)

func delegationKey(a, member string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixDelegation, member))
}
func delegatePrefix(delegate string) string { return key(prefixDelegate, delegate) + sep }
func delegateKey(a, delegate, member string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), delegatePrefix(delegate)+member)
}

type delegationItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Type       string    `dynamodbav:"type"`
	AccountID  string    `dynamodbav:"accountId"`
	MemberID   string    `dynamodbav:"memberId"`
	DelegateID string    `dynamodbav:"delegateId"`
	From       time.Time `dynamodbav:"from"`
	Until      time.Time `dynamodbav:"until"`
	Note       string    `dynamodbav:"note,omitempty"`
	Version    int64     `dynamodbav:"version"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	UpdatedAt  time.Time `dynamodbav:"updatedAt"`
	TTL        int64     `dynamodbav:"ttl"`
}

func (it delegationItem) delegation() team.Delegation {
	return team.Delegation{
		AccountID: it.AccountID, MemberID: it.MemberID, DelegateID: it.DelegateID, From: it.From, Until: it.Until,
		Note: it.Note, Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
}

// delegateItem is a reverse entry: the window is copied so that listing a
// delegate's members needs no second read.
type delegateItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Type       string    `dynamodbav:"type"`
	MemberID   string    `dynamodbav:"memberId"`
	DelegateID string    `dynamodbav:"delegateId"`
	From       time.Time `dynamodbav:"from"`
	Until      time.Time `dynamodbav:"until"`
	TTL        int64     `dynamodbav:"ttl"`
}

func delegationTTL(d team.Delegation) int64 { return d.Until.Add(delegationKeep).Unix() }

// PutDelegation sets d as its member's delegation: a new one when prev is
// nil (team.ErrDelegationChanged when one exists meanwhile), else a
// replacement of prev as read (same error when it changed). The delegate
// must be an active member of the account when the change commits
// (team.ErrDelegateNotActive).
func (s *Store) PutDelegation(ctx context.Context, d team.Delegation, prev *team.Delegation, ev audit.Event) error {
	tx := NewTx(ev)
	k := delegationKey(d.AccountID, d.MemberID)
	cond := ItemAbsent()
	if prev != nil {
		cond = VersionIs(prev.Version)
	}
	ttl := delegationTTL(d)
	tx.Put(marshal(delegationItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value, Type: typeDelegation,
		AccountID: d.AccountID, MemberID: d.MemberID, DelegateID: d.DelegateID, From: d.From.UTC(), Until: d.Until.UTC(),
		Note: d.Note, Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), TTL: ttl,
	}), cond, team.ErrDelegationChanged)
	rk := delegateKey(d.AccountID, d.DelegateID, d.MemberID)
	tx.Put(marshal(delegateItem{
		PK: rk[AttrPK].(*types.AttributeValueMemberS).Value, SK: rk[AttrSK].(*types.AttributeValueMemberS).Value, Type: typeDelegate,
		MemberID: d.MemberID, DelegateID: d.DelegateID, From: d.From.UTC(), Until: d.Until.UTC(), TTL: ttl,
	}), nil, nil)
	if prev != nil && prev.DelegateID != d.DelegateID {
		tx.Delete(delegateKey(d.AccountID, prev.DelegateID, d.MemberID), nil, nil)
	}
	tx.Check(memberKey(d.AccountID, d.DelegateID), memberActive(), team.ErrDelegateNotActive)
	return s.Commit(ctx, tx)
}

// memberActive is the condition that a member item exists and is active.
func memberActive() *Cond {
	return &Cond{Expr: "#st = :active", Names: map[string]string{"#st": "status"},
		Values: map[string]types.AttributeValue{":active": str(string(rbac.StatusActive))}}
}

// GetDelegation reads a member's delegation (team.ErrDelegationNotFound
// when none is stored), whether or not it is active now.
func (s *Store) GetDelegation(ctx context.Context, account, member string) (team.Delegation, error) {
	var it delegationItem
	if err := s.getItem(ctx, delegationKey(account, member), &it, team.ErrDelegationNotFound); err != nil {
		return team.Delegation{}, err
	}
	return it.delegation(), nil
}

// DeleteDelegation removes d, as read (team.ErrDelegationChanged when it
// changed or was removed meanwhile), and its reverse entry.
func (s *Store) DeleteDelegation(ctx context.Context, d team.Delegation, ev audit.Event) error {
	tx := NewTx(ev)
	tx.Delete(delegationKey(d.AccountID, d.MemberID), VersionIs(d.Version), team.ErrDelegationChanged)
	tx.Delete(delegateKey(d.AccountID, d.DelegateID, d.MemberID), nil, nil)
	return s.Commit(ctx, tx)
}

// ActiveDelegate is the one answer to "who stands in for member at at":
// the delegate of member's delegation when it is active at at (From <= at
// < Until) and the delegate is an active member of the account; ok is
// false otherwise (the member's own email and authority apply). Chains are
// not followed: the delegate's own delegation does not pass the member's
// items on.
func (s *Store) ActiveDelegate(ctx context.Context, account, memberID string, at time.Time) (delegateID string, ok bool, err error) {
	d, err := s.GetDelegation(ctx, account, memberID)
	if errors.Is(err, team.ErrDelegationNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if !d.ActiveAt(at) || d.DelegateID == memberID {
		return "", false, nil
	}
	m, err := s.GetMember(ctx, account, d.DelegateID)
	if errors.Is(err, team.ErrMemberNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if m.Status != rbac.StatusActive {
		return "", false, nil
	}
	return d.DelegateID, true, nil
}

// Delegators lists the members whose delegation to delegate is active at
// at: one strongly consistent query of the delegate's reverse entries.
func (s *Store) Delegators(ctx context.Context, account, delegate string, at time.Time) ([]string, error) {
	items, err := queryPrefix[delegateItem](ctx, s, account, delegatePrefix(delegate), "delegators")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		d := team.Delegation{MemberID: it.MemberID, DelegateID: it.DelegateID, From: it.From, Until: it.Until}
		if d.ActiveAt(at) && it.MemberID != delegate {
			out = append(out, it.MemberID)
		}
	}
	return out, nil
}

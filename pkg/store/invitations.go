package store

import (
	"context"
	"errors"
	"fmt"

	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Invitations live in the account partition.
//
//	invitation  pk ACCOUNT#{a}  sk INVITE#{id}
const prefixInvite = "INVITE"

func inviteKey(a, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixInvite, id))
}

// Invitation failures.
var (
	ErrInvitationNotFound = errors.New("invitation not found")
	// ErrInvitationNotPending: the invitation was accepted or revoked
	// meanwhile.
	ErrInvitationNotPending = errors.New("invitation is no longer pending")
	// ErrMemberNotInvited: the invited member changed meanwhile.
	ErrMemberNotInvited = errors.New("member is no longer invited")
)

type invitationItem struct {
	PK          string           `dynamodbav:"pk"`
	SK          string           `dynamodbav:"sk"`
	Type        string           `dynamodbav:"type"`
	ID          string           `dynamodbav:"id"`
	AccountID   string           `dynamodbav:"accountId"`
	MemberID    string           `dynamodbav:"memberId"`
	Email       string           `dynamodbav:"email"`
	Name        string           `dynamodbav:"name,omitempty"`
	Admin       bool             `dynamodbav:"admin"`
	Assignments []assignmentItem `dynamodbav:"assignments"`
	InviterID   string           `dynamodbav:"inviterId"`
	InviterName string           `dynamodbav:"inviterName"`
	Status      string           `dynamodbav:"status"`
	ExpiresAt   time.Time        `dynamodbav:"expiresAt"`
	CreatedAt   time.Time        `dynamodbav:"createdAt"`
	AcceptedAt  time.Time        `dynamodbav:"acceptedAt,omitempty"`
	Version     int64            `dynamodbav:"version"`
	Existing    bool             `dynamodbav:"existingMember,omitempty"`
}

func toInvitationItem(i team.Invitation) invitationItem {
	it := invitationItem{
		PK: accountPK(i.AccountID), SK: key(prefixInvite, i.ID), Type: typeInvitation,
		ID: i.ID, AccountID: i.AccountID, MemberID: i.MemberID, Email: i.Email, Name: i.Name, Admin: i.Admin,
		Assignments: make([]assignmentItem, 0, len(i.Assignments)),
		InviterID:   i.InviterID, InviterName: i.InviterName, Status: string(i.Status),
		ExpiresAt: i.ExpiresAt.UTC(), CreatedAt: i.CreatedAt.UTC(), Version: i.Version, Existing: i.ExistingMember,
	}
	if !i.AcceptedAt.IsZero() {
		it.AcceptedAt = i.AcceptedAt.UTC()
	}
	for _, a := range i.Assignments {
		it.Assignments = append(it.Assignments, toAssignmentItem(a))
	}
	return it
}

func (it invitationItem) invitation() (team.Invitation, error) {
	i := team.Invitation{
		ID: it.ID, AccountID: it.AccountID, MemberID: it.MemberID, Email: it.Email, Name: it.Name, Admin: it.Admin,
		InviterID: it.InviterID, InviterName: it.InviterName, Status: team.InvitationStatus(it.Status),
		ExpiresAt: it.ExpiresAt, CreatedAt: it.CreatedAt, AcceptedAt: it.AcceptedAt, Version: it.Version,
		ExistingMember: it.Existing,
	}
	for _, x := range it.Assignments {
		a, err := x.assignment("invitation " + it.ID)
		if err != nil {
			return team.Invitation{}, err
		}
		i.Assignments = append(i.Assignments, a)
	}
	return i, nil
}

// CreateInvitation writes an invitation, its invited member and its token
// in one transaction with the event. An email that is already a member of
// the account fails with team.ErrAlreadyMember; a custom role that no
// longer exists, ErrRoleGone (see roleguard.go).
func (s *Store) CreateInvitation(ctx context.Context, inv team.Invitation, member team.Member, t Token, ev audit.Event) error {
	return s.commitGuarded(ctx, member, false, func() *Tx {
		tx := NewTx(ev)
		tx.Check(accountKey(inv.AccountID), ItemPresent(), team.ErrAccountNotFound)
		tx.Put(marshal(toInvitationItem(inv)), ItemAbsent(), nil)
		tx.addMember(member)
		tx.IssueToken(t)
		return tx
	})
}

// ErrMemberNotInvitable: the member to invite is not inactive (any more),
// changed since it was read, or has a pending invitation already.
var ErrMemberNotInvitable = errors.New("member cannot be invited")

// attrPendingInvite marks an existing member's pending invitation (its id)
// on the member item; it is not part of the member.
const attrPendingInvite = "pendingInvitation"

// CreateInvitationForMember writes an invitation for an existing inactive
// member m (as read, at m.Version) and its token, with the event. The member
// is only marked with the invitation (so it cannot get a second one): it
// stays inactive, with its grants, until the invitation is accepted. A
// member that is no longer inactive at that version, or already has a
// pending invitation, fails with ErrMemberNotInvitable.
func (s *Store) CreateInvitationForMember(ctx context.Context, inv team.Invitation, m team.Member, t Token, ev audit.Event) error {
	if !inv.ExistingMember || inv.MemberID != m.ID {
		return fmt.Errorf("create invitation %s: not for existing member %s", inv.ID, m.ID)
	}
	tx := NewTx(ev)
	tx.Put(marshal(toInvitationItem(inv)), ItemAbsent(), nil)
	tx.Update(memberKey(m.AccountID, m.ID), Cond{
		Expr:   "SET #pinv = :inv",
		Names:  map[string]string{"#pinv": attrPendingInvite},
		Values: map[string]types.AttributeValue{":inv": str(inv.ID)},
	}, &Cond{
		Expr:   "#ver = :ver AND #st = :inactive AND attribute_not_exists(#pinv)",
		Names:  map[string]string{"#ver": AttrVersion, "#st": "status"},
		Values: map[string]types.AttributeValue{":ver": num(m.Version), ":inactive": str(string(rbac.StatusInactive))},
	}, ErrMemberNotInvitable)
	tx.IssueToken(t)
	return s.Commit(ctx, tx)
}

// MemberByEmail reads the member of an account with the email (any status
// but deleted: a deleted member's email is freed); team.ErrMemberNotFound
// when none.
func (s *Store) MemberByEmail(ctx context.Context, account, email string) (team.Member, error) {
	var ptr pointerItem
	if err := s.getItem(ctx, memberEmailKey(account, email), &ptr, team.ErrMemberNotFound); err != nil {
		return team.Member{}, err
	}
	return s.GetMember(ctx, account, ptr.Target)
}

// releaseInvited adds to tx what ending a pending invitation does to its
// member: an invited member (created with the invitation) goes, with its
// email claim; an existing member only loses its pending mark.
func (tx *Tx) releaseInvited(inv team.Invitation) {
	if inv.ExistingMember {
		tx.Update(memberKey(inv.AccountID, inv.MemberID), Cond{
			Expr: "REMOVE #pinv", Names: map[string]string{"#pinv": attrPendingInvite},
		}, &Cond{Expr: "#pinv = :inv", Values: map[string]types.AttributeValue{":inv": str(inv.ID)}}, ErrMemberNotInvited)
		return
	}
	tx.Delete(memberKey(inv.AccountID, inv.MemberID), statusIs(rbac.StatusInvited), ErrMemberNotInvited)
	tx.Delete(memberEmailKey(inv.AccountID, inv.Email), nil, nil)
}

// GetInvitation reads an invitation.
func (s *Store) GetInvitation(ctx context.Context, account, id string) (team.Invitation, error) {
	var it invitationItem
	if err := s.getItem(ctx, inviteKey(account, id), &it, ErrInvitationNotFound); err != nil {
		return team.Invitation{}, err
	}
	return it.invitation()
}

// ListInvitations lists an account's invitations, limit at a time.
func (s *Store) ListInvitations(ctx context.Context, account string, limit int, cursor string) (Page[team.Invitation], error) {
	const list = "invitations"
	start, err := s.cursors.Open(account, list, cursor)
	if err != nil {
		return Page[team.Invitation]{}, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":prefix": str(prefixInvite + sep)},
		Limit:                     aws.Int32(pageSize(limit)),
		ExclusiveStartKey:         start,
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return Page[team.Invitation]{}, fmt.Errorf("list invitations: %w", err)
	}
	var items []invitationItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return Page[team.Invitation]{}, fmt.Errorf("list invitations: %w", err)
	}
	page := Page[team.Invitation]{Items: make([]team.Invitation, 0, len(items))}
	for _, it := range items {
		inv, err := it.invitation()
		if err != nil {
			return Page[team.Invitation]{}, err
		}
		page.Items = append(page.Items, inv)
	}
	page.Next, err = s.cursors.Seal(account, list, out.LastEvaluatedKey)
	return page, err
}

func pendingAt(version int64) *Cond {
	return &Cond{
		Expr:   "#status = :pending AND #ver = :ver",
		Names:  map[string]string{"#status": "status", "#ver": AttrVersion},
		Values: map[string]types.AttributeValue{":pending": str(string(team.InvitationPending)), ":ver": num(version)},
	}
}

// ResendInvitation gives a pending (or expired) invitation a new token and
// expiry; the old link stops working. The old token item is deleted in the
// same transaction, so the old link looks exactly like an unknown one (a
// lookup finds no token, and learns nothing about the invitation).
func (s *Store) ResendInvitation(ctx context.Context, inv team.Invitation, t Token, ev audit.Event) error {
	var cur struct {
		Hash string `dynamodbav:"hash"`
	}
	if err := s.getItem(ctx, currentTokenKey(TokenInvitation, inv.ID), &cur, ErrNotFound); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("resend invitation: %w", err)
	}
	tx := NewTx(ev)
	if cur.Hash != "" && cur.Hash != t.Hash {
		// Two re-sends at once read the same old token; the invitation's
		// version lets only one commit.
		tx.Delete(tokenKey(cur.Hash), nil, nil)
	}
	tx.Update(inviteKey(inv.AccountID, inv.ID), Cond{
		Expr:   "SET #exp = :exp, #ver = #ver + :one",
		Names:  map[string]string{"#exp": "expiresAt"},
		Values: map[string]types.AttributeValue{":exp": timeAV(t.ExpiresAt), ":one": num(1)},
	}, pendingAt(inv.Version), ErrInvitationNotPending)
	tx.IssueToken(t)
	return s.Commit(ctx, tx)
}

// RevokeInvitation marks a pending invitation revoked and removes its
// invited member (and the member's email claim), so the email can be
// invited again.
func (s *Store) RevokeInvitation(ctx context.Context, inv team.Invitation, ev audit.Event) error {
	tx := NewTx(ev)
	tx.Update(inviteKey(inv.AccountID, inv.ID), Cond{
		Expr:   "SET #status = :revoked, #ver = #ver + :one",
		Values: map[string]types.AttributeValue{":revoked": str(string(team.InvitationRevoked)), ":one": num(1)},
	}, pendingAt(inv.Version), ErrInvitationNotPending)
	tx.releaseInvited(inv)
	// Its token goes too: a revoked link must not work.
	tx.Delete(currentTokenKey(TokenInvitation, inv.ID), nil, nil)
	return s.Commit(ctx, tx)
}

func statusIs(st rbac.Status) *Cond {
	return &Cond{
		Expr:   "#status = :st",
		Names:  map[string]string{"#status": "status"},
		Values: map[string]types.AttributeValue{":st": str(string(st))},
	}
}

// Acceptance is what accepting an invitation writes.
type Acceptance struct {
	Invitation team.Invitation
	TokenHash  string
	// Identity is the person joining: new (NewIdentity) or existing.
	Identity    team.Identity
	NewIdentity bool
	// Name is the member's name from now on.
	Name string
	Now  time.Time
}

// AcceptInvitation uses the invitation's token and, in one transaction:
// marks the invitation accepted, activates the invited member on the
// identity (creating the identity when new, verifying its email either
// way, since the link proves it), and records the membership. Of two
// accepts of one link exactly one succeeds; the other fails with
// ErrTokenInvalid.
func (s *Store) AcceptInvitation(ctx context.Context, a Acceptance, ev audit.Event) error {
	if !a.Invitation.ExistingMember {
		return s.Commit(ctx, s.acceptTx(a, ev))
	}
	// An existing member gets the invitation's grants now: guarded like any
	// member write that gives a custom role (ErrRoleGone once deleted).
	inv := a.Invitation
	m := team.Member{ID: inv.MemberID, AccountID: inv.AccountID, Admin: inv.Admin, Assignments: inv.Assignments}
	return s.commitGuarded(ctx, m, true, func() *Tx { return s.acceptTx(a, ev) })
}

func (s *Store) acceptTx(a Acceptance, ev audit.Event) *Tx {
	inv := a.Invitation
	tx := NewTx(ev).ConsumeToken(a.TokenHash, TokenInvitation, inv.ID, a.Now)
	tx.Update(inviteKey(inv.AccountID, inv.ID), Cond{
		Expr:   "SET #status = :accepted, #acc = :now, #ver = #ver + :one",
		Names:  map[string]string{"#acc": "acceptedAt"},
		Values: map[string]types.AttributeValue{":accepted": str(string(team.InvitationAccepted)), ":now": timeAV(a.Now), ":one": num(1)},
	}, pendingAt(inv.Version), ErrInvitationNotPending)
	if inv.ExistingMember {
		asg := make([]assignmentItem, 0, len(inv.Assignments))
		for _, x := range inv.Assignments {
			asg = append(asg, toAssignmentItem(x))
		}
		asgAV, err := attributevalue.Marshal(asg)
		if err != nil {
			panic(fmt.Sprintf("store: marshal assignments: %v", err)) // plain structs always marshal
		}
		tx.Update(memberKey(inv.AccountID, inv.MemberID), Cond{
			Expr: "SET #st = :active, #idn = :idn, #name = :name, #admin = :admin, #asg = :asg, #upd = :now, #ver = #ver + :one REMOVE #pinv",
			Names: map[string]string{"#st": "status", "#idn": "identityId", "#name": "name", "#admin": "admin", "#asg": "assignments",
				"#upd": "updatedAt", "#ver": AttrVersion, "#pinv": attrPendingInvite},
			Values: map[string]types.AttributeValue{
				":active": str(string(rbac.StatusActive)), ":idn": str(a.Identity.ID), ":name": str(a.Name),
				":admin": &types.AttributeValueMemberBOOL{Value: inv.Admin}, ":asg": asgAV, ":now": timeAV(a.Now), ":one": num(1),
			},
		}, &Cond{Expr: "#st = :inactive AND #pinv = :inv", Values: map[string]types.AttributeValue{
			":inactive": str(string(rbac.StatusInactive)), ":inv": str(inv.ID),
		}}, ErrMemberNotInvited)
		tx.indexExpiringGrants(inv.AccountID, inv.MemberID, inv.Assignments, a.Now)
	} else {
		tx.Update(memberKey(inv.AccountID, inv.MemberID), Cond{
			Expr:  "SET #st = :active, #idn = :idn, #name = :name, #upd = :now, #ver = #ver + :one",
			Names: map[string]string{"#st": "status", "#idn": "identityId", "#name": "name", "#upd": "updatedAt", "#ver": AttrVersion},
			Values: map[string]types.AttributeValue{
				":active": str(string(rbac.StatusActive)), ":idn": str(a.Identity.ID), ":name": str(a.Name), ":now": timeAV(a.Now), ":one": num(1),
			},
		}, &Cond{Expr: "#st = :invited", Values: map[string]types.AttributeValue{":invited": str(string(rbac.StatusInvited))}}, ErrMemberNotInvited)
	}
	tx.Put(marshal(pointerItem{PK: identityPK(a.Identity.ID), SK: key(prefixMembership, inv.AccountID), Type: typeMembership, Target: inv.MemberID, AccountID: inv.AccountID}), nil, nil)
	if a.NewIdentity {
		ident := a.Identity
		ident.EmailVerified = true
		tx.Put(marshal(pointerItem{PK: key(prefixEmail, ident.Email), SK: prefixEmail, Type: typeEmail, Target: ident.ID}), ItemAbsent(), team.ErrEmailTaken)
		tx.Put(marshal(toIdentityItem(ident)), ItemAbsent(), nil)
	} else {
		tx.Update(identityKey(a.Identity.ID), Cond{
			Expr:   "SET #v = :true",
			Names:  map[string]string{"#v": "emailVerified"},
			Values: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}},
		}, ItemPresent(), team.ErrIdentityNotFound)
	}
	return tx
}

// UndoInvitation removes an invitation whose email could not be sent,
// with its invited member, email claim and token, so that the create can
// simply be retried. The event records the undo.
func (s *Store) UndoInvitation(ctx context.Context, inv team.Invitation, ev audit.Event) error {
	tx := NewTx(ev)
	tx.Delete(inviteKey(inv.AccountID, inv.ID), pendingAt(inv.Version), ErrInvitationNotPending)
	tx.releaseInvited(inv)
	tx.Delete(currentTokenKey(TokenInvitation, inv.ID), nil, nil)
	return s.Commit(ctx, tx)
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// NewAccount is a new account with its owner, and the identity the owner
// signs in with (new, or existing when the email already has one).
type NewAccount struct {
	Account     team.Account
	Owner       team.Member
	Identity    team.Identity
	NewIdentity bool
	// VerifyToken, when set, is issued with the account.
	VerifyToken *Token
	// ClaimFirst, when joining an existing account (ConfirmRegistration),
	// records Owner as the account's first self-registrant, on the
	// condition that it has none (else ErrFirstRegistrantTaken; see
	// FirstRegistrant).
	ClaimFirst bool
}

// CreateAccount writes a new account, its owner, the owner's identity (when
// new) and the owner's first token, with the audit event, in one
// transaction. An email that already has an identity, when NewIdentity is
// set, fails with team.ErrEmailTaken.
func (s *Store) CreateAccount(ctx context.Context, na NewAccount, ev audit.Event) error {
	s.retention.remember(na.Account, s.now())
	tx := NewTx(ev)
	tx.putAccount(na.Account)
	tx.addMember(na.Owner)
	if na.NewIdentity {
		tx.Put(marshal(pointerItem{PK: key(prefixEmail, na.Identity.Email), SK: prefixEmail, Type: typeEmail, Target: na.Identity.ID}), ItemAbsent(), team.ErrEmailTaken)
		tx.Put(marshal(toIdentityItem(na.Identity)), ItemAbsent(), nil)
	} else {
		tx.Check(identityKey(na.Identity.ID), ItemPresent(), team.ErrIdentityNotFound)
	}
	if na.VerifyToken != nil {
		tx.IssueToken(*na.VerifyToken)
	}
	return s.Commit(ctx, tx)
}

// putAccount adds the writes of a new account: its item and, when it has
// a preset or settings its decisions depend on, the roles version item
// carrying them (rolesItem) at roles version 0.
func (tx *Tx) putAccount(a team.Account) {
	tx.Put(marshal(toAccountItem(a)), ItemAbsent(), nil)
	if o := a.RoleOptions(); o != (rbac.Options{}) && o != (rbac.Options{Billing: rbac.BillingPerStore}) {
		tx.Put(marshal(rolesItem{PK: accountPK(a.ID), SK: skRoles, Type: typeRoles, UpdatedAt: a.CreatedAt.UTC(),
			Preset: o.Preset, Billing: string(o.Billing), LockAfterDays: o.LockAfterDays}), ItemAbsent(), nil)
	}
}

// addMember adds the writes of a new member: the member, its per-account
// email claim (one member per email per account), and the membership
// pointer in its identity's partition.
func (tx *Tx) addMember(m team.Member) {
	tx.Put(marshal(toMemberItem(m)), ItemAbsent(), nil)
	tx.indexExpiringGrants(m.AccountID, m.ID, m.Assignments, m.CreatedAt)
	tx.Put(marshal(pointerItem{PK: accountPK(m.AccountID), SK: key(prefixEmail, m.Email), Type: typeEmail, Target: m.ID}), ItemAbsent(), team.ErrAlreadyMember)
	if m.IdentityID != "" {
		tx.Put(marshal(pointerItem{PK: identityPK(m.IdentityID), SK: key(prefixMembership, m.AccountID), Type: typeMembership, Target: m.ID, AccountID: m.AccountID}), nil, nil)
	}
}

// getItem reads one item strongly consistently into out; a missing item is
// notFound.
func (s *Store) getItem(ctx context.Context, k map[string]types.AttributeValue, out any, notFound error) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("get item: %w", err)
	}
	if res.Item == nil {
		return notFound
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("decode item: %w", err)
	}
	return nil
}

// GetAccount reads an account.
func (s *Store) GetAccount(ctx context.Context, id string) (team.Account, error) {
	var it accountItem
	if err := s.getItem(ctx, accountKey(id), &it, team.ErrAccountNotFound); err != nil {
		return team.Account{}, err
	}
	a := it.account()
	s.retention.remember(a, s.now())
	return a, nil
}

// GetMember reads a member of an account, in any status: a member not in
// the live range is read where DeleteMember moved it (a second read, only
// for a deleted or unknown id).
func (s *Store) GetMember(ctx context.Context, account, id string) (team.Member, error) {
	var it memberItem
	err := s.getItem(ctx, memberKey(account, id), &it, team.ErrMemberNotFound)
	if errors.Is(err, team.ErrMemberNotFound) {
		err = s.getItem(ctx, deletedMemberKey(account, id), &it, team.ErrMemberNotFound)
	}
	if err != nil {
		return team.Member{}, err
	}
	return it.member()
}

// withDeletedMembers completes items, read by a BatchGetItem of keys, with
// the deleted members among them: each member key (MEMBER#{m}) that read
// nothing is read again at DELETED#{m}, in one more BatchGetItem, only when
// some member was missing.
func (s *Store) withDeletedMembers(ctx context.Context, keys, items []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	found := make(map[string]bool, len(items))
	for _, raw := range items {
		if sk, ok := raw[AttrSK].(*types.AttributeValueMemberS); ok {
			if pk, ok := raw[AttrPK].(*types.AttributeValueMemberS); ok {
				found[pk.Value+"|"+sk.Value] = true
			}
		}
	}
	var again []map[string]types.AttributeValue
	for _, k := range keys {
		pk, sk := k[AttrPK].(*types.AttributeValueMemberS).Value, k[AttrSK].(*types.AttributeValueMemberS).Value
		if id, ok := strings.CutPrefix(sk, prefixMember+sep); ok && !found[pk+"|"+sk] {
			again = append(again, itemKey(pk, key(prefixDeleted, id)))
		}
	}
	if len(again) == 0 {
		return items, nil
	}
	more, err := s.batchGet(ctx, again)
	if err != nil {
		return nil, err
	}
	return append(items, more...), nil
}

// GetIdentity reads an identity.
func (s *Store) GetIdentity(ctx context.Context, id string) (team.Identity, error) {
	var it identityItem
	if err := s.getItem(ctx, identityKey(id), &it, team.ErrIdentityNotFound); err != nil {
		return team.Identity{}, err
	}
	return it.identity(), nil
}

// IdentityIDByEmail finds the identity of a normalized email.
func (s *Store) IdentityIDByEmail(ctx context.Context, email string) (string, error) {
	var it pointerItem
	if err := s.getItem(ctx, emailKey(email), &it, team.ErrIdentityNotFound); err != nil {
		return "", err
	}
	return it.Target, nil
}

// Membership is one account an identity belongs to.
type Membership struct {
	AccountID string
	MemberID  string
}

// IdentityWithMemberships reads an identity and the accounts it belongs to
// in one strongly consistent query of its partition.
func (s *Store) IdentityWithMemberships(ctx context.Context, id string) (team.Identity, []Membership, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(identityPK(id))},
		ConsistentRead:            aws.Bool(true),
	})
	var ident *team.Identity
	var ms []Membership
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return team.Identity{}, nil, fmt.Errorf("read identity: %w", err)
		}
		for _, raw := range page.Items {
			sk := raw[AttrSK].(*types.AttributeValueMemberS).Value
			switch {
			case sk == prefixIdentity:
				var it identityItem
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					return team.Identity{}, nil, fmt.Errorf("decode identity: %w", err)
				}
				i := it.identity()
				ident = &i
			case strings.HasPrefix(sk, prefixMembership+sep):
				var it pointerItem
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					return team.Identity{}, nil, fmt.Errorf("decode membership: %w", err)
				}
				ms = append(ms, Membership{AccountID: it.AccountID, MemberID: it.Target})
			}
		}
	}
	if ident == nil {
		return team.Identity{}, nil, team.ErrIdentityNotFound
	}
	return *ident, ms, nil
}

// maxBatchKeys is the most keys one BatchGetItem reads.
const maxBatchKeys = 100

// maxBatchInFlight bounds the BatchGetItems one batchGet sends at once.
const maxBatchInFlight = 8

// batchGet reads any number of keys strongly consistently and returns the
// items found, in no order: one BatchGetItem for up to 100 keys, and
// otherwise chunks of 100 sent concurrently (at most maxBatchInFlight at a
// time), so that a batch of 207 keys is still one round trip of latency.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	if len(keys) <= maxBatchKeys {
		return s.batchGetChunk(ctx, keys)
	}
	n := (len(keys) + maxBatchKeys - 1) / maxBatchKeys
	results := make([][]map[string]types.AttributeValue, n)
	errs := make([]error, n)
	sem := make(chan struct{}, maxBatchInFlight)
	var wg sync.WaitGroup
	for i := range n {
		chunk := keys[i*maxBatchKeys : min(len(keys), (i+1)*maxBatchKeys)]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = s.batchGetChunk(ctx, chunk)
		}()
	}
	wg.Wait()
	var out []map[string]types.AttributeValue
	for i := range n {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

// batchGetChunk reads up to 100 keys in one BatchGetItem, retrying what
// DynamoDB leaves unprocessed.
func (s *Store) batchGetChunk(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	return s.batchGetKeys(ctx, types.KeysAndAttributes{Keys: keys, ConsistentRead: aws.Bool(true)})
}

// batchGetKeys reads ka (up to 100 keys) in one BatchGetItem, retrying
// what DynamoDB leaves unprocessed.
func (s *Store) batchGetKeys(ctx context.Context, ka types.KeysAndAttributes) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.table: ka}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			}
		}
		if attempt > 8 {
			return nil, fault.Busy(errors.New("batch get: unprocessed keys remain"))
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("batch get: %w", err)
		}
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
	}
	return items, nil
}

// MembersAndAccounts reads the members and accounts of memberships in one
// round trip, for sign-in to an identity that has several.
func (s *Store) MembersAndAccounts(ctx context.Context, ms []Membership) ([]team.Member, map[string]team.Account, error) {
	var keys []map[string]types.AttributeValue
	for _, m := range ms {
		keys = append(keys, memberKey(m.AccountID, m.MemberID), accountKey(m.AccountID))
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	var members []team.Member
	accounts := map[string]team.Account{}
	for _, raw := range items {
		switch raw[AttrType].(*types.AttributeValueMemberS).Value {
		case typeMember:
			var it memberItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, nil, err
			}
			m, err := it.member()
			if err != nil {
				return nil, nil, err
			}
			members = append(members, m)
		case typeAccount:
			var it accountItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, nil, err
			}
			accounts[it.ID] = it.account()
		}
	}
	return members, accounts, nil
}

// VerifyEmail uses an email verification token and marks the identity
// verified, in one transaction with its event.
func (s *Store) VerifyEmail(ctx context.Context, hash, identityID string, now time.Time, ev audit.Event) error {
	tx := NewTx(ev).ConsumeToken(hash, TokenVerifyEmail, identityID, now)
	tx.Update(identityKey(identityID), Cond{
		Expr:   "SET #v = :true, #upd = :now, #ver = #ver + :one",
		Names:  map[string]string{"#v": "emailVerified", "#upd": "updatedAt", "#ver": AttrVersion},
		Values: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}, ":now": timeAV(now), ":one": num(1)},
	}, ItemPresent(), team.ErrIdentityNotFound)
	return s.Commit(ctx, tx)
}

// IssueIdentityToken makes t the current token of its kind for an
// identity (re-sent verification, password reset), with its event.
func (s *Store) IssueIdentityToken(ctx context.Context, t Token, ev audit.Event) error {
	tx := NewTx(ev).IssueToken(t)
	tx.Check(identityKey(t.SubjectID), ItemPresent(), team.ErrIdentityNotFound)
	return s.Commit(ctx, tx)
}

// ResetPassword uses a password reset token and sets the identity's new
// password hash (a reset also proves the email), with its event. The
// caller ends the identity's sessions afterwards.
func (s *Store) ResetPassword(ctx context.Context, hash, identityID, passwordHash string, now time.Time, ev audit.Event) error {
	tx := NewTx(ev).ConsumeToken(hash, TokenPasswordReset, identityID, now)
	tx.Update(identityKey(identityID), Cond{
		Expr:  "SET #ph = :ph, #v = :true, #upd = :now, #ver = #ver + :one",
		Names: map[string]string{"#ph": "passwordHash", "#v": "emailVerified", "#upd": "updatedAt", "#ver": AttrVersion},
		Values: map[string]types.AttributeValue{
			":ph": str(passwordHash), ":true": &types.AttributeValueMemberBOOL{Value: true}, ":now": timeAV(now), ":one": num(1),
		},
	}, ItemPresent(), team.ErrIdentityNotFound)
	return s.Commit(ctx, tx)
}

// SetPasswordHash replaces an identity's password hash when it still is
// old (a re-hash at login after the parameters changed). It writes no
// audit event: the password itself does not change. A lost race is not an
// error.
func (s *Store) SetPasswordHash(ctx context.Context, identityID, old, next string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: identityKey(identityID),
		UpdateExpression:          aws.String("SET #ph = :next"),
		ConditionExpression:       aws.String("#ph = :old"),
		ExpressionAttributeNames:  map[string]string{"#ph": "passwordHash"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":next": str(next), ":old": str(old)},
	})
	if err := mapWriteError("rehash password", err, nil); err != nil && !IsConditionFailed(err) {
		return err
	}
	return nil
}

// Token kinds.
const (
	TokenVerifyEmail   = "verify_email"
	TokenPasswordReset = "password_reset"
	TokenInvitation    = "invitation"
	TokenApproval      = "approval"
	TokenUnsubscribe   = "unsubscribe"
	// TokenPortalLink is a one-time link into the admin portal
	// (pkg/portal), minted by the host app for one of its members.
	TokenPortalLink = "portal_link"
)

func timeAV(t time.Time) types.AttributeValue {
	return str(t.UTC().Format(time.RFC3339Nano))
}

// AddMember writes a new member of an existing account: the member, its
// per-account email claim and its identity's membership pointer, with the
// event, in one transaction. An email that is already a member of the
// account fails with team.ErrAlreadyMember; a custom role that no longer
// exists, ErrRoleGone (see roleguard.go).
func (s *Store) AddMember(ctx context.Context, m team.Member, ev audit.Event) error {
	return s.commitGuarded(ctx, m, false, func() *Tx {
		tx := NewTx(ev)
		tx.Check(accountKey(m.AccountID), ItemPresent(), team.ErrAccountNotFound)
		tx.addMember(m)
		return tx
	})
}

// JoinAccount writes a member who joined by self-registration: the member
// (active, on its identity), its email claim and membership, the identity
// when new (with its verification token), and the event, in one
// transaction.
func (s *Store) JoinAccount(ctx context.Context, m team.Member, ident team.Identity, newIdentity bool, verify *Token, ev audit.Event) error {
	// The default role may be a custom role: guarded like any member
	// write that gives one (ErrRoleGone once it was deleted).
	return s.commitGuarded(ctx, m, false, func() *Tx {
		tx := NewTx(ev)
		tx.Check(accountKey(m.AccountID), ItemPresent(), team.ErrAccountNotFound)
		tx.addMember(m)
		if newIdentity {
			tx.Put(marshal(pointerItem{PK: key(prefixEmail, ident.Email), SK: prefixEmail, Type: typeEmail, Target: ident.ID}), ItemAbsent(), team.ErrEmailTaken)
			tx.Put(marshal(toIdentityItem(ident)), ItemAbsent(), nil)
		} else {
			tx.Check(identityKey(ident.ID), ItemPresent(), team.ErrIdentityNotFound)
		}
		if verify != nil {
			tx.IssueToken(*verify)
		}
		return tx
	})
}

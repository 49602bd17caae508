package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/team"
)

// Mail caps: counters of the emails the public routes send, per
// recipient and per source address: rate counters (RateCharge) under their
// own keys.
//
//	rate  pk RATE#mail:{kind}:to:{email}  sk WINDOW  count  windowEnd  ttl
//	rate  pk RATE#mail:from:{address}     sk WINDOW  count  windowEnd  ttl

// MailCapRecipientKey is the counter of the emails of kind sent to email.
func MailCapRecipientKey(kind, email string) string { return "mail:" + kind + ":to:" + email }

// MailCapAddressKey is the counter of the emails that requests from a
// source address caused, whatever their kind.
func MailCapAddressKey(address string) string { return "mail:from:" + address }

// MailCapTake counts one email against the counter k, in a window of size
// that starts at the counter's first email, when the counter is still
// below limit: one conditional write that increments and checks
// (RateCharge), so concurrent requests cannot exceed the limit. It answers
// false (and counts nothing) when the limit is reached, with the end of
// the window.
func (s *Store) MailCapTake(ctx context.Context, k string, limit int, now time.Time, size time.Duration) (ok bool, windowEnd time.Time, err error) {
	c, ok, err := s.RateCharge(ctx, k, limit, now, size)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("mail cap: %w", err)
	}
	return ok, c.End, nil
}

// CurrentToken reads the current token of a kind for a subject (the one
// IssueToken made current last), or ErrTokenInvalid when there is none.
func (s *Store) CurrentToken(ctx context.Context, kind, subject string) (Token, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: currentTokenKey(kind, subject), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Token{}, fmt.Errorf("current token: %w", err)
	}
	var cur struct {
		Hash string `dynamodbav:"hash"`
	}
	if out.Item == nil {
		return Token{}, ErrTokenInvalid
	}
	if err := attributevalue.UnmarshalMap(out.Item, &cur); err != nil || cur.Hash == "" {
		return Token{}, ErrTokenInvalid
	}
	return s.GetToken(ctx, cur.Hash)
}

// IssuePendingToken makes t the current token of its kind for its subject
// (a pending sign-up or self-registration, which creates nothing until its
// link is confirmed), with its event.
func (s *Store) IssuePendingToken(ctx context.Context, t Token, ev audit.Event) error {
	return s.Commit(ctx, NewTx(ev).IssueToken(t))
}

// Registration kinds of tokens: a pending sign-up (a new account) and a
// pending self-registration (joining an account). Their links create
// what they stand for once confirmed with the password (see pkg/auth).
const (
	TokenSignup = "signup"
	TokenJoin   = "join"
)

// ConfirmRegistration commits what a confirmed registration link creates:
// the account and its owner (na.Account set: a sign-up) or the member
// (joining an account), the identity when new, in one transaction with
// the use of the token and the event. An email that got an identity
// meanwhile fails with team.ErrEmailTaken, a member already in the
// account with team.ErrAlreadyMember, a used or replaced token with
// ErrTokenInvalid, a first-registrant claim (na.ClaimFirst) that someone
// else won with ErrFirstRegistrantTaken.
func (s *Store) ConfirmRegistration(ctx context.Context, tokenHash, kind, subject string, now time.Time, na NewAccount, ev audit.Event) error {
	identity := func(tx *Tx) {
		if na.NewIdentity {
			tx.Put(marshal(pointerItem{PK: key(prefixEmail, na.Identity.Email), SK: prefixEmail, Type: typeEmail, Target: na.Identity.ID}), ItemAbsent(), team.ErrEmailTaken)
			tx.Put(marshal(toIdentityItem(na.Identity)), ItemAbsent(), nil)
		} else {
			tx.Check(identityKey(na.Identity.ID), ItemPresent(), team.ErrIdentityNotFound)
		}
	}
	if na.Account.ID != "" {
		s.retention.remember(na.Account, s.now())
		tx := NewTx(ev).ConsumeToken(tokenHash, kind, subject, now)
		tx.putAccount(na.Account)
		tx.addMember(na.Owner)
		identity(tx)
		return s.Commit(ctx, tx)
	}
	// A member of an existing account: its default role may be a custom
	// role, guarded like any member write that gives one.
	return s.commitGuarded(ctx, na.Owner, false, func() *Tx {
		tx := NewTx(ev).ConsumeToken(tokenHash, kind, subject, now)
		tx.Check(accountKey(na.Owner.AccountID), ItemPresent(), team.ErrAccountNotFound)
		tx.addMember(na.Owner)
		identity(tx)
		if na.ClaimFirst {
			tx.claimFirstRegistrant(na.Owner.AccountID, na.Owner.ID)
		}
		return tx
	})
}

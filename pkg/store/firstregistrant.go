package store

import (
	"context"
	"errors"
)

// The first self-registrant of an account: one marker item per account,
// written (only if absent) in the transaction that makes the first member
// who completes self-registration (ConfirmRegistration with
// NewAccount.ClaimFirst), so that exactly one person is ever the first,
// however many confirm at once.
//
//	first registrant  pk ACCOUNT#{a}  sk FIRSTREGISTRANT  -> member id
//
// Accounts whose people registered themselves before the marker existed
// have none: their next self-registrant is recorded as the first.
const (
	skFirstRegistrant   = "FIRSTREGISTRANT"
	typeFirstRegistrant = "first_registrant"
)

// ErrFirstRegistrantTaken is a ConfirmRegistration claiming the first
// registrant's place (NewAccount.ClaimFirst) when someone else already
// holds it: nothing was written.
var ErrFirstRegistrantTaken = errors.New("store: the account already has its first self-registrant")

// FirstRegistrant answers the member id of the account's first
// self-registrant, "" when nobody has completed self-registration yet
// (one small strongly consistent read).
func (s *Store) FirstRegistrant(ctx context.Context, account string) (string, error) {
	var it pointerItem
	err := s.getItem(ctx, itemKey(accountPK(account), skFirstRegistrant), &it, errNoFirstRegistrant)
	if errors.Is(err, errNoFirstRegistrant) {
		return "", nil
	}
	return it.Target, err
}

var errNoFirstRegistrant = errors.New("store: no first registrant")

// claimFirstRegistrant adds the marker naming member m to tx, on the
// condition that the account has none yet.
func (tx *Tx) claimFirstRegistrant(account, member string) {
	tx.Put(marshal(pointerItem{PK: accountPK(account), SK: skFirstRegistrant, Type: typeFirstRegistrant, Target: member}), ItemAbsent(), ErrFirstRegistrantTaken)
}

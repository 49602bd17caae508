package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrInProgress means another attempt claimed the key and has neither
// finished nor released it: it may be sending right now, or it may have
// died mid-send. Outbox.Send sends nothing; retry later (a Deduper whose
// claims expire lets a later retry send).
var ErrInProgress = errors.New("mail: an earlier send with this key has not finished")

// Deduper records which emails were sent, by idempotency key, so that a
// retried Lambda or workflow step sends no second email.
//
// The protocol, as Outbox runs it:
//
//  1. Claim(key) before sending. It atomically records the key as claimed
//     if no record exists, and returns first=true. If a record exists it
//     changes nothing and returns first=false with the message id recorded
//     by Done ("" if the claim has not been completed).
//  2. After the mail service accepts the email, Done(key, messageID)
//     completes the claim; the key is never claimed again (an
//     implementation may forget keys after a retention period, e.g. a
//     DynamoDB TTL well beyond the longest retry window).
//  3. If sending fails, Release(key) deletes the claim, so that a retry
//     sends. Outbox releases only a claim it just made; an implementation
//     should still leave a completed claim alone.
//
// Claim must be atomic across processes (one conditional write): of two
// concurrent claims of one key exactly one is first. A claim that is never
// completed or released (the process died between Claim and Done) blocks
// the key; an implementation may let such a claim expire after a lease
// (longer than a send can take) so that the email is eventually sent,
// accepting a duplicate if the process died after SES accepted the email
// but before Done.
//
// Keys name the email's purpose and recipient ("invite/{id}/{n}",
// "approval/{request}/{level}/{member}"); they must hold no token or other
// secret.
type Deduper interface {
	// Claim records key as claimed; first reports whether this call did.
	// When first is false, messageID is the id Done recorded, or "" if
	// the earlier claim is still open.
	Claim(ctx context.Context, key string) (first bool, messageID string, err error)
	// Done completes the claim of key with the id of the sent email.
	Done(ctx context.Context, key, messageID string) error
	// Release deletes an open claim of key so that a retry may send.
	Release(ctx context.Context, key string) error
}

// bookkeepingTimeout bounds Done and Release, which run even when the
// caller's context is cancelled (e.g. a Lambda deadline) so that the claim
// is not left open.
const bookkeepingTimeout = 5 * time.Second

// Outbox sends each email at most once per idempotency key.
type Outbox struct {
	// Sender sends the email (SES).
	Sender Sender
	// Deduper records the keys (DynamoDB in Steward).
	Deduper Deduper
	// Logger receives a warning when an email was sent but its key could
	// not be recorded; nil means slog.Default(). Only the key, message id
	// and error are logged, never the message.
	Logger *slog.Logger
}

// Send sends m unless an email with key was already sent.
//
//   - First time: it claims key, sends, records the message id and
//     returns (id, true, nil).
//   - Already sent: it sends nothing and returns the earlier id and
//     sent=false.
//   - Claimed by an attempt that has not finished: it sends nothing and
//     returns an error wrapping ErrInProgress.
//   - Send fails (including ErrInvalid): it releases the claim, so a retry
//     sends, and returns the error. (A request that timed out after SES
//     accepted the email looks like a failure too; its retry sends a
//     second copy. This is the one duplicate the design allows.)
//   - Sent, but Done fails: the email went out, so it returns (id, true,
//     nil) and logs a warning; the claim stays open, and a later retry
//     gets ErrInProgress rather than sending a second email.
func (o Outbox) Send(ctx context.Context, key string, m Message) (messageID string, sent bool, err error) {
	if key == "" {
		return "", false, errors.New("mail: outbox: empty idempotency key")
	}
	first, earlier, err := o.Deduper.Claim(ctx, key)
	if err != nil {
		return "", false, fmt.Errorf("mail: outbox: claim %s: %w", key, err)
	}
	if !first {
		if earlier == "" {
			return "", false, fmt.Errorf("%w (key %s)", ErrInProgress, key)
		}
		return earlier, false, nil
	}
	id, sendErr := o.Sender.Send(ctx, m)
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if sendErr != nil {
		if err := o.Deduper.Release(bctx, key); err != nil {
			return "", false, errors.Join(sendErr, fmt.Errorf("mail: outbox: release %s: %w", key, err))
		}
		return "", false, sendErr
	}
	if err := o.Deduper.Done(bctx, key, id); err != nil {
		o.logger().WarnContext(ctx, "mail: email sent but its idempotency key was not recorded",
			slog.String("key", key), slog.String("messageId", id), slog.Any("error", err))
	}
	return id, true, nil
}

func (o Outbox) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

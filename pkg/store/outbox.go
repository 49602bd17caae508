package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Outbox records make email sending idempotent: a sender claims a key
// before sending, so that a retried Lambda or workflow step sends no second
// email. It implements mail.Deduper.
type Outbox struct {
	s *Store
	// Keep is how long a claim is remembered (default 7 days).
	Keep time.Duration
}

// Outbox returns the store's outbox.
func (s *Store) Outbox() *Outbox { return &Outbox{s: s, Keep: 7 * 24 * time.Hour} }

// Claim records key; first is false when it was claimed before, and then
// messageID is what Done recorded ("" while that claim is still open).
func (o *Outbox) Claim(ctx context.Context, k string) (first bool, messageID string, err error) {
	now := o.s.now()
	item := outboxKey(k)
	item[AttrType] = str(typeOutbox)
	item["claimedAt"] = num(now.Unix())
	item[AttrTTL] = num(now.Add(o.Keep).Unix())
	// A claim left open longer than its lease (the sender died between
	// claiming and sending) may be taken over.
	err = o.s.put(ctx, "claim outbox", item, &Cond{
		Expr:   "attribute_not_exists(#pk) OR (attribute_not_exists(#mid) AND #at < :stale)",
		Names:  map[string]string{"#pk": AttrPK, "#mid": "messageId", "#at": "claimedAt"},
		Values: map[string]types.AttributeValue{":stale": num(now.Add(-OutboxLease).Unix())},
	}, nil)
	var ce *ConditionError
	switch {
	case err == nil:
		return true, "", nil
	case errors.As(err, &ce):
		if mid, ok := ce.Item["messageId"].(*types.AttributeValueMemberS); ok {
			messageID = mid.Value
		}
		return false, messageID, nil
	}
	return false, "", err
}

// Done records the message id sent for key.
func (o *Outbox) Done(ctx context.Context, k, messageID string) error {
	_, err := o.s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(o.s.table), Key: outboxKey(k),
		UpdateExpression:          aws.String("SET #mid = :mid"),
		ExpressionAttributeNames:  map[string]string{"#mid": "messageId"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":mid": str(messageID)},
	})
	if err != nil {
		return fmt.Errorf("outbox done: %w", err)
	}
	return nil
}

// Release forgets an open claim whose send failed, so that a retry sends.
// A completed claim stays.
func (o *Outbox) Release(ctx context.Context, k string) error {
	_, err := o.s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(o.s.table), Key: outboxKey(k),
		ConditionExpression:      aws.String("attribute_not_exists(#mid)"),
		ExpressionAttributeNames: map[string]string{"#mid": "messageId"},
	})
	if err := mapWriteError("outbox release", err, nil); err != nil && !IsConditionFailed(err) {
		return err
	}
	return nil
}

// OutboxLease is how long an open claim blocks others before it may be
// taken over.
const OutboxLease = 2 * time.Minute

package store

import (
	"context"
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

// Claim records key; first is false when it was claimed before.
func (o *Outbox) Claim(ctx context.Context, k string) (bool, error) {
	item := outboxKey(k)
	item[AttrType] = str(typeOutbox)
	item[AttrTTL] = num(o.s.now().Add(o.Keep).Unix())
	err := o.s.put(ctx, "claim outbox", item, ItemAbsent(), nil)
	switch {
	case err == nil:
		return true, nil
	case IsConditionFailed(err):
		return false, nil
	}
	return false, err
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

// Release forgets a claim whose send failed, so that a retry sends.
func (o *Outbox) Release(ctx context.Context, k string) error {
	_, err := o.s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(o.s.table), Key: outboxKey(k)})
	if err != nil {
		return fmt.Errorf("outbox release: %w", err)
	}
	return nil
}

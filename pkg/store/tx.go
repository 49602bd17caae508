package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/fault"
)

// Cond is a condition expression with its placeholders.
type Cond struct {
	Expr   string
	Names  map[string]string
	Values map[string]types.AttributeValue
}

// ItemAbsent is the condition that no item with the key exists yet.
func ItemAbsent() *Cond {
	return &Cond{Expr: "attribute_not_exists(#pk)", Names: map[string]string{"#pk": AttrPK}}
}

// ItemPresent is the condition that the item exists.
func ItemPresent() *Cond {
	return &Cond{Expr: "attribute_exists(#pk)", Names: map[string]string{"#pk": AttrPK}}
}

// VersionIs is the condition that the item exists at version v
// (optimistic concurrency).
func VersionIs(v int64) *Cond {
	return &Cond{
		Expr:   "#ver = :ver",
		Names:  map[string]string{"#ver": AttrVersion},
		Values: map[string]types.AttributeValue{":ver": &types.AttributeValueMemberN{Value: fmt.Sprint(v)}},
	}
}

func (c *Cond) parts() (*string, map[string]string, map[string]types.AttributeValue) {
	if c == nil {
		return nil, nil, nil
	}
	names := c.Names
	if len(names) == 0 {
		names = nil
	}
	values := c.Values
	if len(values) == 0 {
		values = nil
	}
	return aws.String(c.Expr), names, values
}

// MaxTxItems is DynamoDB's limit on items in one transaction, the audit
// event included.
const MaxTxItems = 100

// Tx is one change: item writes that succeed or fail together, plus the
// audit event the store appends on Commit. Each write may carry the
// domain error to return when its condition fails.
type Tx struct {
	items  []types.TransactWriteItem
	onFail []error
	event  audit.Event
	token  string
}

// NewTx starts a change described by ev.
func NewTx(ev audit.Event) *Tx { return &Tx{event: ev} }

// IdempotencyToken makes a retried Commit with the same token (within
// DynamoDB's ten minutes) succeed without writing twice.
func (tx *Tx) IdempotencyToken(token string) *Tx { tx.token = token; return tx }

// Put writes item, when cond (may be nil) holds.
func (tx *Tx) Put(item map[string]types.AttributeValue, cond *Cond, onFail error) *Tx {
	expr, names, values := cond.parts()
	tx.add(types.TransactWriteItem{Put: &types.Put{
		Item: item, ConditionExpression: expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, onFail)
	return tx
}

// Delete deletes the item at key, when cond (may be nil) holds.
func (tx *Tx) Delete(key map[string]types.AttributeValue, cond *Cond, onFail error) *Tx {
	expr, names, values := cond.parts()
	tx.add(types.TransactWriteItem{Delete: &types.Delete{
		Key: key, ConditionExpression: expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, onFail)
	return tx
}

// Check requires cond to hold on the item at key without writing it.
func (tx *Tx) Check(key map[string]types.AttributeValue, cond *Cond, onFail error) *Tx {
	expr, names, values := cond.parts()
	tx.add(types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		Key: key, ConditionExpression: expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, onFail)
	return tx
}

// Update applies the update expression u (its names and values merged
// with cond's) to the item at key, when cond (may be nil) holds.
func (tx *Tx) Update(key map[string]types.AttributeValue, u Cond, cond *Cond, onFail error) *Tx {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	for _, c := range []*Cond{&u, cond} {
		if c == nil {
			continue
		}
		for k, v := range c.Names {
			names[k] = v
		}
		for k, v := range c.Values {
			values[k] = v
		}
	}
	up := &types.Update{
		Key: key, UpdateExpression: aws.String(u.Expr),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if cond != nil {
		up.ConditionExpression = aws.String(cond.Expr)
	}
	if len(names) > 0 {
		up.ExpressionAttributeNames = names
	}
	if len(values) > 0 {
		up.ExpressionAttributeValues = values
	}
	tx.add(types.TransactWriteItem{Update: up}, onFail)
	return tx
}

func (tx *Tx) add(item types.TransactWriteItem, onFail error) {
	tx.items = append(tx.items, item)
	tx.onFail = append(tx.onFail, onFail)
}

// Commit runs the change and its audit event as one transaction. A failed
// condition returns a *ConditionError wrapping the domain error attached
// to the write that failed (errors.Is works on both).
func (s *Store) Commit(ctx context.Context, tx *Tx) error {
	if len(tx.items) == 0 {
		return fmt.Errorf("commit %s: no writes", tx.event.Action)
	}
	if check, onFail := s.actorCheck(tx.items); check != nil {
		// A copy: a caller may commit the same Tx again.
		tx = &Tx{items: append(tx.items[:len(tx.items):len(tx.items)], *check), onFail: append(tx.onFail[:len(tx.onFail):len(tx.onFail)], onFail), event: tx.event, token: tx.token}
	}
	if len(tx.items)+1 > MaxTxItems {
		return fmt.Errorf("commit %s: %d writes is over the transaction limit", tx.event.Action, len(tx.items))
	}
	ev := tx.event
	if ev.ID == "" {
		ev.ID = NewID("ev")
	}
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	auditItem, err := marshalAudit(ev, s.retentionOf(ctx, ev.AccountID).audit)
	if err != nil {
		return fmt.Errorf("commit %s: %w", ev.Action, err)
	}
	items := append(tx.items[:len(tx.items):len(tx.items)], types.TransactWriteItem{Put: &types.Put{
		Item: auditItem, ConditionExpression: aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	}})
	for i := range items {
		s.setTable(&items[i])
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	if tx.token != "" {
		in.ClientRequestToken = aws.String(tx.token)
	}
	for attempt := 0; ; attempt++ {
		_, err = s.db.TransactWriteItems(ctx, in)
		if !conflicted(err) || attempt == conflictRetries {
			break
		}
		// Another transaction held one of the items: transient, retry.
		select {
		case <-ctx.Done():
			return fmt.Errorf("commit %s: %w", ev.Action, ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	if conflicted(err) {
		// Still colliding after every retry: nothing was written; the
		// caller may try again (503 busy with Retry-After over HTTP).
		return fault.Busy(fmt.Errorf("commit %s: %w", ev.Action, err))
	}
	return mapWriteError("commit "+ev.Action, err, tx.onFail)
}

// conflictRetries is how often Commit retries a transaction cancelled only
// because another transaction was writing the same items.
const conflictRetries = 4

// conflicted reports whether err is a transaction cancelled for a
// conflict with another transaction, with no condition failed.
func conflicted(err error) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		var tc *types.TransactionConflictException
		return errors.As(err, &tc)
	}
	found := false
	for _, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed":
			return false
		case "TransactionConflict":
			found = true
		}
	}
	return found
}

func (s *Store) setTable(it *types.TransactWriteItem) {
	t := aws.String(s.table)
	switch {
	case it.Put != nil:
		it.Put.TableName = t
	case it.Update != nil:
		it.Update.TableName = t
	case it.Delete != nil:
		it.Delete.TableName = t
	case it.ConditionCheck != nil:
		it.ConditionCheck.TableName = t
	}
}

// put is a plain conditional write of one item, for data that carries no
// audit event (counters, sessions, idempotency records).
func (s *Store) put(ctx context.Context, op string, item map[string]types.AttributeValue, cond *Cond, onFail error) error {
	expr, names, values := cond.parts()
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item, ConditionExpression: expr,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	return mapWriteError(op, err, []error{onFail})
}

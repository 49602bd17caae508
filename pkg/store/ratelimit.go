package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Rate counters (sign-in attempts, mail caps): one item per key, whose window starts at the charge
// that finds no live window and lasts its size from there, so that a run
// of attempts meets the same window whenever it starts, and a limit
// cannot be doubled across a window boundary.
//
//	rate  pk RATE#{key}  sk WINDOW  count  windowEnd (unix ms)  ttl
//
// RateCount is a rolling counter's value and the end of its window.
type RateCount struct {
	Count int
	End   time.Time
}

// RateCharge adds one to key's rolling counter unless it has reached
// limit already (limit <= 0: no limit), in one conditional write, so that
// concurrent chargers can never pass the limit together. A counter whose
// window has ended starts a new window of size at now, at 1. It answers
// the counter after the charge and true; or the counter and false when the
// limit was reached (nothing is written then: retry at End).
func (s *Store) RateCharge(ctx context.Context, k string, limit int, now time.Time, size time.Duration) (RateCount, bool, error) {
	names := map[string]string{"#count": "count", "#end": "windowEnd"}
	cond := "#end > :now"
	values := map[string]types.AttributeValue{":one": num(1), ":now": num(now.UnixMilli())}
	if limit > 0 {
		cond += " AND #count < :limit"
		values[":limit"] = num(int64(limit))
	}
	for range 4 {
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: rateWindowKey(k),
			UpdateExpression:                    aws.String("ADD #count :one"),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValues:                        types.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return rateCountOf(out.Attributes), true, nil
		}
		ce := conditionFailed(err, nil)
		if ce == nil {
			return RateCount{}, false, fmt.Errorf("rate charge: %w", err)
		}
		if old := rateCountOf(ce.Item); ce.Item != nil && old.End.After(now) {
			return old, false, nil // the live window is at its limit
		}
		// No live window: start one at 1, unless another charge just did.
		end := now.Add(size)
		it := rateWindowKey(k)
		it["count"], it["windowEnd"] = num(1), num(end.UnixMilli())
		it[AttrTTL], it[AttrType] = num(end.Add(time.Hour).Unix()), str(typeRate)
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table), Item: it,
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #end <= :now"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#end": "windowEnd"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli())},
		})
		if err == nil {
			return RateCount{Count: 1, End: time.UnixMilli(end.UnixMilli())}, true, nil
		}
		if conditionFailed(err, nil) == nil {
			return RateCount{}, false, fmt.Errorf("rate charge: %w", err)
		}
	}
	return RateCount{}, false, fmt.Errorf("rate charge %s: contended", k)
}

// RateGiveBack takes one off key's rolling counter, undoing a RateCharge
// whose attempt does not count (it succeeded, or was refused before it was
// made), provided the counter is still in the window that charge met
// (end) and above zero.
func (s *Store) RateGiveBack(ctx context.Context, k string, end time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: rateWindowKey(k),
		UpdateExpression:          aws.String("ADD #count :minus"),
		ConditionExpression:       aws.String("#count > :zero AND #end = :end"),
		ExpressionAttributeNames:  map[string]string{"#count": "count", "#end": "windowEnd"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1), ":zero": num(0), ":end": num(end.UnixMilli())},
	})
	if err != nil && conditionFailed(err, nil) == nil {
		return fmt.Errorf("rate give back: %w", err)
	}
	return nil
}

// RateReset removes key's rolling counter if it is still in the window
// that ends at end (a correct password clears its pair's failures).
func (s *Store) RateReset(ctx context.Context, k string, end time.Time) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: rateWindowKey(k),
		ConditionExpression:       aws.String("#end = :end"),
		ExpressionAttributeNames:  map[string]string{"#end": "windowEnd"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":end": num(end.UnixMilli())},
	})
	if err != nil && conditionFailed(err, nil) == nil {
		return fmt.Errorf("rate reset: %w", err)
	}
	return nil
}

func rateCountOf(item map[string]types.AttributeValue) RateCount {
	c := RateCount{Count: countOf(item)}
	if n, _ := item["windowEnd"].(*types.AttributeValueMemberN); n != nil {
		ms, _ := strconv.ParseInt(n.Value, 10, 64)
		c.End = time.UnixMilli(ms)
	}
	return c
}

func countOf(item map[string]types.AttributeValue) int {
	n, _ := item["count"].(*types.AttributeValueMemberN)
	if n == nil {
		return 0
	}
	c, _ := strconv.Atoi(n.Value)
	return c
}

// Remember marks key as known until until (a sign-in's (email, address)
// pair that succeeded, see pkg/auth): one unconditional PutItem, whose item
// expires then.
//
//	known  pk RATE#{key}  sk KNOWN  until (unix ms)  ttl
func (s *Store) Remember(ctx context.Context, k string, until time.Time) error {
	it := itemKey(key(prefixRate, k), "KNOWN")
	it["until"], it[AttrTTL], it[AttrType] = num(until.UnixMilli()), num(until.Unix()), str(typeRate)
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("remember: %w", err)
	}
	return nil
}

// Remembered reports whether key is known at now (Remember, not expired;
// DynamoDB deletes expired items late, so the time is compared here).
func (s *Store) Remembered(ctx context.Context, k string, now time.Time) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: itemKey(key(prefixRate, k), "KNOWN"),
	})
	if err != nil {
		return false, fmt.Errorf("remembered: %w", err)
	}
	n, _ := out.Item["until"].(*types.AttributeValueMemberN)
	if n == nil {
		return false, nil
	}
	ms, _ := strconv.ParseInt(n.Value, 10, 64)
	return time.UnixMilli(ms).After(now), nil
}

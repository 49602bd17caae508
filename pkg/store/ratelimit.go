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

// RateWindow is a fixed counting window.
func RateWindow(now time.Time, size time.Duration) (start, end time.Time) {
	start = now.Truncate(size)
	return start, start.Add(size)
}

// RateCounts reads the current window's counters of several keys in one
// round trip; a missing counter is 0.
func (s *Store) RateCounts(ctx context.Context, keys []string, now time.Time, size time.Duration) (map[string]int, error) {
	start, _ := RateWindow(now, size)
	var ks []map[string]types.AttributeValue
	for _, k := range keys {
		ks = append(ks, rateKey(k, start))
	}
	items, err := s.batchGet(ctx, ks)
	if err != nil {
		return nil, fmt.Errorf("rate counts: %w", err)
	}
	out := make(map[string]int, len(keys))
	for _, it := range items {
		pk := it[AttrPK].(*types.AttributeValueMemberS).Value
		n, _ := it["count"].(*types.AttributeValueMemberN)
		if n != nil {
			c, _ := strconv.Atoi(n.Value)
			out[pk[len(prefixRate)+len(sep):]] = c
		}
	}
	return out, nil
}

// RateHit adds one to each key's counter in the current window; counters
// expire (TTL) after their window.
func (s *Store) RateHit(ctx context.Context, keys []string, now time.Time, size time.Duration) error {
	start, end := RateWindow(now, size)
	for _, k := range keys {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: rateKey(k, start),
			UpdateExpression:          aws.String("ADD #count :one SET #ttl = :ttl, #type = :type"),
			ExpressionAttributeNames:  map[string]string{"#count": "count", "#ttl": AttrTTL, "#type": AttrType},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":ttl": num(end.Add(time.Hour).Unix()), ":type": str(typeRate)},
		})
		if err != nil {
			return fmt.Errorf("rate hit: %w", err)
		}
	}
	return nil
}

// RateClear removes a key's counter in the current window (a successful
// sign-in clears its identity's failures).
func (s *Store) RateClear(ctx context.Context, k string, now time.Time, size time.Duration) error {
	start, _ := RateWindow(now, size)
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: rateKey(k, start)})
	if err != nil {
		return fmt.Errorf("rate clear: %w", err)
	}
	return nil
}

// RateTake adds one to key's counter in the current window unless the
// counter has reached limit already, in one conditional write, so that
// concurrent takers can never pass the limit together. It answers the new
// count and true; or the counter's value and false when the limit was
// reached (nothing is written then).
func (s *Store) RateTake(ctx context.Context, k string, limit int, now time.Time, size time.Duration) (int, bool, error) {
	start, end := RateWindow(now, size)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: rateKey(k, start),
		UpdateExpression:                    aws.String("ADD #count :one SET #ttl = :ttl, #type = :type"),
		ConditionExpression:                 aws.String("attribute_not_exists(#count) OR #count < :limit"),
		ExpressionAttributeNames:            map[string]string{"#count": "count", "#ttl": AttrTTL, "#type": AttrType},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":one": num(1), ":limit": num(int64(limit)), ":ttl": num(end.Add(time.Hour).Unix()), ":type": str(typeRate)},
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return countOf(out.Attributes), true, nil
	}
	if ce := conditionFailed(err, nil); ce != nil {
		return countOf(ce.Item), false, nil
	}
	return 0, false, fmt.Errorf("rate take: %w", err)
}

// RateAdd adds one to key's counter in the current window and answers the
// new count.
func (s *Store) RateAdd(ctx context.Context, k string, now time.Time, size time.Duration) (int, error) {
	start, end := RateWindow(now, size)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: rateKey(k, start),
		UpdateExpression:          aws.String("ADD #count :one SET #ttl = :ttl, #type = :type"),
		ExpressionAttributeNames:  map[string]string{"#count": "count", "#ttl": AttrTTL, "#type": AttrType},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":ttl": num(end.Add(time.Hour).Unix()), ":type": str(typeRate)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("rate add: %w", err)
	}
	return countOf(out.Attributes), nil
}

// RateGiveBack takes one off key's counter in the window of now, undoing
// a RateTake or RateAdd whose attempt did not count (it succeeded, or was
// refused before it was made). A counter that is gone or at zero is left
// alone. Pass the now the counter was taken at, so the same window's
// counter is given back.
func (s *Store) RateGiveBack(ctx context.Context, k string, now time.Time, size time.Duration) error {
	start, _ := RateWindow(now, size)
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: rateKey(k, start),
		UpdateExpression:          aws.String("ADD #count :minus"),
		ConditionExpression:       aws.String("#count > :zero"),
		ExpressionAttributeNames:  map[string]string{"#count": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1), ":zero": num(0)},
	})
	if err != nil && conditionFailed(err, nil) == nil {
		return fmt.Errorf("rate give back: %w", err)
	}
	return nil
}

func countOf(item map[string]types.AttributeValue) int {
	n, _ := item["count"].(*types.AttributeValueMemberN)
	if n == nil {
		return 0
	}
	c, _ := strconv.Atoi(n.Value)
	return c
}

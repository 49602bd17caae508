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

// AddTraffic adds n requests to an account's traffic counter of the fixed
// window starting at start and answers the counter's total, in one
// unconditional UpdateItem (pkg/throttle batches an instance's requests
// into one call a second). The item expires an hour after its window.
func (s *Store) AddTraffic(ctx context.Context, account string, start time.Time, window time.Duration, n int) (int, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      trafficKey(account, start),
		UpdateExpression:         aws.String("ADD #count :n SET #ttl = if_not_exists(#ttl, :ttl), #type = if_not_exists(#type, :type)"),
		ExpressionAttributeNames: map[string]string{"#count": "count", "#ttl": AttrTTL, "#type": AttrType},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": num(int64(n)), ":ttl": num(start.Add(window + time.Hour).Unix()), ":type": str(typeRate),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("add traffic: %w", err)
	}
	c, _ := out.Attributes["count"].(*types.AttributeValueMemberN)
	if c == nil {
		return 0, fmt.Errorf("add traffic: no count returned")
	}
	total, err := strconv.Atoi(c.Value)
	if err != nil {
		return 0, fmt.Errorf("add traffic: %w", err)
	}
	return total, nil
}

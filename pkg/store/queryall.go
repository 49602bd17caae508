package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// queryPrefix reads every item of account's partition whose sort key
// starts with prefix, oldest key first: one strongly consistent Query,
// paged to its end. what names the read in errors. For small sets only
// (a request's decisions, a member's entries): it holds them all.
func queryPrefix[T any](ctx context.Context, s *Store, account, prefix, what string) ([]T, error) {
	var out []T
	var start map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":prefix": str(prefix)},
			ConsistentRead:            aws.Bool(true), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		var page []T
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &page); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, page...)
		if start = res.LastEvaluatedKey; len(start) == 0 {
			return out, nil
		}
	}
}

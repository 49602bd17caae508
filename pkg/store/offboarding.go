package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/documents"
)

// ApprovalsLeftWithout answers the pending approval requests whose
// current level a member leaving the account would leave without enough
// possible approvals: the member is awaited there and the other awaited
// members are fewer than the approvals the level still needs. It reads
// the member's awaiting entries (one strongly consistent Query, paged)
// and those requests (BatchGetItem); an entry left behind by a race is
// ignored, like "waiting for me" ignores it.
func (s *Store) ApprovalsLeftWithout(ctx context.Context, account, member string) ([]string, error) {
	var entries []awaitingItem
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(accountPK(account)), ":prefix": str(awaitingPrefix(member)),
			},
			ExclusiveStartKey: start, ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, fmt.Errorf("read awaited requests: %w", err)
		}
		var page []awaitingItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			return nil, fmt.Errorf("read awaited requests: %w", err)
		}
		entries = append(entries, page...)
		if start = out.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, approvalKey(account, e.RequestID))
	}
	raw, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read awaited requests: %w", err)
	}
	var left []string
	for _, r := range raw {
		var it requestItem
		if err := attributevalue.UnmarshalMap(r, &it); err != nil {
			return nil, fmt.Errorf("read awaited requests: %w", err)
		}
		if it.Status != string(documents.RequestPending) || !slices.Contains(it.Awaiting, member) {
			continue
		}
		req := it.request()
		if req.Level < 1 || req.Level > len(req.Levels) {
			continue
		}
		needed := req.Levels[req.Level-1].Required - req.Approvals
		if len(it.Awaiting)-1 < needed {
			left = append(left, it.ID)
		}
	}
	slices.Sort(left)
	return left, nil
}

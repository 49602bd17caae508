package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/documents"
)

// Duty is a pending approval request that awaits a member at its current
// level: the other members awaited there and how many approvals the level
// still needs.
type Duty struct {
	RequestID string
	Others    []string
	Needed    int
}

// Duties answers the pending approval requests that await a member at
// their current level, oldest first. It reads
// the member's awaiting entries (one strongly consistent Query, paged)
// and those requests (BatchGetItem); an entry left behind by a race is
// ignored, like "waiting for me" ignores it.
func (s *Store) Duties(ctx context.Context, account, member string) ([]Duty, error) {
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
	var duties []Duty
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
		others := slices.DeleteFunc(slices.Clone(it.Awaiting), func(m string) bool { return m == member })
		slices.Sort(others)
		duties = append(duties, Duty{RequestID: it.ID, Others: others, Needed: req.Levels[req.Level-1].Required - req.Approvals})
	}
	slices.SortFunc(duties, func(a, b Duty) int { return strings.Compare(a.RequestID, b.RequestID) })
	return duties, nil
}

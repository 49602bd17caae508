package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/rbac"
)

// ActiveMembers reports which of ids are active members of the account
// now: one BatchGetItem per 100 ids of their live member items, their
// status only (a member deleted since has left the live range: not
// active). The read is eventually consistent (half the read units), for
// what need not be exact to the second, such as whom an approval email
// or reminder goes to; what grants anything reads its members strongly.
func (s *Store) ActiveMembers(ctx context.Context, account string, ids []string) (map[string]bool, error) {
	active := make(map[string]bool, len(ids))
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for chunk := range slices.Chunk(ids, maxBatchKeys) {
		keys := make([]map[string]types.AttributeValue, 0, len(chunk))
		for _, id := range chunk {
			keys = append(keys, memberKey(account, id))
		}
		items, err := s.batchGetKeys(ctx, types.KeysAndAttributes{
			Keys: keys, ConsistentRead: aws.Bool(false),
			ProjectionExpression:     aws.String("#id, #acct, #st"),
			ExpressionAttributeNames: map[string]string{"#id": "id", "#acct": "accountId", "#st": "status"},
		})
		if err != nil {
			return nil, fmt.Errorf("read members' status: %w", err)
		}
		for _, raw := range items {
			id, _ := raw["id"].(*types.AttributeValueMemberS)
			acct, _ := raw["accountId"].(*types.AttributeValueMemberS)
			st, _ := raw["status"].(*types.AttributeValueMemberS)
			if id != nil && acct != nil && st != nil && acct.Value == account && st.Value == string(rbac.StatusActive) {
				active[id.Value] = true
			}
		}
	}
	return active, nil
}

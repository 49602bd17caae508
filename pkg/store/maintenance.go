package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Maintenance: what pkg/maintenance finds and records.
//
//	role deletion  gsi1pk ROLEDELETING  gsi1sk {marked at}#{a}#{role}   (sparse: on a role item while it is marked deleting)
//	run marker     pk MAINT#{name}  sk MAINT   done, cursor, updatedAt
//
// A role marked for deletion (MarkRoleDeleting) carries the ROLEDELETING
// index keys until the last chunk deletes the role item, so the deletions
// left half-done are one query of one index partition (a handful of items
// at most), never a scan. A run marker records a once-per-deployment step:
// its cursor (the last account done) while under way, done when finished.
const (
	roleDeletionsPK = "ROLEDELETING"
	prefixMaint     = "MAINT"
	typeMaint       = "maintenance"
)

func maintKey(name string) map[string]types.AttributeValue {
	return itemKey(key(prefixMaint, name), prefixMaint)
}

// RoleDeletionRef names a role whose deletion is under way.
type RoleDeletionRef struct {
	AccountID string
	RoleID    string
	MarkedAt  time.Time
}

// RoleDeletionsBefore lists the roles marked for deletion before t (oldest
// first, at most limit), from the sparse ROLEDELETING index: those whose
// holders are still being moved. The index is eventually consistent: a
// deletion finished a moment ago may still be listed (resuming it finds
// the role gone or no longer marked).
func (s *Store) RoleDeletionsBefore(ctx context.Context, t time.Time, limit int) ([]RoleDeletionRef, error) {
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexGSI1),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk < :before"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK, "#sk": AttrGSI1SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(roleDeletionsPK), ":before": str(timeKey(t))},
		ProjectionExpression:      aws.String("#sk"),
		Limit:                     aws.Int32(int32(max(1, limit))),
	})
	if err != nil {
		return nil, fmt.Errorf("role deletions: %w", err)
	}
	out := make([]RoleDeletionRef, 0, len(res.Items))
	for _, raw := range res.Items {
		sk, _ := raw[AttrGSI1SK].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		parts := strings.SplitN(sk.Value, sep, 3)
		if len(parts) != 3 {
			continue
		}
		at, _ := time.Parse("2006-01-02T15:04:05.000000000Z", parts[0])
		out = append(out, RoleDeletionRef{MarkedAt: at, AccountID: parts[1], RoleID: parts[2]})
	}
	return out, nil
}

// MaintenanceRun is the state of a once-per-deployment step.
type MaintenanceRun struct {
	Done bool
	// Cursor is the last account the step finished ("" before the first).
	Cursor    string
	UpdatedAt time.Time
}

type maintItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Type      string    `dynamodbav:"type"`
	Done      bool      `dynamodbav:"done"`
	Cursor    string    `dynamodbav:"cursor,omitempty"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

// GetMaintenanceRun reads the marker of step name (zero when it never ran).
func (s *Store) GetMaintenanceRun(ctx context.Context, name string) (MaintenanceRun, error) {
	var it maintItem
	err := s.getItem(ctx, maintKey(name), &it, ErrNotFound)
	if errors.Is(err, ErrNotFound) {
		return MaintenanceRun{}, nil
	}
	if err != nil {
		return MaintenanceRun{}, err
	}
	return MaintenanceRun{Done: it.Done, Cursor: it.Cursor, UpdatedAt: it.UpdatedAt}, nil
}

// PutMaintenanceRun records the marker of step name.
func (s *Store) PutMaintenanceRun(ctx context.Context, name string, r MaintenanceRun) error {
	k := maintKey(name)
	item, err := attributevalue.MarshalMap(maintItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: prefixMaint, Type: typeMaint,
		Done: r.Done, Cursor: r.Cursor, UpdatedAt: s.now().UTC(),
	})
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("maintenance marker: %w", err)
	}
	return nil
}

// ListAccountIDsAfter calls fn with the id of every account after the
// account id after (all when ""), in id order (ListAccounts' gsi1 entries).
func (s *Store) ListAccountIDsAfter(ctx context.Context, after string, fn func(id string) error) error {
	var start map[string]types.AttributeValue
	if after != "" {
		start = map[string]types.AttributeValue{
			AttrGSI1PK: str(accountsPK), AttrGSI1SK: str(after), AttrPK: str(accountPK(after)), AttrSK: str(skAccount),
		}
	}
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(IndexGSI1),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK, "#sk": AttrGSI1SK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountsPK)},
			ProjectionExpression:      aws.String("#sk"),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		for _, raw := range res.Items {
			if sk, ok := raw[AttrGSI1SK].(*types.AttributeValueMemberS); ok {
				if err := fn(sk.Value); err != nil {
					return err
				}
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return nil
		}
		start = res.LastEvaluatedKey
	}
}

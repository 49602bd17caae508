package store

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/rbac"
)

// Internals exposed to the external test package (store_test), which can
// import testenv without an import cycle.

// Put is the plain conditional write.
func (s *Store) Put(ctx context.Context, item map[string]types.AttributeValue, cond *Cond, onFail error) error {
	return s.put(ctx, "put test", item, cond, onFail)
}

// KeyOfTestItem is the primary key of a test item.
func KeyOfItemForTest(id string) map[string]types.AttributeValue {
	return itemKey(key("TEST", id), "TEST")
}

// ItemForTest is an item of no domain, at version 1.
func ItemForTest(id string) map[string]types.AttributeValue {
	it := KeyOfItemForTest(id)
	it[AttrVersion] = &types.AttributeValueMemberN{Value: "1"}
	return it
}

// Exists reports whether the test item id exists.
func (s *Store) Exists(t *testing.T, id string) bool {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: KeyOfItemForTest(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item != nil
}

// ItemKey is itemKey.
var ItemKey = itemKey

// BatchGetForTest reads the test items ids with batchGet.
func (s *Store) BatchGetForTest(ctx context.Context, ids []string) (int, error) {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = KeyOfItemForTest(id)
	}
	items, err := s.batchGet(ctx, keys)
	return len(items), err
}

// PutLegacyRolesForTest writes an account's custom roles as accounts
// written before one item per role keep them: all in the version item.
func (s *Store) PutLegacyRolesForTest(ctx context.Context, account string, roles []rbac.Role, version int64) error {
	items := make([]roleItem, 0, len(roles))
	for _, r := range roles {
		it := roleItem{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Permissions, AdminOnly: r.AdminOnly}
		for _, k := range r.ScopeKinds {
			it.ScopeKinds = append(it.ScopeKinds, string(k))
		}
		items = append(items, it)
	}
	return s.put(ctx, "put legacy roles", marshal(rolesItem{PK: accountPK(account), SK: skRoles, Type: typeRoles, Roles: items, Version: version}), nil, nil)
}

// RolesLegacyForTest reports whether the account's roles are still in
// their version item.
func (s *Store) RolesLegacyForTest(ctx context.Context, account string) (bool, error) {
	return s.rolesLegacy(ctx, account)
}

// AuditTTLsForTest returns the TTL attribute of each of account's audit
// events, oldest first (0 when absent).
func (s *Store) AuditTTLsForTest(t *testing.T, account string) []int64 {
	t.Helper()
	out, err := s.db.Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(auditPK(account))},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	ttls := make([]int64, len(out.Items))
	for i, it := range out.Items {
		ttls[i] = int64(numAttr(it, AttrTTL))
	}
	return ttls
}

// ForgetRetentionForTest empties the retention cache, as a fresh process.
func (s *Store) ForgetRetentionForTest() { s.retention = newRetentionCache() }

// RequestTTLForTest is the TTL attribute of an approval request (0 when
// absent).
func (s *Store) RequestTTLForTest(t *testing.T, account, id string) int64 {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: approvalKey(account, id), ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		t.Fatalf("request %s: %v", id, err)
	}
	return int64(numAttr(out.Item, AttrTTL))
}

// DocumentTTLForTest is the TTL attribute of a document (0 when absent).
func (s *Store) DocumentTTLForTest(t *testing.T, account string, typ rbac.DocType, id string) int64 {
	return s.ttlOfForTest(t, documentKey(account, typ, id))
}

// DecisionTTLForTest is the TTL attribute of a decision (0 when absent).
func (s *Store) DecisionTTLForTest(t *testing.T, account, request string, level int, approver string) int64 {
	return s.ttlOfForTest(t, decisionKey(account, request, level, approver))
}

// AwaitingTTLForTest is the TTL attribute of an awaiting entry (-1 when
// the entry does not exist).
func (s *Store) AwaitingTTLForTest(t *testing.T, account, member, request string) int64 {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: awaitingKey(account, member, request), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return -1
	}
	return int64(numAttr(out.Item, AttrTTL))
}

func (s *Store) ttlOfForTest(t *testing.T, k map[string]types.AttributeValue) int64 {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("item %v: %v", k, err)
	}
	return int64(numAttr(out.Item, AttrTTL))
}

// ForgetDecisionsForTest makes request's decisions look written before
// the request named them: no "decided" set, no decision TTL.
func (s *Store) ForgetDecisionsForTest(t *testing.T, account, request string, level int, approvers ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: approvalKey(account, request), UpdateExpression: aws.String("REMOVE decided"),
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range approvers {
		if _, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: decisionKey(account, request, level, a), UpdateExpression: aws.String("REMOVE #ttl"),
			ExpressionAttributeNames: map[string]string{"#ttl": AttrTTL},
		}); err != nil {
			t.Fatal(err)
		}
	}
}

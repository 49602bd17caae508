package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/team"
)

// Stores and departments: the scopes that role assignments name, as items
// in the account partition, listed in id order by one query.
//
//	store       pk ACCOUNT#{a}  sk STORE#{id}
//	department  pk ACCOUNT#{a}  sk DEPARTMENT#{id}
//
// Supplier scopes have no items: suppliers are not a managed list (the
// host app owns them), so every well-formed supplier scope exists.
const (
	typeStore        = "store"
	typeDepartment   = "department"
	prefixStore      = "STORE"
	prefixDepartment = "DEPARTMENT"
)

// Names the list cursors are sealed with.
const (
	listStores      = "stores"
	listDepartments = "departments"
)

func storeKey(a, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixStore, id))
}

func departmentKey(a, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixDepartment, id))
}

type storeItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Type      string    `dynamodbav:"type"`
	AccountID string    `dynamodbav:"accountId"`
	ID        string    `dynamodbav:"id"`
	Name      string    `dynamodbav:"name"`
	Address   string    `dynamodbav:"address,omitempty"`
	TimeZone  string    `dynamodbav:"timeZone,omitempty"`
	Version   int64     `dynamodbav:"version"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

func toStoreItem(account string, st team.Store) storeItem {
	return storeItem{
		PK: accountPK(account), SK: key(prefixStore, st.ID), Type: typeStore, AccountID: account,
		ID: st.ID, Name: st.Name, Address: st.Address, TimeZone: st.TimeZone,
		Version: st.Version, CreatedAt: st.CreatedAt.UTC(), UpdatedAt: st.UpdatedAt.UTC(),
	}
}

func (it storeItem) store() team.Store {
	return team.Store{
		ID: it.ID, Name: it.Name, Address: it.Address, TimeZone: it.TimeZone,
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
}

type departmentItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Type      string    `dynamodbav:"type"`
	AccountID string    `dynamodbav:"accountId"`
	ID        string    `dynamodbav:"id"`
	Name      string    `dynamodbav:"name"`
	Kind      string    `dynamodbav:"kind"`
	Version   int64     `dynamodbav:"version"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

func toDepartmentItem(account string, d team.Department) departmentItem {
	return departmentItem{
		PK: accountPK(account), SK: key(prefixDepartment, d.ID), Type: typeDepartment, AccountID: account,
		ID: d.ID, Name: d.Name, Kind: string(d.Kind),
		Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

func (it departmentItem) department() team.Department {
	return team.Department{
		ID: it.ID, Name: it.Name, Kind: team.DepartmentKind(it.Kind),
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
}

// putVersioned writes item (already at its next version) with its event:
// a create (read version 0) when no item has its key, a replacement when
// the stored item is still at the read version. A create that finds an
// item is team.ErrScopeExists; a replacement of a changed item is
// team.ErrStaleVersion, of a missing one notFound.
func (s *Store) putVersioned(ctx context.Context, item map[string]types.AttributeValue, read int64, notFound error, ev audit.Event) error {
	tx := NewTx(ev)
	if read == 0 {
		tx.Put(item, ItemAbsent(), team.ErrScopeExists)
		return s.Commit(ctx, tx)
	}
	tx.Put(item, VersionIs(read), team.ErrStaleVersion)
	err := s.Commit(ctx, tx)
	var ce *ConditionError
	if errors.As(err, &ce) && ce.Item == nil {
		// DynamoDB returns the old item of a failed condition: none means
		// there was no item to replace.
		return notFound
	}
	return err
}

// stamp sets the version and times of a write: the next version after the
// read one, the creation time on a create (kept from the read item on a
// replacement) and the update time.
func stamp(read int64, created *time.Time, now time.Time) int64 {
	if read == 0 || created.IsZero() {
		*created = now
	}
	return read + 1
}

// PutStore creates or replaces a store of the account with its audit
// event, in one transaction. st.Version is the version the caller read: 0
// creates (team.ErrScopeExists when the id is taken), n replaces the store
// while it is still at version n (team.ErrStaleVersion when it changed,
// team.ErrStoreNotFound when it is gone); st.CreatedAt is kept from the
// read store. It returns the store as written, at the next version.
func (s *Store) PutStore(ctx context.Context, account string, st team.Store, ev audit.Event) (team.Store, error) {
	now := s.now().UTC()
	read := st.Version
	st.Version = stamp(read, &st.CreatedAt, now)
	st.UpdatedAt = now
	if err := s.putVersioned(ctx, marshal(toStoreItem(account, st)), read, team.ErrStoreNotFound, ev); err != nil {
		return team.Store{}, err
	}
	return st, nil
}

// GetStore reads a store of the account (team.ErrStoreNotFound when there
// is none).
func (s *Store) GetStore(ctx context.Context, account, id string) (team.Store, error) {
	var it storeItem
	if err := s.getItem(ctx, storeKey(account, id), &it, team.ErrStoreNotFound); err != nil {
		return team.Store{}, err
	}
	return it.store(), nil
}

// ListStores lists the account's stores in id order, limit at a time (0
// means DefaultPageSize, at most MaxPageSize), from the cursor of the
// previous page (sealed for the account and this list: another is
// ErrBadCursor), in one strongly consistent query.
func (s *Store) ListStores(ctx context.Context, account string, limit int, cursor string) (Page[team.Store], error) {
	raw, next, err := s.listPrefix(ctx, account, listStores, prefixStore, limit, cursor)
	if err != nil {
		return Page[team.Store]{}, err
	}
	var items []storeItem
	if err := attributevalue.UnmarshalListOfMaps(raw, &items); err != nil {
		return Page[team.Store]{}, fmt.Errorf("list stores: %w", err)
	}
	page := Page[team.Store]{Items: make([]team.Store, 0, len(items)), Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.store())
	}
	return page, nil
}

// PutDepartment creates or replaces a department, like PutStore
// (team.ErrDepartmentNotFound when a replaced department is gone).
func (s *Store) PutDepartment(ctx context.Context, account string, d team.Department, ev audit.Event) (team.Department, error) {
	now := s.now().UTC()
	read := d.Version
	d.Version = stamp(read, &d.CreatedAt, now)
	d.UpdatedAt = now
	if err := s.putVersioned(ctx, marshal(toDepartmentItem(account, d)), read, team.ErrDepartmentNotFound, ev); err != nil {
		return team.Department{}, err
	}
	return d, nil
}

// GetDepartment reads a department of the account
// (team.ErrDepartmentNotFound when there is none).
func (s *Store) GetDepartment(ctx context.Context, account, id string) (team.Department, error) {
	var it departmentItem
	if err := s.getItem(ctx, departmentKey(account, id), &it, team.ErrDepartmentNotFound); err != nil {
		return team.Department{}, err
	}
	return it.department(), nil
}

// ListDepartments lists the account's departments in id order, like
// ListStores.
func (s *Store) ListDepartments(ctx context.Context, account string, limit int, cursor string) (Page[team.Department], error) {
	raw, next, err := s.listPrefix(ctx, account, listDepartments, prefixDepartment, limit, cursor)
	if err != nil {
		return Page[team.Department]{}, err
	}
	var items []departmentItem
	if err := attributevalue.UnmarshalListOfMaps(raw, &items); err != nil {
		return Page[team.Department]{}, fmt.Errorf("list departments: %w", err)
	}
	page := Page[team.Department]{Items: make([]team.Department, 0, len(items)), Next: next}
	for _, it := range items {
		page.Items = append(page.Items, it.department())
	}
	return page, nil
}

// listPrefix reads one page of the account partition's items whose sort
// key starts with prefix#, and seals the next cursor for list.
func (s *Store) listPrefix(ctx context.Context, account, list, prefix string, limit int, cursor string) ([]map[string]types.AttributeValue, string, error) {
	start, err := s.cursors.Open(account, list, cursor)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":prefix": str(prefix + sep)},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(pageSize(limit)),
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", list, err)
	}
	next, err := s.cursors.Seal(account, list, out.LastEvaluatedKey)
	if err != nil {
		return nil, "", err
	}
	return out.Items, next, nil
}

// MaxScopesChecked is the most distinct store and department scopes one
// ScopesExist call checks: one BatchGetItem reads at most 100 keys.
const MaxScopesChecked = 100

// ScopesExist returns the scopes of the list that do not exist in the
// account, in list order without repeats, reading every store and
// department named in one strongly consistent BatchGetItem (none when the
// list names none). The account scope always exists. Supplier scopes
// always exist too: suppliers are the host app's records, not a list
// Steward manages, so any well-formed supplier id is accepted. A malformed
// scope, or more than MaxScopesChecked distinct stores and departments,
// is an error.
func (s *Store) ScopesExist(ctx context.Context, account string, scopes []authz.Scope) ([]authz.Scope, error) {
	var keys []map[string]types.AttributeValue
	var checked []authz.Scope
	seen := map[authz.Scope]bool{}
	for _, sc := range scopes {
		if err := sc.Validate(); err != nil {
			return nil, err
		}
		if seen[sc] {
			continue
		}
		seen[sc] = true
		switch sc.Kind {
		case authz.ScopeStore:
			keys = append(keys, storeKey(account, sc.ID))
		case authz.ScopeDepartment:
			keys = append(keys, departmentKey(account, sc.ID))
		default:
			continue
		}
		checked = append(checked, sc)
	}
	if len(keys) > MaxScopesChecked {
		return nil, fmt.Errorf("scopes exist: %d stores and departments is over the limit of %d", len(keys), MaxScopesChecked)
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("scopes exist: %w", err)
	}
	found := make(map[string]bool, len(items))
	for _, raw := range items {
		if sk, ok := raw[AttrSK].(*types.AttributeValueMemberS); ok {
			found[sk.Value] = true
		}
	}
	var missing []authz.Scope
	for _, sc := range checked {
		prefix := prefixStore
		if sc.Kind == authz.ScopeDepartment {
			prefix = prefixDepartment
		}
		if !found[key(prefix, sc.ID)] {
			missing = append(missing, sc)
		}
	}
	return missing, nil
}

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
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Stores, departments and suppliers: the scopes that role assignments name, as items
// in the account partition, listed in id order by one query. One
// implementation serves every managed kind of scope; a kind is one entry
// of a scopeTable (its values, its item and their mapping) and one line of
// managedScopes.
//
//	store       pk ACCOUNT#{a}  sk STORE#{id}
//	department  pk ACCOUNT#{a}  sk DEPARTMENT#{id}
//	supplier    pk ACCOUNT#{a}  sk SUPPLIER#{id}

// scopeKind is how the items of one managed kind of scope are keyed and
// listed.
type scopeKind struct {
	// scope is the kind of the items' scopes, also their type attribute.
	scope rbac.ScopeKind
	// prefix starts their sort keys.
	prefix string
	// list names the list their cursors are sealed with.
	list string
	// notFound is the error of a missing item.
	notFound error
}

func (k scopeKind) key(account, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(account), key(k.prefix, id))
}

// scopeTable is a scopeKind with the mapping between its values T and its
// items I (a scopeHead and the kind's own attributes).
type scopeTable[T team.ScopeItem[T], I any] struct {
	scopeKind
	// item is the item of a value, given the head filled in but for the
	// name.
	item func(scopeHead, T) I
	// value is the value of an item.
	value func(I) T
}

// The managed kinds of scope.
var (
	storeScopes = scopeTable[team.Store, storeItem]{
		scopeKind: scopeKind{scope: rbac.ScopeStore, prefix: "STORE", list: "stores", notFound: team.ErrStoreNotFound},
		item: func(h scopeHead, st team.Store) storeItem {
			h.Name = st.Name
			return storeItem{scopeHead: h, Address: st.Address, TimeZone: st.TimeZone}
		},
		value: func(it storeItem) team.Store {
			return team.Store{ID: it.ID, Name: it.Name, Address: it.Address, TimeZone: it.TimeZone}.WithStamps(it.stamps())
		},
	}
	departmentScopes = scopeTable[team.Department, departmentItem]{
		scopeKind: scopeKind{scope: rbac.ScopeDepartment, prefix: "DEPARTMENT", list: "departments", notFound: team.ErrDepartmentNotFound},
		item: func(h scopeHead, d team.Department) departmentItem {
			h.Name = d.Name
			return departmentItem{scopeHead: h, Kind: string(d.Kind)}
		},
		value: func(it departmentItem) team.Department {
			return team.Department{ID: it.ID, Name: it.Name, Kind: team.DepartmentKind(it.Kind)}.WithStamps(it.stamps())
		},
	}
	supplierScopes = scopeTable[team.Supplier, supplierItem]{
		scopeKind: scopeKind{scope: rbac.ScopeSupplier, prefix: "SUPPLIER", list: "suppliers", notFound: team.ErrSupplierNotFound},
		item: func(h scopeHead, p team.Supplier) supplierItem {
			h.Name = p.Name
			return supplierItem{scopeHead: h}
		},
		value: func(it supplierItem) team.Supplier {
			return team.Supplier{ID: it.ID, Name: it.Name}.WithStamps(it.stamps())
		},
	}
	// managedScopes are the kinds whose scopes exist only with an item
	// (ScopesExist); any other well-formed scope exists.
	managedScopes = []scopeKind{storeScopes.scopeKind, departmentScopes.scopeKind, supplierScopes.scopeKind}
)

// scopeHead is what every scope item holds.
type scopeHead struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Type      string    `dynamodbav:"type"`
	AccountID string    `dynamodbav:"accountId"`
	ID        string    `dynamodbav:"id"`
	Name      string    `dynamodbav:"name"`
	Version   int64     `dynamodbav:"version"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

func (h scopeHead) stamps() team.Stamps {
	return team.Stamps{Version: h.Version, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt}
}

type storeItem struct {
	scopeHead
	Address  string `dynamodbav:"address,omitempty"`
	TimeZone string `dynamodbav:"timeZone,omitempty"`
}

type departmentItem struct {
	scopeHead
	Kind string `dynamodbav:"kind"`
}

type supplierItem struct {
	scopeHead
}

// itemOf is the item of v in the account.
func (t scopeTable[T, I]) itemOf(account string, v T) map[string]types.AttributeValue {
	st := v.Stamps()
	return marshal(t.item(scopeHead{
		PK: accountPK(account), SK: key(t.prefix, v.ScopeID()), Type: string(t.scope), AccountID: account,
		ID: v.ScopeID(), Version: st.Version, CreatedAt: st.CreatedAt.UTC(), UpdatedAt: st.UpdatedAt.UTC(),
	}, v))
}

// putScope creates or replaces an item of the kind with its audit event,
// in one transaction. The value's version is the version the caller read:
// 0 creates (team.ErrScopeExists when the id is taken), n replaces the
// item while it is still at version n (team.ErrStaleVersion when it
// changed, the kind's notFound when it is gone); its creation time is kept
// from the read item. It returns the value as written, at the next
// version.
func putScope[T team.ScopeItem[T], I any](ctx context.Context, s *Store, t scopeTable[T, I], account string, v T, ev audit.Event) (T, error) {
	now := s.now().UTC()
	st := v.Stamps()
	read := st.Version
	if read == 0 || st.CreatedAt.IsZero() {
		st.CreatedAt = now
	}
	st.Version, st.UpdatedAt = read+1, now
	v = v.WithStamps(st)
	if err := s.putVersioned(ctx, t.itemOf(account, v), read, t.notFound, ev); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// getScope reads an item of the kind (its notFound when there is none).
func getScope[T team.ScopeItem[T], I any](ctx context.Context, s *Store, t scopeTable[T, I], account, id string) (T, error) {
	var it I
	if err := s.getItem(ctx, t.key(account, id), &it, t.notFound); err != nil {
		var zero T
		return zero, err
	}
	return t.value(it), nil
}

// listScopes lists the account's items of the kind in id order, limit at a
// time (0 means DefaultPageSize, at most MaxPageSize), from the cursor of
// the previous page (sealed for the account and this list: another is
// ErrBadCursor), in one strongly consistent query.
func listScopes[T team.ScopeItem[T], I any](ctx context.Context, s *Store, t scopeTable[T, I], account string, limit int, cursor string) (Page[T], error) {
	raw, next, err := s.listPrefix(ctx, account, t.list, t.prefix, limit, cursor)
	if err != nil {
		return Page[T]{}, err
	}
	var items []I
	if err := attributevalue.UnmarshalListOfMaps(raw, &items); err != nil {
		return Page[T]{}, fmt.Errorf("list %s: %w", t.list, err)
	}
	page := Page[T]{Items: make([]T, 0, len(items)), Next: next}
	for _, it := range items {
		page.Items = append(page.Items, t.value(it))
	}
	return page, nil
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

// PutStore creates or replaces a store of the account with its audit
// event, in one transaction. st.Version is the version the caller read: 0
// creates (team.ErrScopeExists when the id is taken), n replaces the store
// while it is still at version n (team.ErrStaleVersion when it changed,
// team.ErrStoreNotFound when it is gone); st.CreatedAt is kept from the
// read store. It returns the store as written, at the next version.
func (s *Store) PutStore(ctx context.Context, account string, st team.Store, ev audit.Event) (team.Store, error) {
	return putScope(ctx, s, storeScopes, account, st, ev)
}

// GetStore reads a store of the account (team.ErrStoreNotFound when there
// is none).
func (s *Store) GetStore(ctx context.Context, account, id string) (team.Store, error) {
	return getScope(ctx, s, storeScopes, account, id)
}

// ListStores lists the account's stores in id order, like listScopes.
func (s *Store) ListStores(ctx context.Context, account string, limit int, cursor string) (Page[team.Store], error) {
	return listScopes(ctx, s, storeScopes, account, limit, cursor)
}

// PutDepartment creates or replaces a department, like PutStore
// (team.ErrDepartmentNotFound when a replaced department is gone).
func (s *Store) PutDepartment(ctx context.Context, account string, d team.Department, ev audit.Event) (team.Department, error) {
	return putScope(ctx, s, departmentScopes, account, d, ev)
}

// GetDepartment reads a department of the account
// (team.ErrDepartmentNotFound when there is none).
func (s *Store) GetDepartment(ctx context.Context, account, id string) (team.Department, error) {
	return getScope(ctx, s, departmentScopes, account, id)
}

// ListDepartments lists the account's departments in id order, like
// ListStores.
func (s *Store) ListDepartments(ctx context.Context, account string, limit int, cursor string) (Page[team.Department], error) {
	return listScopes(ctx, s, departmentScopes, account, limit, cursor)
}

// PutSupplier creates or replaces a supplier, like PutStore
// (team.ErrSupplierNotFound when a replaced supplier is gone).
func (s *Store) PutSupplier(ctx context.Context, account string, p team.Supplier, ev audit.Event) (team.Supplier, error) {
	return putScope(ctx, s, supplierScopes, account, p, ev)
}

// GetSupplier reads a supplier of the account (team.ErrSupplierNotFound
// when there is none).
func (s *Store) GetSupplier(ctx context.Context, account, id string) (team.Supplier, error) {
	return getScope(ctx, s, supplierScopes, account, id)
}

// ListSuppliers lists the account's suppliers in id order, like
// ListStores.
func (s *Store) ListSuppliers(ctx context.Context, account string, limit int, cursor string) (Page[team.Supplier], error) {
	return listScopes(ctx, s, supplierScopes, account, limit, cursor)
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

// MaxScopesChecked is the most distinct store, department and supplier scopes one
// ScopesExist call checks: one BatchGetItem reads at most 100 keys.
const MaxScopesChecked = 100

// ScopesExist returns the scopes of the list that do not exist in the
// account, in list order without repeats, reading every store,
// department and supplier named in one strongly consistent BatchGetItem
// (none when the list names none). The account scope always exists; a
// store, department or supplier exists once it is registered (PutStore,
// PutDepartment, PutSupplier). A malformed scope, or more than
// MaxScopesChecked distinct stores, departments and suppliers, is an
// error.
func (s *Store) ScopesExist(ctx context.Context, account string, scopes []rbac.Scope) ([]rbac.Scope, error) {
	var keys []map[string]types.AttributeValue
	var checked []rbac.Scope
	seen := map[rbac.Scope]bool{}
	for _, sc := range scopes {
		if err := sc.Validate(); err != nil {
			return nil, err
		}
		if seen[sc] {
			continue
		}
		seen[sc] = true
		k, ok := managedScope(sc.Kind)
		if !ok {
			continue
		}
		keys = append(keys, k.key(account, sc.ID))
		checked = append(checked, sc)
	}
	if len(keys) > MaxScopesChecked {
		return nil, fmt.Errorf("scopes exist: %d stores, departments and suppliers is over the limit of %d", len(keys), MaxScopesChecked)
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
	var missing []rbac.Scope
	for _, sc := range checked {
		k, _ := managedScope(sc.Kind)
		if !found[key(k.prefix, sc.ID)] {
			missing = append(missing, sc)
		}
	}
	return missing, nil
}

// managedScope is the managed kind of the scopes of kind sk, if any.
func managedScope(sk rbac.ScopeKind) (scopeKind, bool) {
	for _, k := range managedScopes {
		if k.scope == sk {
			return k, true
		}
	}
	return scopeKind{}, false
}

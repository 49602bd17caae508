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

// API keys live in the account partition, beside the custom roles items, so
// that authentication reads both in one BatchGetItem.
//
//	api key  pk ACCOUNT#{a}  sk APIKEY#{id}
//
// Only the SHA-256 of a key's secret is stored. lastUsedAt and revokedAt
// are fixed-width UTC strings (see timeKey), so that string comparison in a
// condition is time order.
const (
	prefixAPIKey = "APIKEY"
	typeAPIKey   = "apikey"
)

func apiKeyKey(a, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixAPIKey, id))
}

// APIKeyTouchInterval is how often, at most, an API key's last-used time
// is written.
const APIKeyTouchInterval = time.Minute

// API key failures.
var (
	ErrAPIKeyNotFound = errors.New("API key not found")
	// ErrAPIKeyRevoked: the key was revoked already (or meanwhile).
	ErrAPIKeyRevoked = errors.New("API key revoked")
)

// APIKey is a credential of the host app's backend: a named permission set
// at some scopes, authenticated by a secret of which only the hash is kept.
type APIKey struct {
	ID        string
	AccountID string
	Name      string
	// SecretHash is onetime's hash of the secret.
	SecretHash  string
	Permissions []string
	Scopes      []rbac.Scope
	CreatedAt   time.Time
	// CreatedByID and CreatedByName are the administrator who made it.
	CreatedByID   string
	CreatedByName string
	// LastUsedAt is when the key last authenticated, to the minute; zero
	// when never.
	LastUsedAt time.Time
	// RevokedAt is zero while the key works.
	RevokedAt   time.Time
	RevokedByID string
	Version     int64
}

type apiKeyItem struct {
	PK            string   `dynamodbav:"pk"`
	SK            string   `dynamodbav:"sk"`
	Type          string   `dynamodbav:"type"`
	ID            string   `dynamodbav:"id"`
	AccountID     string   `dynamodbav:"accountId"`
	Name          string   `dynamodbav:"name"`
	SecretHash    string   `dynamodbav:"secretHash"`
	Permissions   []string `dynamodbav:"permissions"`
	Scopes        []string `dynamodbav:"scopes"`
	CreatedAt     string   `dynamodbav:"createdAt"`
	CreatedByID   string   `dynamodbav:"createdBy"`
	CreatedByName string   `dynamodbav:"createdByName"`
	LastUsedAt    string   `dynamodbav:"lastUsedAt,omitempty"`
	RevokedAt     string   `dynamodbav:"revokedAt,omitempty"`
	RevokedByID   string   `dynamodbav:"revokedBy,omitempty"`
	Version       int64    `dynamodbav:"version"`
}

func toAPIKeyItem(k APIKey) apiKeyItem {
	it := apiKeyItem{
		PK: accountPK(k.AccountID), SK: key(prefixAPIKey, k.ID), Type: typeAPIKey,
		ID: k.ID, AccountID: k.AccountID, Name: k.Name, SecretHash: k.SecretHash,
		Permissions: k.Permissions, Scopes: make([]string, 0, len(k.Scopes)),
		CreatedAt: timeKey(k.CreatedAt), CreatedByID: k.CreatedByID, CreatedByName: k.CreatedByName,
		RevokedByID: k.RevokedByID, Version: k.Version,
	}
	for _, s := range k.Scopes {
		it.Scopes = append(it.Scopes, s.String())
	}
	if !k.LastUsedAt.IsZero() {
		it.LastUsedAt = timeKey(k.LastUsedAt)
	}
	if !k.RevokedAt.IsZero() {
		it.RevokedAt = timeKey(k.RevokedAt)
	}
	return it
}

func parseKeyTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored %s %q: %w", field, v, err)
	}
	return t, nil
}

func (it apiKeyItem) apiKey() (APIKey, error) {
	k := APIKey{
		ID: it.ID, AccountID: it.AccountID, Name: it.Name, SecretHash: it.SecretHash,
		Permissions: it.Permissions, CreatedByID: it.CreatedByID, CreatedByName: it.CreatedByName,
		RevokedByID: it.RevokedByID, Version: it.Version,
	}
	var err error
	if k.CreatedAt, err = parseKeyTime("createdAt", it.CreatedAt); err != nil {
		return APIKey{}, fmt.Errorf("API key %s: %w", it.ID, err)
	}
	if k.LastUsedAt, err = parseKeyTime("lastUsedAt", it.LastUsedAt); err != nil {
		return APIKey{}, fmt.Errorf("API key %s: %w", it.ID, err)
	}
	if k.RevokedAt, err = parseKeyTime("revokedAt", it.RevokedAt); err != nil {
		return APIKey{}, fmt.Errorf("API key %s: %w", it.ID, err)
	}
	for _, s := range it.Scopes {
		sc, err := rbac.ParseScope(s)
		if err != nil {
			return APIKey{}, fmt.Errorf("API key %s: stored scope %q: %w", it.ID, s, err)
		}
		k.Scopes = append(k.Scopes, sc)
	}
	return k, nil
}

// CreateAPIKey writes a new API key of an existing account with its event,
// in one transaction.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey, ev audit.Event) error {
	if k.ID == "" || k.AccountID == "" || k.SecretHash == "" {
		return fmt.Errorf("create API key: id, account and secret hash are required")
	}
	tx := NewTx(ev)
	tx.Check(accountKey(k.AccountID), ItemPresent(), team.ErrAccountNotFound)
	tx.Put(marshal(toAPIKeyItem(k)), ItemAbsent(), nil)
	return s.Commit(ctx, tx)
}

// GetAPIKey reads an API key of an account; ErrAPIKeyNotFound when the
// account has no such key.
func (s *Store) GetAPIKey(ctx context.Context, account, id string) (APIKey, error) {
	var it apiKeyItem
	if err := s.getItem(ctx, apiKeyKey(account, id), &it, ErrAPIKeyNotFound); err != nil {
		return APIKey{}, err
	}
	return it.apiKey()
}

// ListAPIKeys lists an account's API keys (revoked ones too), in id order,
// limit at a time.
func (s *Store) ListAPIKeys(ctx context.Context, account string, limit int, cursor string) (Page[APIKey], error) {
	const list = "apikeys"
	start, err := s.cursors.Open(account, list, cursor)
	if err != nil {
		return Page[APIKey]{}, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":prefix": str(prefixAPIKey + sep)},
		Limit:                     aws.Int32(pageSize(limit)),
		ExclusiveStartKey:         start,
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return Page[APIKey]{}, fmt.Errorf("list API keys: %w", err)
	}
	var items []apiKeyItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return Page[APIKey]{}, fmt.Errorf("list API keys: %w", err)
	}
	page := Page[APIKey]{Items: make([]APIKey, 0, len(items))}
	for _, it := range items {
		k, err := it.apiKey()
		if err != nil {
			return Page[APIKey]{}, err
		}
		page.Items = append(page.Items, k)
	}
	page.Next, err = s.cursors.Seal(account, list, out.LastEvaluatedKey)
	return page, err
}

// RevokeAPIKey marks a key revoked at at by the member by, with its event.
// A key that does not exist is ErrAPIKeyNotFound, one revoked already (or
// meanwhile) ErrAPIKeyRevoked. The key stops authenticating from the next
// request: authentication reads it strongly consistently.
func (s *Store) RevokeAPIKey(ctx context.Context, account, id string, at time.Time, by string, ev audit.Event) error {
	tx := NewTx(ev)
	tx.Update(apiKeyKey(account, id), Cond{
		Expr:   "SET #rev = :at, #revBy = :by, #ver = #ver + :one",
		Names:  map[string]string{"#revBy": "revokedBy", "#ver": AttrVersion},
		Values: map[string]types.AttributeValue{":at": str(timeKey(at)), ":by": str(by), ":one": num(1)},
	}, &Cond{
		Expr:  "attribute_exists(#pk) AND attribute_not_exists(#rev)",
		Names: map[string]string{"#pk": AttrPK, "#rev": "revokedAt"},
	}, ErrAPIKeyRevoked)
	err := s.Commit(ctx, tx)
	if errors.Is(err, ErrAPIKeyRevoked) {
		// Absent or revoked: say which.
		if _, gerr := s.GetAPIKey(ctx, account, id); errors.Is(gerr, ErrAPIKeyNotFound) {
			return ErrAPIKeyNotFound
		}
	}
	return err
}

// TouchAPIKey records that a key was used at now, unless it was recorded
// less than APIKeyTouchInterval before (or the key is gone): a conditional
// UpdateItem whose lost condition is not an error. It writes no audit
// event: using a key changes nothing people made.
func (s *Store) TouchAPIKey(ctx context.Context, account, id string, now time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      apiKeyKey(account, id),
		UpdateExpression:         aws.String("SET #lu = :now"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND (attribute_not_exists(#lu) OR #lu < :minuteAgo)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#lu": "lastUsedAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": str(timeKey(now)), ":minuteAgo": str(timeKey(now.Add(-APIKeyTouchInterval))),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("touch API key: %w", err)
	}
	return nil
}

// APIKeyAuth is what authenticating an API key needs, read in one round
// trip: the key and its account's custom roles.
type APIKeyAuth struct {
	Key   APIKey
	Roles CustomRoles
}

// LoadAPIKeyAuth reads an API key and its account's custom roles in one
// strongly consistent BatchGetItem. A missing key is ErrAPIKeyNotFound.
func (s *Store) LoadAPIKeyAuth(ctx context.Context, account, id string) (APIKeyAuth, error) {
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{apiKeyKey(account, id), rolesKey(account)})
	if err != nil {
		return APIKeyAuth{}, fmt.Errorf("load API key auth: %w", err)
	}
	st := APIKeyAuth{Roles: CustomRoles{Roles: []rbac.Role{}}}
	found := false
	var roles map[string]types.AttributeValue
	for _, raw := range items {
		t, _ := raw[AttrType].(*types.AttributeValueMemberS)
		if t == nil {
			continue
		}
		switch t.Value {
		case typeAPIKey:
			var it apiKeyItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return APIKeyAuth{}, fmt.Errorf("load API key auth: %w", err)
			}
			if st.Key, err = it.apiKey(); err != nil {
				return APIKeyAuth{}, err
			}
			found = true
		case typeRoles:
			roles = raw
		}
	}
	if !found {
		return APIKeyAuth{}, ErrAPIKeyNotFound
	}
	if st.Roles, err = s.rolesAt(ctx, account, roles); err != nil {
		return APIKeyAuth{}, fmt.Errorf("load API key auth: %w", err)
	}
	return st, nil
}

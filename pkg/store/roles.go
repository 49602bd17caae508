package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// An account's custom roles are one item per role (sk ROLES#{role}) and a
// tiny version item (sk ROLES) whose version every change of a role
// definition moves, in the same transaction. Every authenticated request
// reads the version item (one read unit) with the member in one
// BatchGetItem, and takes the role definitions from a per-process cache
// keyed by (account, version); only when the version moved does it read the
// roles again (one Query of the account's ROLES items). A member write that
// grants a custom role touches that one role item (roleguard.go), not the
// whole set.
//
// Existing data: accounts written before this layout keep all their roles
// in the version item's "roles" attribute. Readers use that attribute
// whenever it is there (so nothing changes for them); the first write that
// touches the account's roles (a role change, or a member write granting a
// custom role) migrates the account first (migrateRoles): it writes the
// role items and then drops the attribute, at the same version, so caches
// and ETags stay valid.

// roleItem is a role definition inside a legacy version item.
type roleItem struct {
	ID          string   `dynamodbav:"id"`
	Name        string   `dynamodbav:"name"`
	Description string   `dynamodbav:"description,omitempty"`
	Permissions []string `dynamodbav:"permissions"`
	ScopeKinds  []string `dynamodbav:"scopeKinds,omitempty"`
	AdminOnly   bool     `dynamodbav:"adminOnly,omitempty"`
}

// roleRecord is one custom role's item.
type roleRecord struct {
	PK          string   `dynamodbav:"pk"`
	SK          string   `dynamodbav:"sk"`
	Type        string   `dynamodbav:"type"`
	ID          string   `dynamodbav:"id"`
	Name        string   `dynamodbav:"name"`
	Description string   `dynamodbav:"description,omitempty"`
	Permissions []string `dynamodbav:"permissions"`
	ScopeKinds  []string `dynamodbav:"scopeKinds,omitempty"`
	AdminOnly   bool     `dynamodbav:"adminOnly,omitempty"`
	// Version is the roles version of the change that last wrote the
	// definition (or marked the role for deletion).
	Version int64 `dynamodbav:"version"`
	// AssignSeq counts the member writes that gave a member this role
	// (roleguard.go).
	AssignSeq int64 `dynamodbav:"assignSeq,omitempty"`
	// Status is "deleting" while the role's holders are being moved
	// (customroles.go); Members, To and HoldersLeft describe that work.
	Status      string `dynamodbav:"status,omitempty"`
	Members     string `dynamodbav:"members,omitempty"`
	To          string `dynamodbav:"to,omitempty"`
	HoldersLeft int    `dynamodbav:"holdersLeft,omitempty"`
}

// statusDeleting marks a role whose deletion is under way.
const statusDeleting = "deleting"

// rolesItem is the account's roles version item; Roles is set only on
// accounts not yet migrated to one item per role.
type rolesItem struct {
	PK        string     `dynamodbav:"pk"`
	SK        string     `dynamodbav:"sk"`
	Type      string     `dynamodbav:"type"`
	Roles     []roleItem `dynamodbav:"roles,omitempty"`
	Version   int64      `dynamodbav:"version"`
	UpdatedAt time.Time  `dynamodbav:"updatedAt"`
	// Preset, Billing and LockAfterDays are the account facts its role
	// set depends on (rbac.Options), kept here because every
	// authenticated request reads this item anyway: the preset (written
	// at sign-up, never changed) and the two settings UpdateAccount
	// copies from the account in its transaction.
	Preset        string `dynamodbav:"preset,omitempty"`
	Billing       string `dynamodbav:"billing,omitempty"`
	LockAfterDays int    `dynamodbav:"lockAfterDays,omitempty"`
}

// options returns the role set options the item carries.
func (it *rolesItem) options() rbac.Options {
	return rbac.Options{Preset: it.Preset, Billing: rbac.Billing(it.Billing), LockAfterDays: it.LockAfterDays}
}

func (it roleItem) role() rbac.Role {
	role := rbac.Role{ID: it.ID, Name: it.Name, Description: it.Description, Permissions: it.Permissions, AdminOnly: it.AdminOnly}
	for _, k := range it.ScopeKinds {
		role.ScopeKinds = append(role.ScopeKinds, rbac.ScopeKind(k))
	}
	return role
}

func (r roleRecord) role() rbac.Role {
	return roleItem{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Permissions, ScopeKinds: r.ScopeKinds, AdminOnly: r.AdminOnly}.role()
}

func (r roleRecord) state() RoleState {
	return RoleState{AssignSeq: r.AssignSeq, Deleting: r.Status == statusDeleting, Members: r.Members, To: r.To, HoldersLeft: r.HoldersLeft}
}

func newRoleRecord(account string, r rbac.Role, version int64) roleRecord {
	rec := roleRecord{
		PK: accountPK(account), SK: key(skRoles, r.ID), Type: typeRole,
		ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Permissions, AdminOnly: r.AdminOnly, Version: version,
	}
	for _, k := range r.ScopeKinds {
		rec.ScopeKinds = append(rec.ScopeKinds, string(k))
	}
	return rec
}

// CustomRoles is an account's custom roles and their version (0 when the
// account has none yet).
type CustomRoles struct {
	Roles   []rbac.Role
	Version int64
	// Options are the account's preset and decision settings, read from
	// the version item (zero: the general preset, per-store billing, no
	// lock-by-age).
	Options rbac.Options
	// States are the roles' bookkeeping by role id (absent on an account
	// not yet migrated, which is as good as zero states).
	States map[string]RoleState
	// legacy: read from a version item that still holds the roles.
	legacy bool
}

// RoleState is a custom role's bookkeeping: its count of guarded grants
// and whether its deletion is under way.
type RoleState struct {
	// AssignSeq counts the member writes that gave a member the role.
	AssignSeq int64
	// Deleting: the role is marked for deletion; no member may gain it,
	// and its holders are being moved (Members, To) — HoldersLeft as of
	// the last chunk.
	Deleting    bool
	Members     string
	To          string
	HoldersLeft int
}

// State is role id's state (zero when it has none).
func (cr CustomRoles) State(id string) RoleState { return cr.States[id] }

// rolesCache keeps each account's custom roles at the last version read,
// so that a request reads only the version item while the roles do not
// change. It is shared by the copies of a Store (Acting).
type rolesCache struct {
	mu sync.Mutex
	m  map[string]CustomRoles
}

// maxCachedAccounts bounds the cache; past it the cache starts over.
const maxCachedAccounts = 10000

func (c *rolesCache) get(account string, version int64) (CustomRoles, bool) {
	if c == nil {
		return CustomRoles{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cr, ok := c.m[account]
	return cr, ok && cr.Version == version
}

func (c *rolesCache) put(account string, cr CustomRoles) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedAccounts {
		c.m = map[string]CustomRoles{}
	}
	c.m[account] = cr
}

// decodeRolesItem decodes a version item read in a batch.
func decodeRolesItem(raw map[string]types.AttributeValue) (*rolesItem, bool, error) {
	var it rolesItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return nil, false, fmt.Errorf("decode roles: %w", err)
	}
	_, legacy := raw["roles"]
	return &it, legacy, nil
}

// rolesAt returns the account's custom roles at the version item it
// (nil: the account has none): from the item itself on an account not yet
// migrated, from the cache when the version is the one cached, and
// otherwise read with one Query (and cached).
func (s *Store) rolesAt(ctx context.Context, account string, raw map[string]types.AttributeValue) (CustomRoles, error) {
	if raw == nil {
		return CustomRoles{Roles: []rbac.Role{}}, nil
	}
	it, legacy, err := decodeRolesItem(raw)
	if err != nil {
		return CustomRoles{}, err
	}
	if legacy {
		return legacyRoles(it), nil
	}
	if cr, ok := s.roles.get(account, it.Version); ok {
		// The settings change without moving the version: take them
		// from the item just read.
		cr.Options = it.options()
		return cr, nil
	}
	return s.queryRoles(ctx, account)
}

func legacyRoles(it *rolesItem) CustomRoles {
	out := CustomRoles{Roles: make([]rbac.Role, 0, len(it.Roles)), Version: it.Version, Options: it.options(), legacy: true}
	for _, r := range it.Roles {
		out.Roles = append(out.Roles, r.role())
	}
	return out
}

// queryRoles reads the account's version item and role items with one
// strongly consistent Query (the version item sorts first), and caches the
// result when it is one version's (no role item newer than the version
// item: a Query may see part of a transaction).
func (s *Store) queryRoles(ctx context.Context, account string) (CustomRoles, error) {
	for attempt := 0; ; attempt++ {
		cr, consistent, err := s.queryRolesOnce(ctx, account)
		if err != nil {
			return CustomRoles{}, err
		}
		if consistent {
			if !cr.legacy {
				s.roles.put(account, cr)
			}
			return cr, nil
		}
		if attempt == 2 {
			return cr, nil
		}
	}
}

func (s *Store) queryRolesOnce(ctx context.Context, account string) (CustomRoles, bool, error) {
	out := CustomRoles{Roles: []rbac.Role{}, States: map[string]RoleState{}}
	consistent := true
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :roles)"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":roles": str(skRoles)},
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return CustomRoles{}, false, fmt.Errorf("query custom roles: %w", err)
		}
		for _, raw := range page.Items {
			switch t, _ := raw[AttrType].(*types.AttributeValueMemberS); {
			case t == nil:
			case t.Value == typeRoles:
				it, legacy, err := decodeRolesItem(raw)
				if err != nil {
					return CustomRoles{}, false, err
				}
				if legacy {
					// Not migrated yet: the item's roles are the truth
					// (role items a migration has begun to write are not).
					return legacyRoles(it), true, nil
				}
				out.Version = it.Version
				out.Options = it.options()
			case t.Value == typeRole:
				var rec roleRecord
				if err := attributevalue.UnmarshalMap(raw, &rec); err != nil {
					return CustomRoles{}, false, fmt.Errorf("decode role: %w", err)
				}
				if rec.Version > out.Version {
					consistent = false
				}
				out.Roles = append(out.Roles, rec.role())
				out.States[rec.ID] = rec.state()
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, consistent, nil
		}
		start = page.LastEvaluatedKey
	}
}

// AuthState is what an authenticated request needs, read in one round
// trip: the member, the account's custom roles, and the session (when a
// session id was given).
type AuthState struct {
	Member  team.Member
	Roles   CustomRoles
	Session Session
	// Impersonator is the admin acting as Member, when one was asked for.
	Impersonator *team.Member
	// Account and Sessions are AuthExtra's items (Account nil and a
	// session absent from Sessions when not asked for or not found).
	Account  *team.Account
	Sessions map[string]Session
}

// AuthExtra asks LoadAuthWith for more items in the same BatchGetItem: a
// portal page needs its account (name, branding) and, while an
// administrator acts as a member, the administrator's own session.
type AuthExtra struct {
	Account  bool
	Sessions []string
}

// LoadAuth reads a member, its account's roles version item, a session and
// the impersonating admin (both optional) in one BatchGetItem, and the
// custom roles at that version (rolesAt: cached unless they changed). A
// missing member or impersonator is team.ErrMemberNotFound; a missing
// session ErrSessionNotFound.
func (s *Store) LoadAuth(ctx context.Context, account, member, session, impersonator string) (AuthState, error) {
	return s.LoadAuthWith(ctx, account, member, session, impersonator, AuthExtra{})
}

// LoadAuthWith is LoadAuth reading extra's items in the same round trip.
func (s *Store) LoadAuthWith(ctx context.Context, account, member, session, impersonator string, extra AuthExtra) (AuthState, error) {
	keys := []map[string]types.AttributeValue{memberKey(account, member), rolesKey(account)}
	if session != "" {
		keys = append(keys, sessionKey(session))
	}
	if impersonator != "" && impersonator != member {
		keys = append(keys, memberKey(account, impersonator))
	}
	if extra.Account {
		keys = append(keys, accountKey(account))
	}
	for _, id := range extra.Sessions {
		if id != session {
			keys = append(keys, sessionKey(id))
		}
	}
	items, err := s.batchGet(ctx, keys)
	if err == nil {
		items, err = s.withDeletedMembers(ctx, keys, items)
	}
	if err != nil {
		return AuthState{}, fmt.Errorf("load auth: %w", err)
	}
	var st AuthState
	var haveMember, haveSession bool
	var roles map[string]types.AttributeValue
	for _, raw := range items {
		switch raw[AttrType].(*types.AttributeValueMemberS).Value {
		case typeMember:
			var it memberItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return AuthState{}, fmt.Errorf("load auth: %w", err)
			}
			m, err := it.member()
			if err != nil {
				return AuthState{}, err
			}
			if m.ID == member {
				st.Member, haveMember = m, true
			} else {
				st.Impersonator = &m
			}
		case typeRoles:
			roles = raw
		case typeSession:
			var it sessionItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return AuthState{}, fmt.Errorf("load auth: %w", err)
			}
			if it.ID != session {
				if st.Sessions == nil {
					st.Sessions = map[string]Session{}
				}
				st.Sessions[it.ID] = it.session()
				continue
			}
			st.Session = it.session()
			haveSession = true
		case typeAccount:
			var it accountItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return AuthState{}, fmt.Errorf("load auth: %w", err)
			}
			a := it.account()
			s.retention.remember(a, s.now())
			st.Account = &a
		}
	}
	switch {
	case !haveMember:
		return AuthState{}, team.ErrMemberNotFound
	case session != "" && !haveSession:
		return AuthState{}, ErrSessionNotFound
	case impersonator != "" && impersonator != member && st.Impersonator == nil:
		return AuthState{}, team.ErrMemberNotFound
	}
	if st.Roles, err = s.rolesAt(ctx, account, roles); err != nil {
		return AuthState{}, fmt.Errorf("load auth: %w", err)
	}
	return st, nil
}

// LoadCustomRoles reads an account's custom roles for decisions: the
// version item strongly consistently (one read unit) and the roles from the
// per-version cache, with one Query only when they changed. The roles'
// States may lag (grant counts move without the version); changing roles
// starts from GetCustomRoles instead.
func (s *Store) LoadCustomRoles(ctx context.Context, account string) (CustomRoles, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: rolesKey(account), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return CustomRoles{}, fmt.Errorf("load custom roles: %w", err)
	}
	return s.rolesAt(ctx, account, out.Item)
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/team"
)

// An account's custom roles live in one item, so that a permission check
// reads the member and every role it may need in one BatchGetItem.

type roleItem struct {
	ID          string   `dynamodbav:"id"`
	Name        string   `dynamodbav:"name"`
	Description string   `dynamodbav:"description,omitempty"`
	Permissions []string `dynamodbav:"permissions"`
	ScopeKinds  []string `dynamodbav:"scopeKinds,omitempty"`
	AdminOnly   bool     `dynamodbav:"adminOnly,omitempty"`
}

type rolesItem struct {
	PK        string     `dynamodbav:"pk"`
	SK        string     `dynamodbav:"sk"`
	Type      string     `dynamodbav:"type"`
	Roles     []roleItem `dynamodbav:"roles"`
	Version   int64      `dynamodbav:"version"`
	UpdatedAt time.Time  `dynamodbav:"updatedAt"`
	// AssignSeq counts the member writes that gave a member a custom role
	// since the item was last replaced (see roleguard.go).
	AssignSeq int64 `dynamodbav:"assignSeq,omitempty"`
}

func (it rolesItem) roles() []authz.Role {
	out := make([]authz.Role, 0, len(it.Roles))
	for _, r := range it.Roles {
		role := authz.Role{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Permissions, AdminOnly: r.AdminOnly}
		for _, k := range r.ScopeKinds {
			role.ScopeKinds = append(role.ScopeKinds, authz.ScopeKind(k))
		}
		out = append(out, role)
	}
	return out
}

func toRoleItems(roles []authz.Role) []roleItem {
	out := make([]roleItem, 0, len(roles))
	for _, r := range roles {
		it := roleItem{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Permissions, AdminOnly: r.AdminOnly}
		for _, k := range r.ScopeKinds {
			it.ScopeKinds = append(it.ScopeKinds, string(k))
		}
		out = append(out, it)
	}
	return out
}

// CustomRoles is an account's custom roles and the version of their item
// (0 when the account has none yet).
type CustomRoles struct {
	Roles   []authz.Role
	Version int64
	// AssignSeq is the roles item's count of member writes that gave a
	// member a custom role (see DeleteCustomRole).
	AssignSeq int64
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
}

// LoadAuth reads a member, its account's custom roles, a session and the
// impersonating admin (both optional) in one BatchGetItem. A missing member
// or impersonator is team.ErrMemberNotFound; a missing session
// ErrSessionNotFound.
func (s *Store) LoadAuth(ctx context.Context, account, member, session, impersonator string) (AuthState, error) {
	keys := []map[string]types.AttributeValue{memberKey(account, member), rolesKey(account)}
	if session != "" {
		keys = append(keys, sessionKey(session))
	}
	if impersonator != "" && impersonator != member {
		keys = append(keys, memberKey(account, impersonator))
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return AuthState{}, fmt.Errorf("load auth: %w", err)
	}
	var st AuthState
	var haveMember, haveSession bool
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
			var it rolesItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return AuthState{}, fmt.Errorf("load auth: %w", err)
			}
			st.Roles = CustomRoles{Roles: it.roles(), Version: it.Version}
		case typeSession:
			var it sessionItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return AuthState{}, fmt.Errorf("load auth: %w", err)
			}
			st.Session = it.session()
			haveSession = true
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
	return st, nil
}

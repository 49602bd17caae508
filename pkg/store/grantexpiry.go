package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// The expiring-grants index: one small item per time-bound assignment
// with an expiry, in its account's partition, sorted by expiry, so that
// the alert job finds the grants expiring within the notice window with
// one query of a key range (no scan of the members):
//
//	grant expiry  pk ACCOUNT#{a}  sk GRANTEXP#{expiresAt}#{member}#{role}@{scope}  ttl
//
// A member write (AddMember, UpdateMember, CreateInvitation, an accepted
// invitation of an existing member) puts, in its own transaction, the
// item of each of the member's assignments whose expiry is still ahead:
// an unconditional put of a key that names the grant, so writing it again
// is free of effects and a member holds at most views.MaxTimeBound of
// them. Nothing deletes an item when its grant is removed or changed:
// readers check each entry against the member as stored
// (ExpiringGrant.Current), and the items expire by TTL a day after
// their grant. Cost: nothing for members without an expiring grant; one
// small put per expiring grant per write of its member.
const prefixGrantExp = "GRANTEXP"

// grantExpiryTTL is how long an index item outlives its grant.
const grantExpiryTTL = 24 * time.Hour

// ExpiringGrant is an entry of the expiring-grants index.
type ExpiringGrant struct {
	AccountID string
	MemberID  string
	Role      string
	// Permissions are a permission assignment's keys (Role empty).
	Permissions []string
	Scope       rbac.Scope
	ExpiresAt   time.Time
}

// Current returns the member's assignment the entry stands for, if the
// member still holds it with the same expiry.
func (g ExpiringGrant) Current(as []rbac.Assignment) (rbac.Assignment, bool) {
	for _, a := range as {
		if a.Role == g.Role && a.Scope == g.Scope && a.ExpiresAt.Equal(g.ExpiresAt) &&
			(rbac.Assignment{Permissions: a.Permissions}).Equal(rbac.Assignment{Permissions: g.Permissions}) {
			return a, true
		}
	}
	return rbac.Assignment{}, false
}

type grantExpiryItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	Type     string `dynamodbav:"type"`
	MemberID string `dynamodbav:"memberId"`
	Role     string `dynamodbav:"role"`
	// Permissions are a permission assignment's keys (Role empty).
	Permissions []string  `dynamodbav:"permissions,omitempty"`
	Scope       string    `dynamodbav:"scope"`
	ExpiresAt   time.Time `dynamodbav:"expiresAt"`
	TTL         int64     `dynamodbav:"ttl"`
}

const typeGrantExpiry = "grant_expiry"

func grantExpirySK(expires time.Time, member string, a rbac.Assignment) string {
	if a.Role == "" {
		// A permission assignment: its keys could outgrow a sort key.
		keys := slices.Clone(a.Permissions)
		slices.Sort(keys)
		sum := sha256.Sum256([]byte(strings.Join(keys, ",")))
		return key(prefixGrantExp, timeKey(expires), member, "permissions:"+hex.EncodeToString(sum[:8])+"@"+a.Scope.String())
	}
	return key(prefixGrantExp, timeKey(expires), member, a.String())
}

// indexExpiringGrants adds the index items of member's assignments that
// expire after now.
func (tx *Tx) indexExpiringGrants(account, member string, as []rbac.Assignment, now time.Time) {
	for _, item := range grantExpiryItems(account, member, as, now) {
		tx.Put(item, nil, nil)
	}
}

func grantExpiryItems(account, member string, as []rbac.Assignment, now time.Time) []map[string]types.AttributeValue {
	var out []map[string]types.AttributeValue
	for _, a := range as {
		if a.ExpiresAt.IsZero() || !a.ExpiresAt.After(now) {
			continue
		}
		out = append(out, marshal(grantExpiryItem{
			PK: accountPK(account), SK: grantExpirySK(a.ExpiresAt, member, a), Type: typeGrantExpiry,
			MemberID: member, Role: a.Role, Permissions: a.Permissions, Scope: a.Scope.String(), ExpiresAt: a.ExpiresAt.UTC(),
			TTL: a.ExpiresAt.Add(grantExpiryTTL).Unix(),
		}))
	}
	return out
}

// indexExpiringGrantsAfter writes the index items of members' expiring
// grants after a role change committed: a role change moves up to
// MaxMembersPerRoleChange members in one transaction, which has no room
// for their index items too. The index tolerates stale entries either
// way (ExpiringGrant.Current); a write lost here costs a notice, never a
// grant.
func (s *Store) indexExpiringGrantsAfter(ctx context.Context, members []team.Member, now time.Time) error {
	for _, m := range members {
		for _, item := range grantExpiryItems(m.AccountID, m.ID, m.Assignments, now) {
			if err := s.put(ctx, "index expiring grant", item, nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// ExpiringGrants returns the index entries of the account's grants that
// expire in [from, until), soonest first: one query of the account
// partition's GRANTEXP range, paged through. Entries may be stale (the
// grant was removed or its expiry changed since): check them against the
// member (ExpiringGrant.Current).
func (s *Store) ExpiringGrants(ctx context.Context, account string, from, until time.Time) ([]ExpiringGrant, error) {
	var out []ExpiringGrant
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :until"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk":    str(accountPK(account)),
				":from":  str(key(prefixGrantExp, timeKey(from))),
				":until": str(key(prefixGrantExp, timeKey(until))),
			},
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("expiring grants: %w", err)
		}
		for _, raw := range page.Items {
			var it grantExpiryItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, err
			}
			sc, err := rbac.ParseScope(it.Scope)
			if err != nil {
				return nil, fmt.Errorf("expiring grant %s: scope %q: %w", it.SK, it.Scope, err)
			}
			if !it.ExpiresAt.Before(until) {
				continue
			}
			out = append(out, ExpiringGrant{AccountID: account, MemberID: it.MemberID, Role: it.Role, Permissions: it.Permissions, Scope: sc, ExpiresAt: it.ExpiresAt})
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

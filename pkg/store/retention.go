package store

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/team"
)

// Retention: every audit event carries the table's TTL attribute (AttrTTL,
// epoch seconds), its time plus the account's AuditRetentionDays as known
// when it is written; DynamoDB deletes it some time (up to days) after.
// Changing the setting applies to events written afterwards: events
// already written keep their expiry (nothing is re-stamped). A host app
// that must keep events longer exports them before they expire (the paged
// GET /v1/audit with from/to, oldest range first; see pkg/openapi).
//
// The setting comes from a per-process cache: an account read by
// GetAccount, written by CreateAccount or UpdateAccount is remembered; a
// commit for an account not seen in retentionFresh reads its two settings
// once (an eventually consistent read of the account item). A change made
// by another process applies here within retentionFresh.

// retentionFresh is how long a remembered setting is used without reading
// it again.
const retentionFresh = 5 * time.Minute

// retentionCacheMax bounds the cache; past it the cache starts afresh.
const retentionCacheMax = 20000

type retentionEntry struct {
	audit, documents int
	at               time.Time
}

type retentionCache struct {
	mu sync.Mutex
	m  map[string]retentionEntry
}

func newRetentionCache() *retentionCache {
	return &retentionCache{m: map[string]retentionEntry{}}
}

// remember records a's retention settings.
func (c *retentionCache) remember(a team.Account, now time.Time) {
	if c == nil || a.ID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= retentionCacheMax {
		c.m = map[string]retentionEntry{}
	}
	c.m[a.ID] = retentionEntry{
		audit:     orDefault(a.Settings.AuditRetentionDays, team.DefaultAuditRetentionDays),
		documents: orDefault(a.Settings.DocumentRetentionDays, team.DefaultDocumentRetentionDays),
		at:        now,
	}
}

func (c *retentionCache) get(account string, now time.Time) (retentionEntry, bool) {
	if c == nil {
		return retentionEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[account]
	if !ok || now.Sub(e.at) > retentionFresh || now.Before(e.at) {
		return retentionEntry{}, false
	}
	return e, true
}

// retentionOf returns the account's retention settings, in days: the
// remembered ones, or read from the account item (the defaults for an
// account not written yet, or when the read fails: an event is never
// refused for want of its expiry).
func (s *Store) retentionOf(ctx context.Context, account string) retentionEntry {
	now := s.now()
	if e, ok := s.retention.get(account, now); ok {
		return e
	}
	e := retentionEntry{audit: team.DefaultAuditRetentionDays, documents: team.DefaultDocumentRetentionDays, at: now}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: accountKey(account),
		ProjectionExpression:     aws.String("#a, #d"),
		ExpressionAttributeNames: map[string]string{"#a": "auditRetentionDays", "#d": "documentRetentionDays"},
	})
	if err != nil {
		return e
	}
	e.audit = orDefault(numAttr(out.Item, "auditRetentionDays"), team.DefaultAuditRetentionDays)
	e.documents = orDefault(numAttr(out.Item, "documentRetentionDays"), team.DefaultDocumentRetentionDays)
	// An account not written yet is remembered with the defaults too (its
	// creation remembers its own settings anyway).
	if s.retention != nil {
		s.retention.mu.Lock()
		if len(s.retention.m) >= retentionCacheMax {
			s.retention.m = map[string]retentionEntry{}
		}
		s.retention.m[account] = e
		s.retention.mu.Unlock()
	}
	return e
}

func numAttr(item map[string]types.AttributeValue, name string) int {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0
	}
	return v
}

// expiry is the TTL attribute value of an item written at t and kept days.
func expiry(t time.Time, days int) types.AttributeValue {
	return num(t.Add(time.Duration(days) * 24 * time.Hour).Unix())
}

// AuditExpiry is when an audit event of account written at t expires
// under the account's current setting (for tests and the export docs).
func (s *Store) AuditExpiry(ctx context.Context, account string, t time.Time) time.Time {
	return t.Add(time.Duration(s.retentionOf(ctx, account).audit) * 24 * time.Hour).Truncate(time.Second)
}

// DocumentExpiry is the TTL attribute value of a document, approval request
// or decision of account that closes at t: t plus the account's
// DocumentRetentionDays. Stamp it only where the item closes; an open
// document or a pending request never carries one.
func (s *Store) DocumentExpiry(ctx context.Context, account string, t time.Time) types.AttributeValue {
	return expiry(t, s.retentionOf(ctx, account).documents)
}

package store

import (
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names shared by many item types.
const (
	AttrType    = "type"
	AttrVersion = "version"
)

// Item type names, stored in AttrType so that a raw table read can tell
// items apart.
const (
	typeAudit      = "audit"
	typeAccount    = "account"
	typeMember     = "member"
	typeIdentity   = "identity"
	typeEmail      = "email"
	typeToken      = "token"
	typeSession    = "session"
	typeRate       = "rate"
	typeOutbox     = "outbox"
	typeMembership = "membership"
	typeRoles      = "roles"
	typeRole       = "role"
	typeInvitation = "invitation"
)

// Key prefixes. Each is followed by "#" and an id.
const (
	prefixAudit      = "AUDIT"
	prefixAccount    = "ACCOUNT"
	prefixMember     = "MEMBER"
	prefixIdentity   = "IDENTITY"
	prefixEmail      = "EMAIL"
	prefixToken      = "TOKEN"
	prefixSession    = "SESSION"
	prefixRate       = "RATE"
	prefixOutbox     = "OUTBOX"
	prefixMembership = "MEMBERSHIP"
	prefixDeleted    = "DELETED"
)

// sep joins key parts. Ids are validated not to contain it.
const sep = "#"

func key(parts ...string) string { return strings.Join(parts, sep) }

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// itemKey is a primary key.
func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)}
}

// timeKey formats t for a sort key: fixed width, so that string order is
// time order.
func timeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// Audit events: the account's events by time, by actor (gsi1) and by
// target (gsi2).
//
//	pk     AUDIT#{account}                       sk     {time}#{event}
//	gsi1pk AUDIT#{account}#ACTOR#{actor}         gsi1sk {time}#{event}
//	gsi2pk AUDIT#{account}#TARGET#{type}#{id}    gsi2sk {time}#{event}
//	ttl    {time} + the account's AuditRetentionDays (retention.go)
//
// Both indexes project every attribute, so an event indexed by actor and
// target is written three times (a small change with its event: 8 write
// units on DynamoDB Local, 6 of them the two index copies).
func auditPK(account string) string { return key(prefixAudit, account) }
func auditActorPK(account, actor string) string {
	return key(prefixAudit, account, "ACTOR", actor)
}
func auditTargetPK(account, typ, id string) string {
	return key(prefixAudit, account, "TARGET", typ, id)
}

// Accounts and what lives in their partition.
//
//	account        pk ACCOUNT#{a}  sk ACCOUNT
//	member         pk ACCOUNT#{a}  sk MEMBER#{m}      (every status but deleted)
//	deleted member pk ACCOUNT#{a}  sk DELETED#{m}     (status deleted; see DeleteMember)
//	member email   pk ACCOUNT#{a}  sk EMAIL#{email}   (one member per email per account)
//	custom roles   pk ACCOUNT#{a}  sk ROLES          (the roles version item; see roles.go)
//	custom role    pk ACCOUNT#{a}  sk ROLES#{role}   (while marked deleting also gsi1pk ROLEDELETING; maintenance.go)
//	grant expiry   pk ACCOUNT#{a}  sk GRANTEXP#{expiresAt}#{member}#{role}@{scope}  (grantexpiry.go)
//	webhook        pk ACCOUNT#{a}  sk WEBHOOK#{id}   (and its count, sk WEBHOOKS; see webhooks.go)
//
// Webhook deliveries: pk DELIVERIES#{a}#{endpoint}  sk {event time}#{event id}  ttl (webhooks.go).
//
// Documented where they are written: documents, policies, approval
// requests and decisions (documents.go, with their retention), the
// approval indexes and awaiting entries (approvalindex.go), access
// requests, their entries and pending items (accessrequests.go), the run
// markers and the role-deletion index (maintenance.go), delegations and
// their reverse entries (delegations.go).
func accountPK(a string) string { return key(prefixAccount, a) }

const (
	skAccount = "ACCOUNT"
	skRoles   = "ROLES"
)

func accountKey(a string) map[string]types.AttributeValue { return itemKey(accountPK(a), skAccount) }
func memberSK(m string) string                            { return key(prefixMember, m) }
func memberKey(a, m string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), memberSK(m))
}

// deletedMemberKey is where DeleteMember moves a member: out of the
// MEMBER# range, so that the reads of live members (membersQuery) never
// pay for the deleted ones. Reads by id fall back to it
// (withDeletedMembers); the all-status list merges both ranges.
func deletedMemberKey(a, m string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixDeleted, m))
}
func memberEmailKey(a, email string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixEmail, email))
}
func rolesKey(a string) map[string]types.AttributeValue { return itemKey(accountPK(a), skRoles) }
func roleKey(a, role string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(skRoles, role))
}

// Identities, global: one per email. An identity's partition also holds a
// pointer to each of its memberships, so that one strongly consistent
// query reads the identity and every account it belongs to.
//
//	identity    pk IDENTITY#{i}   sk IDENTITY
//	membership  pk IDENTITY#{i}   sk MEMBERSHIP#{a}  -> member id
//	email       pk EMAIL#{email}  sk EMAIL           -> identity id
func identityPK(i string) string { return key(prefixIdentity, i) }
func membershipKey(i, a string) map[string]types.AttributeValue {
	return itemKey(identityPK(i), key(prefixMembership, a))
}
func identityKey(i string) map[string]types.AttributeValue {
	return itemKey(identityPK(i), prefixIdentity)
}
func emailKey(email string) map[string]types.AttributeValue {
	return itemKey(key(prefixEmail, email), prefixEmail)
}

// One-time tokens, by the SHA-256 of the token; the token itself is never
// stored.
//
//	token              pk TOKEN#{hash}               sk TOKEN   ttl
//	unsubscribe token  pk TOKEN#unsubscribe#{hash}   sk TOKEN   ttl
//
// Unsubscribe tokens carry their kind in the partition key so that IAM
// can confine the alert job, which writes them, to that kind
// (AlertsJobLeadingKeys): a job that could write TOKEN#{hash} could mint
// an invitation or a password reset. The other kinds keep TOKEN#{hash}, so
// the links already sent keep working.
func tokenKey(hash string) map[string]types.AttributeValue {
	return itemKey(key(prefixToken, hash), prefixToken)
}

// tokenItemKey is the key of a token of kind.
func tokenItemKey(kind, hash string) map[string]types.AttributeValue {
	if kind == TokenUnsubscribe {
		return itemKey(key(prefixToken, kind, hash), prefixToken)
	}
	return tokenKey(hash)
}

// AlertsJobLeadingKeys are the partition keys the scheduled alert job
// writes, as IAM StringLike patterns: the outbox records of its digests
// (pkg/alerts.OutboxKey, "digest/...") and unsubscribe tokens (their items
// and current pointers). The CDK stack allows the job's writes only there
// (dynamodb:LeadingKeys); pkg/alerts' tests check every write of a run.
var AlertsJobLeadingKeys = []string{
	key(prefixOutbox, "digest/*"),
	key(prefixToken, TokenUnsubscribe, "*"),
}

// Sessions (refresh tokens), and an identity's sessions through gsi1.
//
//	session  pk SESSION#{s}  sk SESSION  gsi1pk SESSIONS#{identity}  gsi1sk {s}  ttl
func sessionKey(s string) map[string]types.AttributeValue {
	return itemKey(key(prefixSession, s), prefixSession)
}
func identitySessionsPK(i string) string { return key("SESSIONS", i) }

// Rate-limit counters, one per key and fixed window.
//
//	rate  pk RATE#{key}  sk {window start}  ttl
//
// rateWindowKey is a rate counter's item (see RateCharge).
func rateWindowKey(k string) map[string]types.AttributeValue {
	return itemKey(key(prefixRate, k), "WINDOW")
}

// An account's API traffic, one counter per fixed window (pkg/throttle).
//
//	traffic  pk RATE#ACCOUNT#{account}#{window start, unix s}  sk WINDOW  count  ttl
func trafficKey(account string, start time.Time) map[string]types.AttributeValue {
	return itemKey(key(prefixRate, "ACCOUNT", account, strconv.FormatInt(start.Unix(), 10)), "WINDOW")
}

// Outbox records make email sending idempotent.
//
//	outbox  pk OUTBOX#{key}  sk OUTBOX  ttl
func outboxKey(k string) map[string]types.AttributeValue {
	return itemKey(key(prefixOutbox, k), prefixOutbox)
}

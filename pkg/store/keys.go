package store

import (
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
	typeAudit = "audit"
)

// Key prefixes. Each is followed by "#" and an id.
const (
	prefixAudit = "AUDIT"
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
func auditPK(account string) string { return key(prefixAudit, account) }
func auditActorPK(account, actor string) string {
	return key(prefixAudit, account, "ACTOR", actor)
}
func auditTargetPK(account, typ, id string) string {
	return key(prefixAudit, account, "TARGET", typ, id)
}

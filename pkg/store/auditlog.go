package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/team"
)

type auditItem struct {
	PK             string    `dynamodbav:"pk"`
	SK             string    `dynamodbav:"sk"`
	GSI1PK         string    `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK         string    `dynamodbav:"gsi1sk,omitempty"`
	GSI2PK         string    `dynamodbav:"gsi2pk,omitempty"`
	GSI2SK         string    `dynamodbav:"gsi2sk,omitempty"`
	Type           string    `dynamodbav:"type"`
	ID             string    `dynamodbav:"id"`
	AccountID      string    `dynamodbav:"accountId"`
	Time           time.Time `dynamodbav:"time"`
	ActorID        string    `dynamodbav:"actorId,omitempty"`
	ActorName      string    `dynamodbav:"actorName,omitempty"`
	ImpersonatorID string    `dynamodbav:"impersonatorId,omitempty"`
	Action         string    `dynamodbav:"action"`
	TargetType     string    `dynamodbav:"targetType,omitempty"`
	TargetID       string    `dynamodbav:"targetId,omitempty"`
	Before         string    `dynamodbav:"before,omitempty"`
	After          string    `dynamodbav:"after,omitempty"`
	RequestID      string    `dynamodbav:"requestId,omitempty"`
	// TTL is the event's expiry (epoch seconds): its time plus the
	// account's AuditRetentionDays at the write (retention.go).
	TTL int64 `dynamodbav:"ttl,omitempty"`
}

func marshalAudit(ev audit.Event, retentionDays int) (map[string]types.AttributeValue, error) {
	if ev.AccountID == "" || ev.Action == "" {
		return nil, fmt.Errorf("audit event needs an account and an action")
	}
	sk := key(timeKey(ev.Time), ev.ID)
	it := auditItem{
		PK: auditPK(ev.AccountID), SK: sk,
		Type: typeAudit, ID: ev.ID, AccountID: ev.AccountID, Time: ev.Time.UTC(),
		ActorID: ev.ActorID, ActorName: ev.ActorName, ImpersonatorID: ev.ImpersonatorID,
		Action: ev.Action, TargetType: ev.TargetType, TargetID: ev.TargetID,
		Before: string(ev.Before), After: string(ev.After), RequestID: ev.RequestID,
	}
	if retentionDays > 0 {
		it.TTL = ev.Time.Add(time.Duration(retentionDays) * 24 * time.Hour).Unix()
	}
	if ev.ActorID != "" {
		it.GSI1PK, it.GSI1SK = auditActorPK(ev.AccountID, ev.ActorID), sk
	}
	if ev.TargetID != "" {
		it.GSI2PK, it.GSI2SK = auditTargetPK(ev.AccountID, ev.TargetType, ev.TargetID), sk
	}
	return attributevalue.MarshalMap(it)
}

func (it auditItem) event() audit.Event {
	ev := audit.Event{
		ID: it.ID, AccountID: it.AccountID, Time: it.Time,
		ActorID: it.ActorID, ActorName: it.ActorName, ImpersonatorID: it.ImpersonatorID,
		Action: it.Action, TargetType: it.TargetType, TargetID: it.TargetID, RequestID: it.RequestID,
	}
	if it.Before != "" {
		ev.Before = json.RawMessage(it.Before)
	}
	if it.After != "" {
		ev.After = json.RawMessage(it.After)
	}
	return ev
}

// Page is one page of a list and the cursor of the next ("" at the end).
type Page[T any] struct {
	Items []T
	Next  string
}

// Page sizes of every list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

func pageSize(n int) int32 {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return int32(n)
}

// ListAudit lists an account's events, newest first, filtered by f, limit
// at a time (0 means the default), from the cursor of the previous page.
func (s *Store) ListAudit(ctx context.Context, account string, f audit.Filter, limit int, cursor string) (Page[audit.Event], error) {
	// The cursor is bound to the filter too: a page of one query cannot
	// continue another.
	list := strings.Join([]string{"audit", f.ActorID, f.TargetType, f.TargetID, f.Action, timeKey(f.From), timeKey(f.To)}, "\x00")
	start, err := s.cursors.Open(account, list, cursor)
	if err != nil {
		return Page[audit.Event]{}, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(pageSize(limit)),
		ExclusiveStartKey:         start,
		ExpressionAttributeNames:  map[string]string{},
		ExpressionAttributeValues: map[string]types.AttributeValue{},
	}
	pkAttr, skAttr, pk := AttrPK, AttrSK, auditPK(account)
	switch {
	case f.ActorID != "":
		in.IndexName = aws.String(IndexGSI1)
		pkAttr, skAttr, pk = AttrGSI1PK, AttrGSI1SK, auditActorPK(account, f.ActorID)
	case f.TargetID != "":
		in.IndexName = aws.String(IndexGSI2)
		pkAttr, skAttr, pk = AttrGSI2PK, AttrGSI2SK, auditTargetPK(account, f.TargetType, f.TargetID)
	}
	in.ExpressionAttributeNames["#pk"] = pkAttr
	in.ExpressionAttributeValues[":pk"] = str(pk)
	cond := "#pk = :pk"
	if !f.From.IsZero() || !f.To.IsZero() {
		from, to := "0", "9"
		if !f.From.IsZero() {
			from = timeKey(f.From)
		}
		if !f.To.IsZero() {
			to = timeKey(f.To) + sep + "~"
		}
		in.ExpressionAttributeNames["#sk"] = skAttr
		in.ExpressionAttributeValues[":from"] = str(from)
		in.ExpressionAttributeValues[":to"] = str(to)
		cond += " AND #sk BETWEEN :from AND :to"
	}
	in.KeyConditionExpression = aws.String(cond)
	var filters []string
	if f.Action != "" {
		in.ExpressionAttributeNames["#action"] = "action"
		in.ExpressionAttributeValues[":action"] = str(f.Action)
		filters = append(filters, "#action = :action")
	}
	if f.ActorID != "" && f.TargetID != "" {
		in.ExpressionAttributeNames["#tt"] = "targetType"
		in.ExpressionAttributeNames["#tid"] = "targetId"
		in.ExpressionAttributeValues[":tt"] = str(f.TargetType)
		in.ExpressionAttributeValues[":tid"] = str(f.TargetID)
		filters = append(filters, "#tt = :tt", "#tid = :tid")
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return Page[audit.Event]{}, fmt.Errorf("list audit: %w", err)
	}
	var items []auditItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return Page[audit.Event]{}, fmt.Errorf("list audit: %w", err)
	}
	page := Page[audit.Event]{Items: make([]audit.Event, 0, len(items))}
	for _, it := range items {
		page.Items = append(page.Items, it.event())
	}
	page.Next, err = s.cursors.Seal(account, list, out.LastEvaluatedKey)
	return page, err
}

// RecordActivity writes ev, a host app's activity record (POST
// /v1/activity), alone: its only other write checks that member, the
// member it is recorded for, is still a member of ev's account (any status
// but deleted: team.ErrMemberNotFound otherwise). On a store bound to an
// actor (Acting) the actor's check joins it, unless the actor is that
// member, whose own item the check already reads.
func (s *Store) RecordActivity(ctx context.Context, ev audit.Event, member string) (audit.Event, error) {
	if ev.ID == "" {
		ev.ID = NewID("ev")
	}
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	tx := NewTx(ev).Check(memberKey(ev.AccountID, member), ItemPresent(), team.ErrMemberNotFound)
	if err := s.Commit(ctx, tx); err != nil {
		return audit.Event{}, err
	}
	return ev, nil
}

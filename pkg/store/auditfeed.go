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
)

// AuditRecord is an audit event with its place in the account's log (its
// sort key), for readers that resume after it (the events feed).
type AuditRecord struct {
	Event audit.Event
	Key   string
}

// ErrAuditEventNotFound: no audit event with that id at that time (never
// written, or expired).
var ErrAuditEventNotFound = errors.New("audit event not found")

// ReadAuditFrom reads an account's audit events oldest first: the one at
// position from and those after it ("" for the oldest kept), written
// before until, at most limit (1 to MaxPageSize). more says a further
// read may find more before until.
func (s *Store) ReadAuditFrom(ctx context.Context, account, from string, until time.Time, limit int) (recs []AuditRecord, more bool, err error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(auditPK(account)), ":from": str(from), ":to": str(timeKey(until)),
		},
		Limit: aws.Int32(pageSize(limit)),
	}
	if from == "" {
		in.ExpressionAttributeValues[":from"] = str("0")
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, false, fmt.Errorf("read audit: %w", err)
	}
	var items []auditItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, false, fmt.Errorf("read audit: %w", err)
	}
	recs = make([]AuditRecord, 0, len(items))
	for _, it := range items {
		recs = append(recs, AuditRecord{Event: it.event(), Key: it.SK})
	}
	return recs, len(out.LastEvaluatedKey) > 0, nil
}

// AuditKeyAt returns the position of the first event written at or after
// t, for ReadAuditFrom.
func AuditKeyAt(t time.Time) string { return timeKey(t) }

// GetAuditEvent reads one audit event by its id and time.
func (s *Store) GetAuditEvent(ctx context.Context, account, id string, at time.Time) (audit.Event, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key:       map[string]types.AttributeValue{AttrPK: str(auditPK(account)), AttrSK: str(key(timeKey(at), id))},
	})
	if err != nil {
		return audit.Event{}, fmt.Errorf("get audit event: %w", err)
	}
	if out.Item == nil {
		return audit.Event{}, ErrAuditEventNotFound
	}
	var it auditItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return audit.Event{}, fmt.Errorf("get audit event: %w", err)
	}
	return it.event(), nil
}

// SealPosition seals a reader's position (string fields) into an opaque
// cursor bound to the account and list, as Cursors.Seal does for a key.
func (s *Store) SealPosition(account, list string, pos map[string]string) (string, error) {
	m := make(map[string]types.AttributeValue, len(pos))
	for k, v := range pos {
		m[k] = str(v)
	}
	return s.cursors.Seal(account, list, m)
}

// OpenPosition opens a cursor of SealPosition (nil for "";
// ErrBadCursor when it is not one sealed for this account and list).
func (s *Store) OpenPosition(account, list, cursor string) (map[string]string, error) {
	m, err := s.cursors.Open(account, list, cursor)
	if err != nil || m == nil {
		return nil, err
	}
	pos := make(map[string]string, len(m))
	for k, v := range m {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			pos[k] = sv.Value
		}
	}
	return pos, nil
}

// AuditFromImage reads an audit event from a new item image (of the
// table's stream); ok is false for an item that is not an audit event.
func AuditFromImage(image map[string]types.AttributeValue) (ev audit.Event, ok bool, err error) {
	if t, isS := image[AttrType].(*types.AttributeValueMemberS); !isS || t.Value != typeAudit {
		return audit.Event{}, false, nil
	}
	var it auditItem
	if err := attributevalue.UnmarshalMap(image, &it); err != nil {
		return audit.Event{}, false, fmt.Errorf("audit image: %w", err)
	}
	return it.event(), true, nil
}

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
)

// Idempotency records remember the answer to a creating POST sent with an
// Idempotency-Key, so that a retried request gets the same answer and
// creates nothing twice.
//
//	idempotency  pk IDEMPOTENCY#{account}#{caller}#{key}  sk IDEMPOTENCY  ttl
const prefixIdempotency = "IDEMPOTENCY"

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// idempotencyLease is how long an unfinished request blocks its key.
const idempotencyLease = time.Minute

// ErrIdempotencyInProgress: a request with this key is still running.
var ErrIdempotencyInProgress = errors.New("a request with this idempotency key is in progress")

// IdempotentResponse is a remembered answer.
type IdempotentResponse struct {
	// Fingerprint identifies the request (method, path, body hash), so a
	// key reused for another request can be refused.
	Fingerprint string
	Status      int
	ContentType string
	Location    string
	ETag        string
	Body        []byte
	Done        bool
}

type idempotencyItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Type        string `dynamodbav:"type"`
	Fingerprint string `dynamodbav:"fingerprint"`
	Status      int    `dynamodbav:"status,omitempty"`
	ContentType string `dynamodbav:"contentType,omitempty"`
	Location    string `dynamodbav:"location,omitempty"`
	ETag        string `dynamodbav:"etag,omitempty"`
	Body        []byte `dynamodbav:"body,omitempty"`
	Done        bool   `dynamodbav:"done"`
	StartedAt   int64  `dynamodbav:"startedAt"`
	TTL         int64  `dynamodbav:"ttl"`
}

func idempotencyKey(account, caller, k string) map[string]types.AttributeValue {
	return itemKey(key(prefixIdempotency, account, caller, k), prefixIdempotency)
}

// BeginIdempotent claims a key for a request. It answers (nil, nil) when
// this request may run; the remembered response when one is done; or
// ErrIdempotencyInProgress.
func (s *Store) BeginIdempotent(ctx context.Context, account, caller, k, fingerprint string) (*IdempotentResponse, error) {
	now := s.now()
	it := idempotencyItem{
		Type: "idempotency", Fingerprint: fingerprint, StartedAt: now.Unix(), TTL: now.Add(IdempotencyTTL).Unix(),
	}
	item := marshal(it)
	for k2, v := range idempotencyKey(account, caller, k) {
		item[k2] = v
	}
	err := s.put(ctx, "begin idempotent", item, &Cond{
		Expr:   "attribute_not_exists(#pk) OR (#done = :false AND #at < :stale)",
		Names:  map[string]string{"#pk": AttrPK, "#done": "done", "#at": "startedAt"},
		Values: map[string]types.AttributeValue{":false": &types.AttributeValueMemberBOOL{Value: false}, ":stale": num(now.Add(-idempotencyLease).Unix())},
	}, nil)
	var ce *ConditionError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &ce):
		var old idempotencyItem
		if err := attributevalue.UnmarshalMap(ce.Item, &old); err != nil {
			return nil, fmt.Errorf("begin idempotent: %w", err)
		}
		if !old.Done {
			return &IdempotentResponse{Fingerprint: old.Fingerprint}, ErrIdempotencyInProgress
		}
		return &IdempotentResponse{Fingerprint: old.Fingerprint, Status: old.Status, ContentType: old.ContentType, Location: old.Location, ETag: old.ETag, Body: old.Body, Done: true}, nil
	}
	return nil, err
}

// FinishIdempotent remembers the response of a claimed key. A failed
// request (4xx or 5xx) releases the key instead, so the client can fix and
// retry.
func (s *Store) FinishIdempotent(ctx context.Context, account, caller, k string, r IdempotentResponse) error {
	if r.Status >= 400 {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: idempotencyKey(account, caller, k)})
		if err != nil {
			return fmt.Errorf("release idempotency key: %w", err)
		}
		return nil
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: idempotencyKey(account, caller, k),
		UpdateExpression: aws.String("SET #done = :true, #st = :st, #ct = :ct, #loc = :loc, #etag = :etag, #body = :body"),
		ExpressionAttributeNames: map[string]string{
			"#done": "done", "#st": "status", "#ct": "contentType", "#loc": "location", "#etag": "etag", "#body": "body",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":true": &types.AttributeValueMemberBOOL{Value: true}, ":st": num(int64(r.Status)),
			":ct": str(r.ContentType), ":loc": str(r.Location), ":etag": str(r.ETag), ":body": &types.AttributeValueMemberB{Value: r.Body},
		},
	})
	if err != nil {
		return fmt.Errorf("finish idempotent: %w", err)
	}
	return nil
}

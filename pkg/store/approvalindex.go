package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
)

// Index keys of approval requests and documents, so that a filtered list
// reads only what it answers (a page of 200 covers hours of a busy
// account's requests: filtering after the page limit answered nearly
// empty pages and read the whole history to find the pending ones).
//
//	request   gsi2pk APPROVALS#{a}#STATUS#{status}       gsi2sk {request}   (every request; status lists)
//	request   gsi1pk APPROVALS#{a}#REQUESTER#{member}    gsi1sk {request}   (every request; "mine=requested")
//	awaiting  pk ACCOUNT#{a}  sk APPRWAIT#{member}#{request}  ttl           ("mine=decide"; ttl: awaitingTTL)
//	document  gsi3pk DUE#{a}#{docType}                   gsi3sk {dueDate}#{id}  (sparse: open documents with a due date)
//
// Request ids sort by creation time, so every request index answers
// newest first read backwards, like the account partition.
//
// Awaiting entries: one small item per member awaited at a pending
// request's current level (the request's "awaiting" set, which the
// approvals engine materialises when the level starts: members named
// directly, by role or by permission at the level's scope alike). They
// live in the account partition, so "waiting for me" is one strongly
// consistent query of the member's entries (and one more per member they
// stand in for as a delegate, see listAwaiting) plus one BatchGetItem of
// those requests; each request read is checked against its awaiting set, so an
// entry left behind by a race is never answered. Entries are written and
// removed with the set: AwaitLevel puts the level's entries and deletes
// the previous level's, RecordDecision deletes the decider's, ending a
// request deletes the rest, and OffboardMember moves a leaver's to the
// member taking its seats. They go in the same transaction while it has
// room (the common case: a level awaits a handful of members); a level
// awaiting more writes the remainder in BatchWriteItem calls right after
// (an await that fails there is retried by the workflow, and the puts
// are idempotent). Write cost: one write unit per awaited member when a
// level starts and one when they decide or the request ends.
//
// Items written before these keys existed: requests gain the status and
// requester keys when AwaitLevel or RecordDecision next writes them (and
// the status key when they end), documents their due keys when next put
// or requested; BackfillApprovalIndexes writes every key of an account
// at once (the migration step of a deployed table: infra/maintenance runs
// it once per account after deploying, behind a marker).
const (
	prefixApprovals = "APPROVALS"
	prefixAwaiting  = "APPRWAIT"
	prefixDue       = "DUE"
	typeAwaiting    = "approvalAwaiting"
)

func requestStatusPK(a string, st documents.RequestStatus) string {
	return key(prefixApprovals, a, "STATUS", string(st))
}
func requesterPK(a, member string) string { return key(prefixApprovals, a, "REQUESTER", member) }
func awaitingPrefix(member string) string { return key(prefixAwaiting, member) + sep }
func awaitingKey(a, member, request string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), awaitingPrefix(member)+request)
}
func duePK(a string, t rbac.DocType) string { return key(prefixDue, a, string(t)) }

// dueKeys returns a document's gsi3 keys: set only while it is open
// (draft, pending approval or approved) and has a due date.
func dueKeys(d documents.Document) (pk, sk string) {
	if d.DueDate == "" || !slices.Contains(openDocumentStatuses, d.Status) {
		return "", ""
	}
	return duePK(d.AccountID, d.Type), key(d.DueDate, d.ID)
}

type awaitingItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	RequestID string `dynamodbav:"requestId"`
	MemberID  string `dynamodbav:"memberId"`
	TTL       int64  `dynamodbav:"ttl,omitempty"`
}

// awaitingPut is the write of an awaiting entry; ttl (epoch seconds, 0:
// none) bounds its life in case the removal that ends the request misses
// it (see awaitingTTL).
func awaitingPut(a, member, request string, ttl int64) types.WriteRequest {
	k := awaitingKey(a, member, request)
	return types.WriteRequest{PutRequest: &types.PutRequest{Item: marshal(awaitingItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value,
		Type: typeAwaiting, RequestID: request, MemberID: member, TTL: ttl,
	})}}
}

// awaitingTTL is the TTL of the awaiting entries of a level started at
// now with timeoutSeconds to decide: the level ends by now+timeout, so the
// request (which then expires its DocumentRetentionDays after its end) is
// never younger than an entry that outlives its removal. The entries are
// removed when the request ends; the TTL only sweeps one a race or a
// crash between a commit and its remaining writes left behind.
func (s *Store) awaitingTTL(ctx context.Context, account string, now time.Time, timeoutSeconds int) int64 {
	days := s.retentionOf(ctx, account).documents
	return now.Add(time.Duration(timeoutSeconds)*time.Second + time.Duration(days)*24*time.Hour).Unix()
}

func awaitingDelete(a, member, request string) types.WriteRequest {
	return types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: awaitingKey(a, member, request)}}
}

// txRoom is how many more writes tx takes: the limit less its audit event
// and the actor check Commit may add.
func (tx *Tx) txRoom() int { return max(0, MaxTxItems-2-len(tx.items)) }

// addWrites adds as many of reqs as tx has room for and returns the rest,
// which the caller writes after the commit (writeRest).
func (tx *Tx) addWrites(reqs []types.WriteRequest) []types.WriteRequest {
	n := min(len(reqs), tx.txRoom())
	for _, r := range reqs[:n] {
		if r.PutRequest != nil {
			tx.Put(r.PutRequest.Item, nil, nil)
		} else {
			tx.Delete(r.DeleteRequest.Key, nil, nil)
		}
	}
	return reqs[n:]
}

// writeRest writes index entries that did not fit in a transaction.
func (s *Store) writeRest(ctx context.Context, reqs []types.WriteRequest) error {
	for start := 0; start < len(reqs); start += MaxBatchWrite {
		if err := s.batchWrite(ctx, reqs[start:min(start+MaxBatchWrite, len(reqs))]); err != nil {
			return fmt.Errorf("approval index entries: %w", err)
		}
	}
	return nil
}

// requestEnds is what ending a request must clean up or stamp, read from
// the request item before the change: the members it awaits and the sort
// keys of its decisions (the request's "decided" set, which
// RecordDecision adds to in the transaction that writes each decision).
type requestEnds struct {
	Awaiting []string `dynamodbav:"awaiting,stringset,omitempty"`
	Decided  []string `dynamodbav:"decided,stringset,omitempty"`
}

// awaitingOf reads the members a request awaits and its decisions (none
// when it does not exist): one strongly consistent read of two attributes
// of the request item.
func (s *Store) awaitingOf(ctx context.Context, account, request string) (requestEnds, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: approvalKey(account, request), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#aw, #dec"), ExpressionAttributeNames: map[string]string{"#aw": "awaiting", "#dec": "decided"},
	})
	if err != nil {
		return requestEnds{}, fmt.Errorf("read awaiting: %w", err)
	}
	var it requestEnds
	if err := attributevalue.UnmarshalMap(res.Item, &it); err != nil {
		return requestEnds{}, fmt.Errorf("read awaiting: %w", err)
	}
	return it, nil
}

// listAwaiting answers "waiting for me": the member's awaiting entries,
// newest request first, and those requests, each checked to be pending
// and still awaiting the member (and to match the rest of f).
//
// With f.AwaitingFor (the members the caller stands in for), the entries
// of each are read too, from the same request on (request ids sort by
// time, so one cursor, the last request answered, continues every
// member's entries), merged newest first, each request once, and cut at
// the limit: each member's next entries are older than its last read, so
// the page misses none.
func (s *Store) listAwaiting(ctx context.Context, account string, f RequestFilter, limit int, start map[string]types.AttributeValue) ([]documents.ApprovalRequest, map[string]types.AttributeValue, error) {
	members := append([]string{f.AwaitingID}, f.AwaitingFor...)
	after := ""
	if start != nil {
		sk, _ := start[AttrSK].(*types.AttributeValueMemberS)
		if sk == nil || !strings.HasPrefix(sk.Value, awaitingPrefix(f.AwaitingID)) {
			return nil, nil, ErrBadCursor
		}
		after = strings.TrimPrefix(sk.Value, awaitingPrefix(f.AwaitingID))
	}
	var entries []awaitingItem
	more := false
	for _, m := range members {
		in := &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(accountPK(account)), ":prefix": str(awaitingPrefix(m)),
			},
			Limit: aws.Int32(pageSize(limit)), ConsistentRead: aws.Bool(true),
			ScanIndexForward: aws.Bool(false),
		}
		if after != "" {
			in.ExclusiveStartKey = itemKey(accountPK(account), awaitingPrefix(m)+after)
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("list awaited requests: %w", err)
		}
		var es []awaitingItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &es); err != nil {
			return nil, nil, fmt.Errorf("list awaited requests: %w", err)
		}
		entries = append(entries, es...)
		more = more || len(out.LastEvaluatedKey) > 0
	}
	// Newest first, each request once, at most a page.
	slices.SortStableFunc(entries, func(a, b awaitingItem) int { return strings.Compare(b.RequestID, a.RequestID) })
	entries = slices.CompactFunc(entries, func(a, b awaitingItem) bool { return a.RequestID == b.RequestID })
	if n := int(pageSize(limit)); len(entries) > n {
		entries, more = entries[:n], true
	}
	var last map[string]types.AttributeValue
	if more && len(entries) > 0 {
		last = itemKey(accountPK(account), awaitingPrefix(f.AwaitingID)+entries[len(entries)-1].RequestID)
	}
	keys := make([]map[string]types.AttributeValue, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, approvalKey(account, e.RequestID))
	}
	raw, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("list awaited requests: %w", err)
	}
	byID := make(map[string]requestItem, len(raw))
	for _, r := range raw {
		var it requestItem
		if err := attributevalue.UnmarshalMap(r, &it); err != nil {
			return nil, nil, fmt.Errorf("list awaited requests: %w", err)
		}
		byID[it.ID] = it
	}
	items := make([]documents.ApprovalRequest, 0, len(entries))
	for _, e := range entries {
		it, ok := byID[e.RequestID]
		switch {
		case !ok, it.Status != string(documents.RequestPending), !slices.ContainsFunc(members, func(m string) bool { return slices.Contains(it.Awaiting, m) }),
			f.Status != "" && it.Status != string(f.Status), f.RequesterID != "" && it.RequesterID != f.RequesterID:
			continue
		}
		items = append(items, it.request())
	}
	return items, last, nil
}

// BackfillApprovalIndexes gives an account's approval requests and
// documents written before the index keys existed their keys: every
// request its status and requester keys (each update conditional on the
// status read, so a request that moved meanwhile is left to the write
// that moved it), every pending request its awaiting entries, every open
// document with a due date its due keys, and every decision of an ended
// request that has no TTL the request's (stampDecisions). It reads the
// account's requests and documents once (and the decisions of each ended
// request) and is safe to run again; it is the migration step of a
// deployed table (infra/maintenance runs it once per account).
func (s *Store) BackfillApprovalIndexes(ctx context.Context, account string) error {
	for _, prefix := range []string{prefixApproval + sep, prefixDocument + sep} {
		var start map[string]types.AttributeValue
		for {
			res, err := s.db.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(s.table),
				KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
				ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":prefix": str(prefix)},
				ExclusiveStartKey:         start, ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				return fmt.Errorf("backfill approval indexes: %w", err)
			}
			for _, raw := range res.Items {
				if err := s.backfillItem(ctx, account, raw); err != nil {
					return fmt.Errorf("backfill approval indexes: %w", err)
				}
			}
			if len(res.LastEvaluatedKey) == 0 {
				break
			}
			start = res.LastEvaluatedKey
		}
	}
	return nil
}

func (s *Store) backfillItem(ctx context.Context, account string, raw map[string]types.AttributeValue) error {
	var set map[string]string
	var status string
	var entries []types.WriteRequest
	switch t, _ := raw[AttrType].(*types.AttributeValueMemberS); {
	case t == nil:
		return nil
	case t.Value == typeApproval:
		var it requestItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return err
		}
		status = it.Status
		set = map[string]string{
			AttrGSI1PK: requesterPK(account, it.RequesterID), AttrGSI1SK: it.ID,
			AttrGSI2PK: requestStatusPK(account, documents.RequestStatus(it.Status)), AttrGSI2SK: it.ID,
		}
		if it.Status == string(documents.RequestPending) {
			ttl := s.awaitingTTL(ctx, account, s.now(), it.TimeoutSeconds)
			for _, m := range it.Awaiting {
				entries = append(entries, awaitingPut(account, m, it.ID, ttl))
			}
		} else if ttl, ok := raw[AttrTTL]; ok {
			if err := s.stampDecisions(ctx, account, it.ID, ttl); err != nil {
				return err
			}
		}
	case t.Value == typeDocument:
		var it documentItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return err
		}
		status = it.Status
		if pk, sk := dueKeys(it.document()); pk != "" {
			set = map[string]string{AttrGSI3PK: pk, AttrGSI3SK: sk}
		}
	}
	if len(set) > 0 {
		expr, names := "SET ", map[string]string{"#st": "status"}
		values := map[string]types.AttributeValue{":st": str(status)}
		i := 0
		for a, v := range set {
			if i > 0 {
				expr += ", "
			}
			n, ph := fmt.Sprintf("#k%d", i), fmt.Sprintf(":k%d", i)
			expr += n + " = " + ph
			names[n], values[ph] = a, str(v)
			i++
		}
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: itemKey(raw[AttrPK].(*types.AttributeValueMemberS).Value, raw[AttrSK].(*types.AttributeValueMemberS).Value),
			UpdateExpression: aws.String(expr), ConditionExpression: aws.String("#st = :st"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
		var failed *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &failed) {
			return err
		}
	}
	return s.writeRest(ctx, entries)
}

// stampDecisions gives the decisions of an ended request that have no TTL
// the request's ttl: decisions written before the request named them
// (its "decided" set), which its end could not stamp. One query of the
// request's decisions (keys and TTL only).
func (s *Store) stampDecisions(ctx context.Context, account, request string, ttl types.AttributeValue) error {
	var start map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK, "#ttl": AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":prefix": str(decisionPrefix(request))},
			ProjectionExpression:      aws.String("#pk, #sk, #ttl"),
			ExclusiveStartKey:         start, ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return err
		}
		var keys []map[string]types.AttributeValue
		for _, raw := range res.Items {
			if _, ok := raw[AttrTTL]; !ok {
				keys = append(keys, itemKey(raw[AttrPK].(*types.AttributeValueMemberS).Value, raw[AttrSK].(*types.AttributeValueMemberS).Value))
			}
		}
		if err := s.finishRest(ctx, afterEnd{stamps: keys, ttl: ttl}); err != nil {
			return err
		}
		if len(res.LastEvaluatedKey) == 0 {
			return nil
		}
		start = res.LastEvaluatedKey
	}
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
)

// An approval request's timers: the workflow's Tick step records when
// the current level started counting (timerLevel, levelStartedAt), the
// reminders it sent (reminders) and its escalation (escalatedLevel), so
// that a Tick run again repeats nothing.

// StartLevelTimers records that level's reminders and escalation count
// from at (no reminder sent yet), unless they already count for that
// level or the request ended: then it writes nothing and returns nil.
func (s *Store) StartLevelTimers(ctx context.Context, account, id string, level int, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 approvalKey(account, id),
		UpdateExpression:    aws.String("SET #tl = :l, #lsa = :at, #rem = :zero"),
		ConditionExpression: aws.String("#st = :pending AND (attribute_not_exists(#tl) OR #tl <> :l)"),
		ExpressionAttributeNames: map[string]string{
			"#tl": "timerLevel", "#lsa": "levelStartedAt", "#rem": "reminders", "#st": "status",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":l": num(int64(level)), ":at": timeAV(at), ":zero": num(0), ":pending": str(string(documents.RequestPending)),
		},
	})
	if conditionFailed(err, nil) != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start level timers: %w", err)
	}
	return nil
}

// RecordReminder records that reminder n of level went out, where the
// request holds reminder prev (its Reminders as read): false, with
// nothing written, when another reminder was recorded meanwhile, the
// level's timers count for another level or the request ended.
func (s *Store) RecordReminder(ctx context.Context, account, id string, level, prev, n int) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 approvalKey(account, id),
		UpdateExpression:    aws.String("SET #rem = :n"),
		ConditionExpression: aws.String("#st = :pending AND #tl = :l AND #rem = :prev"),
		ExpressionAttributeNames: map[string]string{
			"#rem": "reminders", "#tl": "timerLevel", "#st": "status",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": num(int64(n)), ":prev": num(int64(prev)), ":l": num(int64(level)), ":pending": str(string(documents.RequestPending)),
		},
	})
	if conditionFailed(err, nil) != nil {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record reminder: %w", err)
	}
	return true, nil
}

// ErrAlreadyEscalated: the level was escalated already.
var ErrAlreadyEscalated = errors.New("the level was escalated already")

// ErrRequestChanged: the request changed since it was read (a decision,
// a hand-over); nothing was written. Read it again.
var ErrRequestChanged = errors.New("the approval request changed since it was read")

// EscalateLevel records the escalation of level, the request's current
// level, in one transaction with its audit event ev: asked is everyone
// asked (every level, the escalation's approvers included), added the
// member ids it adds to those the level awaits (their awaiting entries
// are written too). asked replaces the request's list, so the request
// must be at r.Version, the version asked was built from (a hand-over
// committed meanwhile is not undone). documents.ErrRequestNotPending
// when the request ended or moved to another level, ErrAlreadyEscalated
// when the level was escalated already, ErrRequestChanged when it
// changed otherwise since r was read.
func (s *Store) EscalateLevel(ctx context.Context, r documents.ApprovalRequest, level int, asked []documents.Approver, added []string, ev audit.Event) error {
	tx := NewTx(ev)
	expr := "SET #esc = :l, #asked = :asked, #upd = :now, #ver = #ver + :one"
	names := map[string]string{"#esc": "escalatedLevel", "#asked": "asked", "#upd": "updatedAt", "#ver": AttrVersion}
	values := map[string]types.AttributeValue{
		":l": num(int64(level)), ":asked": mustMarshal(toApproverItems(asked)), ":now": timeAV(s.now()), ":one": num(1),
	}
	if len(added) > 0 {
		expr += " ADD #aw :aw"
		names["#aw"] = "awaiting"
		values[":aw"] = &types.AttributeValueMemberSS{Value: added}
	}
	cond := requestPending()
	cond.Expr += " AND #lvl = :l AND (attribute_not_exists(#esc) OR #esc <> :l) AND #ver = :ver"
	cond.Names["#lvl"], cond.Names["#esc"], cond.Names["#ver"] = "level", "escalatedLevel", AttrVersion
	cond.Values[":ver"] = num(r.Version)
	tx.Update(approvalKey(r.AccountID, r.ID), Cond{Expr: expr, Names: names, Values: values}, cond, errNotEscalable)
	ttl := s.awaitingTTL(ctx, r.AccountID, s.now(), r.TimeoutSeconds)
	var entries []types.WriteRequest
	for _, m := range added {
		entries = append(entries, awaitingPut(r.AccountID, m, r.ID, ttl))
	}
	rest := tx.addWrites(entries)
	if err := s.Commit(ctx, tx); errors.Is(err, errNotEscalable) {
		cur, gerr := s.GetApprovalRequest(ctx, r.AccountID, r.ID)
		switch {
		case errors.Is(gerr, documents.ErrRequestNotFound):
			return documents.ErrRequestNotPending
		case gerr != nil:
			return fmt.Errorf("escalate level: %w", gerr)
		case cur.Status != documents.RequestPending || cur.Level != level:
			return documents.ErrRequestNotPending
		case cur.EscalatedLevel == level:
			return ErrAlreadyEscalated
		}
		return ErrRequestChanged
	} else if err != nil {
		return err
	}
	return s.writeRest(ctx, rest)
}

var errNotEscalable = errors.New("the request is not pending at that level, or the level was escalated")

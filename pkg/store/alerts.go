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

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// What the scheduled alert job reads and writes.
//
// Every account item carries gsi1pk ACCOUNTS / gsi1sk {account}, so that
// the job lists the accounts with one query of gsi1. (Account items
// written before this entry existed are not listed: a local data folder
// from before the alerts feature needs a fresh `make run`.)
//
//	account  gsi1pk ACCOUNTS  gsi1sk {a}
const accountsPK = "ACCOUNTS"

// ListAccounts calls fn with every account, in id order, reading gsi1 a
// page at a time; an error from fn stops the listing and is returned.
func (s *Store) ListAccounts(ctx context.Context, fn func(team.Account) error) error {
	var start map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(IndexGSI1),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountsPK)},
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		var items []accountItem
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		for _, it := range items {
			if err := fn(it.account()); err != nil {
				return err
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return nil
		}
		start = res.LastEvaluatedKey
	}
}

// AllMembers returns every live member of an account (every status but
// deleted: see DeleteMember), reading the account's member items page by
// page.
func (s *Store) AllMembers(ctx context.Context, account string) ([]team.Member, error) {
	var out []team.Member
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, s.membersQuery(account, 1000, start))
		if err != nil {
			return nil, fmt.Errorf("all members: %w", err)
		}
		members, err := decodeMembers(page.Items)
		if err != nil {
			return nil, err
		}
		out = append(out, members...)
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// listAlertMembers is the name the alert preview's cursors are sealed
// with: a cursor of the member list does not page the preview.
const listAlertMembers = "alertMembers"

// AlertMembersPage returns one page of the account's live members (every
// status but deleted, in id order) for the alert preview: at most limit (pageSize),
// and the cursor of the next page, sealed for the preview only.
func (s *Store) AlertMembersPage(ctx context.Context, account string, limit int, cursor string) (Page[team.Member], error) {
	start, err := s.cursors.Open(account, listAlertMembers, cursor)
	if err != nil {
		return Page[team.Member]{}, err
	}
	out, err := s.db.Query(ctx, s.membersQuery(account, pageSize(limit), start))
	if err != nil {
		return Page[team.Member]{}, fmt.Errorf("alert members: %w", err)
	}
	members, err := decodeMembers(out.Items)
	if err != nil {
		return Page[team.Member]{}, err
	}
	page := Page[team.Member]{Items: members}
	page.Next, err = s.cursors.Seal(account, listAlertMembers, out.LastEvaluatedKey)
	return page, err
}

// openDocumentStatuses are the document statuses that still need someone
// to act on a due date.
var openDocumentStatuses = []rbac.DocStatus{rbac.DocDraft, rbac.DocPendingApproval, rbac.DocApproved}

// DueDocuments returns the account's documents of type t that have a due
// date on or before until (YYYY-MM-DD) and are still open (draft, pending
// approval or approved), in id order. It reads only those documents, from
// the sparse due index (gsi3, keys DUE#{a}#{type} / {dueDate}#{id}, see
// approvalindex.go), eventually consistent like every GSI read.
func (s *Store) DueDocuments(ctx context.Context, account string, t rbac.DocType, until string) ([]documents.Document, error) {
	var out []documents.Document
	var start map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			IndexName:                aws.String(IndexGSI3),
			KeyConditionExpression:   aws.String("#pk = :pk AND #sk < :after"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrGSI3PK, "#sk": AttrGSI3SK},
			// "$" sorts just after the "#" that ends the date part.
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(duePK(account, t)), ":after": str(until + "$")},
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("due documents: %w", err)
		}
		var items []documentItem
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
			return nil, fmt.Errorf("due documents: %w", err)
		}
		for _, it := range items {
			if it.DueDate != "" && slices.Contains(openDocumentStatuses, rbac.DocStatus(it.Status)) {
				out = append(out, it.document())
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			slices.SortFunc(out, func(a, b documents.Document) int { return strings.Compare(a.ID, b.ID) })
			return out, nil
		}
		start = res.LastEvaluatedKey
	}
}

// PendingApproval is a pending approval request with the members asked at
// its current level who have not decided yet.
type PendingApproval struct {
	Request  documents.ApprovalRequest
	Awaiting []string
}

// PendingApprovals returns the account's pending approval requests
// created before before, oldest first, with who may still decide each.
// It reads only pending requests, from the status index (gsi2).
func (s *Store) PendingApprovals(ctx context.Context, account string, before time.Time) ([]PendingApproval, error) {
	var out []PendingApproval
	var start map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(IndexGSI2),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI2PK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(requestStatusPK(account, documents.RequestPending))},
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("pending approvals: %w", err)
		}
		var items []requestItem
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
			return nil, fmt.Errorf("pending approvals: %w", err)
		}
		for _, it := range items {
			if it.Status == string(documents.RequestPending) && it.CreatedAt.Before(before) {
				out = append(out, PendingApproval{Request: it.request(), Awaiting: append([]string(nil), it.Awaiting...)})
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = res.LastEvaluatedKey
	}
}

// UnsubscribeSubject is the subject of a member's unsubscribe token.
func UnsubscribeSubject(account, member string) string { return account + "/" + member }

// IssueUnsubscribeToken makes t (kind TokenUnsubscribe, subject
// UnsubscribeSubject) the member's current unsubscribe token. It writes no
// audit event: issuing a link changes nothing a person sees; using it does
// (Unsubscribe).
func (s *Store) IssueUnsubscribeToken(ctx context.Context, t Token) error {
	if t.Kind != TokenUnsubscribe {
		return fmt.Errorf("issue unsubscribe token: kind %q", t.Kind)
	}
	tx := (&Tx{}).IssueToken(t)
	for i := range tx.items {
		s.setTable(&tx.items[i])
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx.items})
	return mapWriteError("issue unsubscribe token", err, tx.onFail)
}

// Alert kinds a member may turn off, as their notification attribute
// names on the member item.
var alertOffAttr = map[string]string{
	"lowStock":         "lowStockOff",
	"duePurchaseOrder": "duePurchaseOrderOff",
	"dueSalesOrder":    "dueSalesOrderOff",
	"paymentReminder":  "paymentReminderOff",
	"approvalReminder": "approvalReminderOff",
}

// AlertKinds lists the alert kinds Unsubscribe accepts.
func AlertKinds() []string {
	return []string{"lowStock", "duePurchaseOrder", "dueSalesOrder", "paymentReminder", "approvalReminder"}
}

// Unsubscribe consumes the unsubscribe token hash of member in account and
// turns the alert kinds off on the member, with ev, in one transaction.
// The token must be the member's current, unused, unexpired one
// (ErrTokenInvalid otherwise; TokenFailure tells why); a member that no
// longer exists is team.ErrMemberNotFound.
func (s *Store) Unsubscribe(ctx context.Context, hash, account, member string, kinds []string, now time.Time, ev audit.Event) error {
	if len(kinds) == 0 {
		return fmt.Errorf("unsubscribe: no kinds")
	}
	expr := "SET #ver = #ver + :one, #upd = :now"
	names := map[string]string{"#ver": AttrVersion, "#upd": "updatedAt"}
	values := map[string]types.AttributeValue{
		":one": num(1), ":now": timeAV(now), ":true": &types.AttributeValueMemberBOOL{Value: true},
	}
	for i, k := range kinds {
		attr, ok := alertOffAttr[k]
		if !ok {
			return fmt.Errorf("unsubscribe: unknown alert kind %q", k)
		}
		ph := fmt.Sprintf("#k%d", i)
		names[ph] = attr
		expr += ", " + ph + " = :true"
	}
	var err error
	// A deleted member's item is at DELETED#{m}: tried when the live key
	// has none (the failed transaction wrote nothing, the token included).
	for _, k := range []map[string]types.AttributeValue{memberKey(account, member), deletedMemberKey(account, member)} {
		tx := NewTx(ev)
		tx.ConsumeToken(hash, TokenUnsubscribe, UnsubscribeSubject(account, member), now)
		tx.Update(k, Cond{Expr: expr, Names: names, Values: values}, ItemPresent(), team.ErrMemberNotFound)
		if err = s.Commit(ctx, tx); !errors.Is(err, team.ErrMemberNotFound) {
			return err
		}
	}
	return err
}

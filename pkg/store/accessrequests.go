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
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Access requests (pkg/access): a member asks for a role at a scope.
//
//	request  pk ACCOUNT#{a}  sk ACCESSREQ#{request}                     ttl once ended
//	entry    pk ACCOUNT#{a}  sk ACCESSINV#{member}#{request}            ttl
//	pending  pk ACCOUNT#{a}  sk ACCESSPEND#{member}#{role}@{scope}      (one pending request per member, role and scope)
//	awaiting pk ACCOUNT#{a}  sk ACCESSWAIT#{member}#{request}           ttl (pending requests a member is asked to decide)
//
// Entries name the requests a member is involved in: the requester's is
// written with the request, each asked member's when the workflow starts
// waiting (AwaitAccessRequest; in the transaction while it has room, the
// rest in BatchWriteItem calls right after). So "mine, and those I may
// decide" is one strongly consistent query of the member's entries, newest
// first (request ids sort by creation time), plus one BatchGetItem of those
// requests. Entries expire (TTL) the account's DocumentRetentionDays after
// the request's deadline, like the ended request itself (its TTL is set
// when it ends); the only removal is an offboarding's handover
// (OffboardMember): the leaver's approver entry goes, the reassignee's is
// put.
//
// Awaiting entries ("mine=decide", and the duties an offboarding hands
// over) name only the pending requests a member is asked to decide, like
// approvals' APPRWAIT entries: the approver entries stay for the
// retention period (administrators get one for every request of the
// account), so reading those for the pending ones read the whole history.
// AwaitAccessRequest puts one per asked member beside its approver entry;
// every ending (decision, cancellation, expiry) deletes them, in its
// transaction while it has room (the members asked as the caller read
// the request), the rest right after, together with those of members a
// hand-over added meanwhile (the ended request read again); OffboardMember
// moves the leaver's to the member taking its seat. Their TTL (a day
// after the request's deadline) only sweeps one a crash left behind, and
// every read checks the request is pending and asks the member
// (ListAccessAwaiting, AccessDuties).
//
// A decision by a delegate on a member's behalf records both (deciderId:
// the delegate; onBehalfOfId, onBehalfOfName: the member) and is
// conditioned on the member's item and delegation as read
// (DecideAccessRequestOnBehalf).
//
// The pending item is written with the request, on the condition that no
// other pending request holds it (or that one's deadline passed: a removal
// a crash missed never blocks the member for long), and deleted by every
// ending (decision, cancellation, expiry), in the same transaction.
const (
	prefixAccessRequest = "ACCESSREQ"
	prefixAccessEntry   = "ACCESSINV"
	prefixAccessPending = "ACCESSPEND"
	prefixAccessWait    = "ACCESSWAIT"
	typeAccessWait      = "accessAwaiting"
	typeAccessRequest   = "accessRequest"
	typeAccessEntry     = "accessEntry"
	typeAccessPending   = "accessPending"
	// TokenAccessRequest is the kind of an access request's emailed
	// decision link.
	TokenAccessRequest = "access_request"
	// AccessRequestIDPrefix starts every access request id (and so the
	// name of its workflow execution).
	AccessRequestIDPrefix = "acr_"
)

// NewAccessRequestID returns a new access request id: the prefix, then
// the creation time in hex (so ids sort by time), then randomness.
func NewAccessRequestID(now time.Time) string {
	return fmt.Sprintf("%s%013x%s", AccessRequestIDPrefix, now.UnixMilli(), NewID("")[1:13])
}

func accessRequestKey(a, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixAccessRequest, id))
}
func accessEntryPrefix(member string) string { return key(prefixAccessEntry, member) + sep }
func accessEntryKey(a, member, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), accessEntryPrefix(member)+id)
}
func accessWaitPrefix(member string) string { return key(prefixAccessWait, member) + sep }
func accessWaitKey(a, member, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), accessWaitPrefix(member)+id)
}

// accessWaitPut is the write of member's awaiting entry of pending request
// r; its TTL (a day after r's deadline) only sweeps one an ending missed.
func accessWaitPut(r team.AccessRequest, member string) types.WriteRequest {
	k := accessWaitKey(r.AccountID, member, r.ID)
	return types.WriteRequest{PutRequest: &types.PutRequest{Item: marshal(awaitingItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value,
		Type: typeAccessWait, RequestID: r.ID, MemberID: member, TTL: r.DecideBy.Add(24 * time.Hour).Unix(),
	})}}
}

func accessWaitDelete(a, member, id string) types.WriteRequest {
	return types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: accessWaitKey(a, member, id)}}
}

func accessPendingKey(a, member, role string, scope rbac.Scope) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixAccessPending, member, role+"@"+scope.String()))
}

type accessAskedItem struct {
	MemberID string `dynamodbav:"memberId"`
	Name     string `dynamodbav:"name,omitempty"`
	Email    string `dynamodbav:"email,omitempty"`
	AskedAt  string `dynamodbav:"askedAt,omitempty"`
}

type accessItem struct {
	PK             string            `dynamodbav:"pk"`
	SK             string            `dynamodbav:"sk"`
	Type           string            `dynamodbav:"type"`
	ID             string            `dynamodbav:"id"`
	AccountID      string            `dynamodbav:"accountId"`
	RequesterID    string            `dynamodbav:"requesterId"`
	RequesterName  string            `dynamodbav:"requesterName,omitempty"`
	RequesterEmail string            `dynamodbav:"requesterEmail,omitempty"`
	Role           string            `dynamodbav:"role"`
	Scope          string            `dynamodbav:"scope"`
	Reason         string            `dynamodbav:"reason,omitempty"`
	ExpiresAt      string            `dynamodbav:"expiresAt,omitempty"`
	Status         string            `dynamodbav:"status"`
	DecideBy       string            `dynamodbav:"decideBy"`
	Asked          []accessAskedItem `dynamodbav:"asked,omitempty"`
	Awaiting       []string          `dynamodbav:"awaiting,stringset,omitempty"`
	TaskToken      string            `dynamodbav:"taskToken,omitempty"`
	DeciderID      string            `dynamodbav:"deciderId,omitempty"`
	DeciderName    string            `dynamodbav:"deciderName,omitempty"`
	ImpersonatorID string            `dynamodbav:"impersonatorId,omitempty"`
	OnBehalfOfID   string            `dynamodbav:"onBehalfOfId,omitempty"`
	OnBehalfOfName string            `dynamodbav:"onBehalfOfName,omitempty"`
	Comment        string            `dynamodbav:"comment,omitempty"`
	ByLink         bool              `dynamodbav:"byLink,omitempty"`
	GrantExpiresAt string            `dynamodbav:"grantExpiresAt,omitempty"`
	CreatedAt      string            `dynamodbav:"createdAt"`
	UpdatedAt      string            `dynamodbav:"updatedAt"`
	FinishedAt     string            `dynamodbav:"finishedAt,omitempty"`
	TTL            int64             `dynamodbav:"ttl,omitempty"`
}

func accessTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseAccessTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func toAccessItem(r team.AccessRequest) accessItem {
	k := accessRequestKey(r.AccountID, r.ID)
	it := accessItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value, Type: typeAccessRequest,
		ID: r.ID, AccountID: r.AccountID, RequesterID: r.RequesterID, RequesterName: r.RequesterName, RequesterEmail: r.RequesterEmail,
		Role: r.Role, Scope: r.Scope.String(), Reason: r.Reason, ExpiresAt: accessTime(r.ExpiresAt), Status: string(r.Status),
		DecideBy: accessTime(r.DecideBy), TaskToken: r.TaskToken, DeciderID: r.DeciderID, DeciderName: r.DeciderName,
		ImpersonatorID: r.ImpersonatorID, OnBehalfOfID: r.OnBehalfOfID, OnBehalfOfName: r.OnBehalfOfName, Comment: r.Comment, ByLink: r.ByLink, GrantExpiresAt: accessTime(r.GrantExpiresAt),
		CreatedAt: accessTime(r.CreatedAt), UpdatedAt: accessTime(r.UpdatedAt), FinishedAt: accessTime(r.FinishedAt),
	}
	for _, a := range r.Asked {
		it.Asked = append(it.Asked, accessAskedItem{MemberID: a.MemberID, Name: a.Name, Email: a.Email, AskedAt: accessTime(a.AskedAt)})
	}
	return it
}

func (it accessItem) request() team.AccessRequest {
	scope, _ := rbac.ParseScope(it.Scope)
	r := team.AccessRequest{
		ID: it.ID, AccountID: it.AccountID, RequesterID: it.RequesterID, RequesterName: it.RequesterName, RequesterEmail: it.RequesterEmail,
		Role: it.Role, Scope: scope, Reason: it.Reason, ExpiresAt: parseAccessTime(it.ExpiresAt), Status: team.AccessStatus(it.Status),
		DecideBy: parseAccessTime(it.DecideBy), TaskToken: it.TaskToken, DeciderID: it.DeciderID, DeciderName: it.DeciderName,
		ImpersonatorID: it.ImpersonatorID, OnBehalfOfID: it.OnBehalfOfID, OnBehalfOfName: it.OnBehalfOfName, Comment: it.Comment, ByLink: it.ByLink, GrantExpiresAt: parseAccessTime(it.GrantExpiresAt),
		CreatedAt: parseAccessTime(it.CreatedAt), UpdatedAt: parseAccessTime(it.UpdatedAt), FinishedAt: parseAccessTime(it.FinishedAt),
	}
	for _, a := range it.Asked {
		r.Asked = append(r.Asked, team.AccessApprover{MemberID: a.MemberID, Name: a.Name, Email: a.Email, AskedAt: parseAccessTime(a.AskedAt)})
	}
	return r
}

type accessEntryItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	RequestID string `dynamodbav:"requestId"`
	MemberID  string `dynamodbav:"memberId"`
	// As is "requester" or "approver".
	As  string `dynamodbav:"as"`
	TTL int64  `dynamodbav:"ttl,omitempty"`
}

func accessEntry(a, member, id, as string, ttl int64) map[string]types.AttributeValue {
	k := accessEntryKey(a, member, id)
	return marshal(accessEntryItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value,
		Type: typeAccessEntry, RequestID: id, MemberID: member, As: as, TTL: ttl,
	})
}

// accessTTL is when what a request leaves behind may go: the account's
// document retention after t.
func (s *Store) accessTTL(ctx context.Context, account string, t time.Time) int64 {
	return t.Add(time.Duration(s.retentionOf(ctx, account).documents) * 24 * time.Hour).Unix()
}

// CreateAccessRequest writes a new pending request r, its requester's
// entry and its pending item, with ev. Another pending request of the
// requester for the same role and scope is team.ErrAccessRequestDuplicate.
func (s *Store) CreateAccessRequest(ctx context.Context, r team.AccessRequest, ev audit.Event) error {
	tx := NewTx(ev)
	tx.Put(marshal(toAccessItem(r)), ItemAbsent(), nil)
	pend := accessPendingKey(r.AccountID, r.RequesterID, r.Role, r.Scope)
	pend[AttrType] = str(typeAccessPending)
	pend["requestId"] = str(r.ID)
	pend["until"] = num(r.DecideBy.Unix())
	pend[AttrTTL] = num(r.DecideBy.Add(24 * time.Hour).Unix())
	tx.Put(pend, &Cond{
		Expr: "attribute_not_exists(#pk) OR #until < :now", Names: map[string]string{"#pk": AttrPK, "#until": "until"},
		Values: map[string]types.AttributeValue{":now": num(r.CreatedAt.Unix())},
	}, team.ErrAccessRequestDuplicate)
	tx.Put(accessEntry(r.AccountID, r.RequesterID, r.ID, "requester", s.accessTTL(ctx, r.AccountID, r.DecideBy)), nil, nil)
	return s.Commit(ctx, tx)
}

// GetAccessRequest reads a request (strongly consistent).
func (s *Store) GetAccessRequest(ctx context.Context, account, id string) (team.AccessRequest, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: accessRequestKey(account, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return team.AccessRequest{}, fmt.Errorf("get access request: %w", err)
	}
	if out.Item == nil {
		return team.AccessRequest{}, team.ErrAccessRequestNotFound
	}
	var it accessItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return team.AccessRequest{}, fmt.Errorf("get access request: %w", err)
	}
	if it.Type != typeAccessRequest {
		return team.AccessRequest{}, team.ErrAccessRequestNotFound
	}
	return it.request(), nil
}

func pendingCond() *Cond {
	return &Cond{Expr: "#st = :pending", Names: map[string]string{"#st": "status"},
		Values: map[string]types.AttributeValue{":pending": str(string(team.AccessPending))}}
}

// AwaitAccessRequest stores the workflow's task token of a pending
// request and who is asked (r.Asked), and writes each asked member's
// entry and awaiting entry. A request no longer pending is
// team.ErrAccessRequestNotPending.
func (s *Store) AwaitAccessRequest(ctx context.Context, r team.AccessRequest, token string, asked []team.AccessApprover, ev audit.Event) error {
	r.Asked = asked
	it := toAccessItem(r)
	av, err := attributevalue.Marshal(it.Asked)
	if err != nil {
		return fmt.Errorf("await access request: %w", err)
	}
	if len(it.Asked) == 0 {
		av = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	}
	u := Cond{
		Expr:   "SET #tok = :tok, #asked = :asked, #upd = :now",
		Names:  map[string]string{"#tok": "taskToken", "#asked": "asked", "#upd": "updatedAt"},
		Values: map[string]types.AttributeValue{":tok": str(token), ":asked": av, ":now": timeAV(s.now())},
	}
	var ids []string
	for _, a := range asked {
		ids = append(ids, a.MemberID)
	}
	if len(ids) > 0 {
		u.Expr += ", #aw = :aw"
		u.Names["#aw"] = "awaiting"
		u.Values[":aw"] = &types.AttributeValueMemberSS{Value: ids}
	}
	tx := NewTx(ev)
	tx.Update(accessRequestKey(r.AccountID, r.ID), u, pendingCond(), team.ErrAccessRequestNotPending)
	ttl := s.accessTTL(ctx, r.AccountID, r.DecideBy)
	var reqs []types.WriteRequest
	for _, id := range ids {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: accessEntry(r.AccountID, id, r.ID, "approver", ttl)}},
			accessWaitPut(r, id))
	}
	rest := tx.addWrites(reqs)
	if err := s.Commit(ctx, tx); err != nil {
		return err
	}
	return s.writeRest(ctx, rest)
}

// endAccess adds to tx the end of pending request r as it is now
// (status, decision fields, finishedAt): the request item, on the
// condition that it is still pending, and the removal of its pending item.
func (s *Store) endAccess(ctx context.Context, tx *Tx, r team.AccessRequest) {
	u := Cond{
		Expr: "SET #st = :st, #fin = :fin, #upd = :fin, #ttl = :ttl",
		Names: map[string]string{
			"#st": "status", "#fin": "finishedAt", "#upd": "updatedAt", "#ttl": AttrTTL,
		},
		Values: map[string]types.AttributeValue{
			":st": str(string(r.Status)), ":fin": timeAV(r.FinishedAt), ":ttl": num(s.accessTTL(ctx, r.AccountID, r.FinishedAt)),
		},
	}
	set := func(name, v string) {
		if v == "" {
			return
		}
		u.Expr += ", #" + name + " = :" + name
		u.Names["#"+name] = name
		u.Values[":"+name] = str(v)
	}
	set("deciderId", r.DeciderID)
	set("deciderName", r.DeciderName)
	set("impersonatorId", r.ImpersonatorID)
	set("onBehalfOfId", r.OnBehalfOfID)
	set("onBehalfOfName", r.OnBehalfOfName)
	set("comment", r.Comment)
	set("grantExpiresAt", accessTime(r.GrantExpiresAt))
	if r.ByLink {
		u.Expr += ", #byLink = :byLink"
		u.Names["#byLink"] = "byLink"
		u.Values[":byLink"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	tx.Update(accessRequestKey(r.AccountID, r.ID), u, pendingCond(), team.ErrAccessRequestNotPending)
	tx.Delete(accessPendingKey(r.AccountID, r.RequesterID, r.Role, r.Scope), &Cond{
		Expr: "attribute_not_exists(#pk) OR #req = :req", Names: map[string]string{"#pk": AttrPK, "#req": "requestId"},
		Values: map[string]types.AttributeValue{":req": str(r.ID)},
	}, nil)
}

// FinishAccessRequest ends pending request r with the status (and
// FinishedAt) r carries: cancelled or expired. A request no longer
// pending is team.ErrAccessRequestNotPending.
func (s *Store) FinishAccessRequest(ctx context.Context, r team.AccessRequest, ev audit.Event) error {
	tx := NewTx(ev)
	s.endAccess(ctx, tx, r)
	rest := accessWaitsOf(tx, r)
	err := s.Commit(ctx, tx)
	if errors.Is(err, ErrConditionFailed) && !errors.Is(err, team.ErrAccessRequestNotPending) {
		// The pending item names another request (a crash left it and a
		// newer request took it): end this one without touching it.
		tx = NewTx(ev)
		s.endAccess(ctx, tx, r)
		tx.items, tx.onFail = tx.items[:1], tx.onFail[:1]
		rest = accessWaitsOf(tx, r)
		err = s.Commit(ctx, tx)
	}
	if err != nil {
		return err
	}
	// The request ended: a leftover entry is never answered (the request
	// is no longer pending) and its TTL sweeps it.
	_ = s.dropAccessWaits(ctx, r, rest)
	return nil
}

// accessWaitsOf adds to tx, while it has room, the removal of the
// awaiting entries of the members r asks (as read), and returns the rest.
func accessWaitsOf(tx *Tx, r team.AccessRequest) []types.WriteRequest {
	var dels []types.WriteRequest
	for _, a := range r.Asked {
		dels = append(dels, accessWaitDelete(r.AccountID, a.MemberID, r.ID))
	}
	return tx.addWrites(dels)
}

// dropAccessWaits removes, once request r ended, the awaiting entries its
// transaction had no room for (rest) and those of members a hand-over
// asked after r was read (the ended request read again: it changes no
// more).
func (s *Store) dropAccessWaits(ctx context.Context, r team.AccessRequest, rest []types.WriteRequest) error {
	fresh, err := s.GetAccessRequest(ctx, r.AccountID, r.ID)
	if err != nil && !errors.Is(err, team.ErrAccessRequestNotFound) {
		return err
	}
	for _, a := range fresh.Asked {
		if !slices.ContainsFunc(r.Asked, func(b team.AccessApprover) bool { return b.MemberID == a.MemberID }) {
			rest = append(rest, accessWaitDelete(r.AccountID, a.MemberID, r.ID))
		}
	}
	return s.writeRest(ctx, rest)
}

// DecideAccessRequest records the decision r carries (status approved or
// denied, decider, comment, grant expiry, FinishedAt) on the pending
// request and, when member is not nil (an approval), saves member with
// the granted assignment in the same transaction, at the version it was
// read (team.ErrStaleVersion when it changed meanwhile; a custom role
// deleted meanwhile is ErrRoleGone). use, when set, consumes the emailed
// link's token in it too (ErrTokenInvalid). An approval requires the
// requester active in the transaction (ErrRequesterNotActive): member,
// when set, must be read active (its version then holds the status),
// else the requester's item is checked. A request no longer pending is
// team.ErrAccessRequestNotPending. It returns the member as saved.
//
// The caller commits through the decider's acting store, so the decision
// also requires the decider unchanged since its rights were checked.
func (s *Store) DecideAccessRequest(ctx context.Context, r team.AccessRequest, member *team.Member, use *TokenUse, ev audit.Event) (team.Member, error) {
	return s.decideAccess(ctx, r, member, use, nil, ev)
}

// DecideAccessRequestOnBehalf is DecideAccessRequest of a delegate
// (r.DeciderID) deciding on behalf of r.OnBehalfOfID, resting on ob: the
// member's item must be as read and active, and the member's delegation
// as read and naming the delegate, in the decision's transaction
// (ErrDelegationLost otherwise).
func (s *Store) DecideAccessRequestOnBehalf(ctx context.Context, r team.AccessRequest, member *team.Member, use *TokenUse, ob OnBehalf, ev audit.Event) (team.Member, error) {
	if r.OnBehalfOfID == "" || r.DeciderID == "" || r.OnBehalfOfID == r.DeciderID {
		return team.Member{}, fmt.Errorf("decide access request on behalf: needs a member and another delegate")
	}
	return s.decideAccess(ctx, r, member, use, &ob, ev)
}

// ErrRequesterNotActive: an access request's approval found its
// requester suspended, inactive or gone; nothing was written.
var ErrRequesterNotActive = errors.New("the requester is not active")

func (s *Store) decideAccess(ctx context.Context, r team.AccessRequest, member *team.Member, use *TokenUse, ob *OnBehalf, ev audit.Event) (team.Member, error) {
	approve := r.Status == team.AccessApproved
	if approve && member != nil && member.Status != rbac.StatusActive {
		return team.Member{}, ErrRequesterNotActive
	}
	var saved team.Member
	var rest []types.WriteRequest
	build := func() *Tx {
		tx := NewTx(ev)
		s.endAccess(ctx, tx, r)
		if use != nil {
			tx.ConsumeToken(use.Hash, TokenAccessRequest, use.Subject, use.Now)
		}
		if ob != nil {
			s.onBehalfChecks(tx, r.AccountID, r.OnBehalfOfID, r.DeciderID, *ob)
		}
		if member != nil {
			// At the version read, so active as read.
			saved = tx.updateMember(*member, r.FinishedAt, team.ErrStaleVersion, true)
		} else if approve {
			tx.Check(memberKey(r.AccountID, r.RequesterID), &Cond{
				Expr: "#st = :active", Names: map[string]string{"#st": "status"},
				Values: map[string]types.AttributeValue{":active": str(string(rbac.StatusActive))},
			}, ErrRequesterNotActive)
		}
		rest = accessWaitsOf(tx, r)
		return tx
	}
	var err error
	if member != nil {
		err = s.commitGuarded(ctx, *member, true, build)
	} else {
		err = s.Commit(ctx, build())
	}
	if err != nil {
		return team.Member{}, err
	}
	// The decision is made: a leftover entry is never answered (the
	// request is no longer pending) and its TTL sweeps it.
	_ = s.dropAccessWaits(ctx, r, rest)
	return saved, nil
}

// ListAccessRequests lists the requests member is involved in (asked for,
// or asked to decide), newest first. as, when set ("requester" or
// "approver"), keeps only those entries.
func (s *Store) ListAccessRequests(ctx context.Context, account, member, as string, limit int, cursor string) (Page[team.AccessRequest], error) {
	list := "access-requests/" + member + "/" + as
	start, err := s.cursors.Open(account, list, cursor)
	if err != nil {
		return Page[team.AccessRequest]{}, err
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(accountPK(account)), ":prefix": str(accessEntryPrefix(member)),
		},
		Limit: aws.Int32(pageSize(limit)), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true),
		ScanIndexForward: aws.Bool(false),
	}
	if as != "" {
		in.FilterExpression = aws.String("#as = :as")
		in.ExpressionAttributeNames["#as"] = "as"
		in.ExpressionAttributeValues[":as"] = str(as)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return Page[team.AccessRequest]{}, fmt.Errorf("list access requests: %w", err)
	}
	var entries []accessEntryItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &entries); err != nil {
		return Page[team.AccessRequest]{}, fmt.Errorf("list access requests: %w", err)
	}
	keys := make([]map[string]types.AttributeValue, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, accessRequestKey(account, e.RequestID))
	}
	raw, err := s.batchGet(ctx, keys)
	if err != nil {
		return Page[team.AccessRequest]{}, fmt.Errorf("list access requests: %w", err)
	}
	byID := make(map[string]team.AccessRequest, len(raw))
	for _, r := range raw {
		var it accessItem
		if err := attributevalue.UnmarshalMap(r, &it); err != nil {
			return Page[team.AccessRequest]{}, fmt.Errorf("list access requests: %w", err)
		}
		byID[it.ID] = it.request()
	}
	page := Page[team.AccessRequest]{Items: make([]team.AccessRequest, 0, len(entries))}
	for _, e := range entries {
		if r, ok := byID[e.RequestID]; ok {
			page.Items = append(page.Items, r)
		}
	}
	page.Next, err = s.cursors.Seal(account, list, out.LastEvaluatedKey)
	return page, err
}

// AwaitedAccess is a pending access request answered by
// ListAccessAwaiting and the members of the query it awaits (the member,
// and those of the delegators it asks).
type AwaitedAccess struct {
	Request team.AccessRequest
	For     []string
}

// ListAccessAwaiting lists the pending requests member is asked to
// decide, newest first: its awaiting entries (one strongly consistent
// Query) and those requests (one BatchGetItem), each checked to be
// pending and to ask the member, so an entry left behind is never
// answered. With delegators (the members member stands in for), the
// entries of each are read too (one Query each, so a page costs
// 1+len(delegators) queries of at most a page each), from the same
// request on (request ids sort by time: one cursor, the last request
// answered, continues every member's entries), merged newest first, each
// request once, and cut at the limit; For names whom of member and
// delegators each request asks. Every entry answers a pending request
// (but a leftover between an ending's commit and its last writes), so
// pages are full.
func (s *Store) ListAccessAwaiting(ctx context.Context, account, member string, delegators []string, limit int, cursor string) (Page[AwaitedAccess], error) {
	list := "access-awaiting/" + member
	start, err := s.cursors.Open(account, list, cursor)
	if err != nil {
		return Page[AwaitedAccess]{}, err
	}
	after := ""
	if start != nil {
		sk, _ := start[AttrSK].(*types.AttributeValueMemberS)
		if sk == nil || !strings.HasPrefix(sk.Value, accessWaitPrefix(member)) {
			return Page[AwaitedAccess]{}, ErrBadCursor
		}
		after = strings.TrimPrefix(sk.Value, accessWaitPrefix(member))
	}
	members := append([]string{member}, delegators...)
	var entries []awaitingItem
	more := false
	for _, m := range members {
		in := &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(accountPK(account)), ":prefix": str(accessWaitPrefix(m)),
			},
			Limit: aws.Int32(pageSize(limit)), ConsistentRead: aws.Bool(true),
			ScanIndexForward: aws.Bool(false),
		}
		if after != "" {
			in.ExclusiveStartKey = accessWaitKey(account, m, after)
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return Page[AwaitedAccess]{}, fmt.Errorf("list access requests to decide: %w", err)
		}
		var es []awaitingItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &es); err != nil {
			return Page[AwaitedAccess]{}, fmt.Errorf("list access requests to decide: %w", err)
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
	page := Page[AwaitedAccess]{Items: make([]AwaitedAccess, 0, len(entries))}
	if more && len(entries) > 0 {
		if page.Next, err = s.cursors.Seal(account, list, accessWaitKey(account, member, entries[len(entries)-1].RequestID)); err != nil {
			return Page[AwaitedAccess]{}, err
		}
	}
	keys := make([]map[string]types.AttributeValue, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, accessRequestKey(account, e.RequestID))
	}
	raw, err := s.batchGet(ctx, keys)
	if err != nil {
		return Page[AwaitedAccess]{}, fmt.Errorf("list access requests to decide: %w", err)
	}
	byID := make(map[string]accessItem, len(raw))
	for _, r := range raw {
		var it accessItem
		if err := attributevalue.UnmarshalMap(r, &it); err != nil {
			return Page[AwaitedAccess]{}, fmt.Errorf("list access requests to decide: %w", err)
		}
		byID[it.ID] = it
	}
	for _, e := range entries {
		it, ok := byID[e.RequestID]
		if !ok || it.Type != typeAccessRequest || it.Status != string(team.AccessPending) {
			continue
		}
		var whom []string
		for _, m := range members {
			if slices.Contains(it.Awaiting, m) {
				whom = append(whom, m)
			}
		}
		if len(whom) > 0 {
			page.Items = append(page.Items, AwaitedAccess{Request: it.request(), For: whom})
		}
	}
	return page, nil
}

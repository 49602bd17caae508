package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// DutyKind names a source of the duties a member hands over when taken
// out (suspended, deactivated, deleted). Each kind has its reader (Duties
// reads DutyApproval, AccessDuties DutyAccessRequest) and its writes in
// OffboardMember's transaction.
type DutyKind string

const (
	// DutyApproval: a seat at a pending approval request's current level.
	DutyApproval DutyKind = "approval"
	// DutyAccessRequest: a pending access request the member was asked to
	// decide (its one level, 1).
	DutyAccessRequest DutyKind = "access_request"
)

// Duty is a pending approval request that awaits a member at its current
// level: the other members awaited there and how many approvals the level
// still needs.
type Duty struct {
	Kind      DutyKind
	RequestID string
	Others    []string
	Needed    int
	// Request is the request as read (its level, version and asked list);
	// OffboardMember requires it unchanged. DutyApproval only.
	Request documents.ApprovalRequest
	// Access is the access request as read (pending, awaiting the
	// member); OffboardMember requires it still pending and awaiting the
	// member. DutyAccessRequest only.
	Access team.AccessRequest
	// Ineligible, set by the caller before the handover, says the
	// reassignee may not take this duty (for an access request: the grant
	// ceiling does not let it grant it): the leaver's seat is dropped.
	Ineligible bool
	// awaiting and decided are the request's awaiting set and decision
	// sort keys as read.
	awaiting, decided []string
}

// Level is the level the duty is at (an access request's is 1).
func (d Duty) Level() int {
	if d.Kind == DutyAccessRequest {
		return 1
	}
	return d.Request.Level
}

// Awaits reports whether the duty's level awaits member (as read).
func (d Duty) Awaits(member string) bool { return slices.Contains(d.awaiting, member) }

// Decided reports whether approver (an approver key: a member id) decided
// at the duty's level (as read): its own decision, or the one vote it
// cast there on behalf of another member as a delegate (the vote marker,
// voteKey: it refuses the member's own vote there too).
func (d Duty) Decided(approver string) bool {
	k := decisionKey(d.Request.AccountID, d.RequestID, d.Request.Level, approver)
	return slices.Contains(d.decided, k[AttrSK].(*types.AttributeValueMemberS).Value) ||
		slices.Contains(d.decided, d.voteSK(approver))
}

// voteSK is the sort key of voter's vote marker at the duty's level.
func (d Duty) voteSK(voter string) string {
	return voteKey(d.Request.AccountID, d.RequestID, d.Request.Level, voter)[AttrSK].(*types.AttributeValueMemberS).Value
}

// SeatMovesTo reports whether handing the duty to member moves the seat
// to it: member is neither awaited at the duty's level nor decided there
// (as read; a vote cast there as a delegate counts as decided), and not
// Ineligible. Otherwise the leaver's seat is dropped: one person, one
// vote.
func (d Duty) SeatMovesTo(member string) bool {
	return !d.Ineligible && !d.Awaits(member) && !d.Decided(member)
}

// AccessDuties answers the pending access requests member was asked to
// decide (DutyAccessRequest), oldest first: the member's awaiting entries
// (ACCESSWAIT; one strongly consistent Query, paged) and those requests
// (BatchGetItem), kept while pending and awaiting the member. Others and
// Needed are left empty: administrators may always decide an access
// request, so none is ever left without a possible decider.
func (s *Store) AccessDuties(ctx context.Context, account, member string) ([]Duty, error) {
	entries, err := queryPrefix[awaitingItem](ctx, s, account, accessWaitPrefix(member), "read access requests to decide")
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, accessRequestKey(account, e.RequestID))
	}
	raw, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read access requests to decide: %w", err)
	}
	var duties []Duty
	for _, r := range raw {
		var it accessItem
		if err := attributevalue.UnmarshalMap(r, &it); err != nil {
			return nil, fmt.Errorf("read access requests to decide: %w", err)
		}
		if it.Type != typeAccessRequest || it.Status != string(team.AccessPending) || !slices.Contains(it.Awaiting, member) {
			continue
		}
		duties = append(duties, Duty{Kind: DutyAccessRequest, RequestID: it.ID, Access: it.request(), awaiting: it.Awaiting})
	}
	slices.SortFunc(duties, func(a, b Duty) int { return strings.Compare(a.RequestID, b.RequestID) })
	return duties, nil
}

// Duties answers the pending approval requests that await a member at
// their current level, oldest first. It reads
// the member's awaiting entries (one strongly consistent Query, paged)
// and those requests (BatchGetItem); an entry left behind by a race is
// ignored, like "waiting for me" ignores it.
func (s *Store) Duties(ctx context.Context, account, member string) ([]Duty, error) {
	entries, err := queryPrefix[awaitingItem](ctx, s, account, awaitingPrefix(member), "read awaited requests")
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, approvalKey(account, e.RequestID))
	}
	raw, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read awaited requests: %w", err)
	}
	var duties []Duty
	for _, r := range raw {
		var it requestItem
		var ends requestEnds
		if err := attributevalue.UnmarshalMap(r, &it); err != nil {
			return nil, fmt.Errorf("read awaited requests: %w", err)
		}
		if err := attributevalue.UnmarshalMap(r, &ends); err != nil {
			return nil, fmt.Errorf("read awaited requests: %w", err)
		}
		if it.Status != string(documents.RequestPending) || !slices.Contains(it.Awaiting, member) {
			continue
		}
		req := it.request()
		if req.Level < 1 || req.Level > len(req.Levels) {
			continue
		}
		others := slices.DeleteFunc(slices.Clone(it.Awaiting), func(m string) bool { return m == member })
		slices.Sort(others)
		duties = append(duties, Duty{
			Kind: DutyApproval, RequestID: it.ID, Others: others, Needed: req.Levels[req.Level-1].Required - req.Approvals,
			Request: req, awaiting: ends.Awaiting, decided: ends.Decided,
		})
	}
	slices.SortFunc(duties, func(a, b Duty) int { return strings.Compare(a.RequestID, b.RequestID) })
	return duties, nil
}

// MaxHandoverDuties is the most duties OffboardMember hands over in its
// one transaction: an approval seat takes up to four writes (the request,
// the leaver's and the reassignee's awaiting entries, the leaver's link),
// an access request up to six (those, and the leaver's and the
// reassignee's approver entries: dutyWrites), and the member's own
// writes, the reassignee's check, the actor's check and the audit event
// need up to eight more. A member whose own update needs more writes (one
// per expiring time-bound grant), or who hands over more than a dozen
// access requests, hands over fewer: OffboardMember answers
// ErrTooManyDuties when the transaction would not fit.
const MaxHandoverDuties = 20

// dutyWrites is how many writes handing d over takes at most.
func dutyWrites(d Duty) int {
	if d.Kind == DutyAccessRequest {
		return 6
	}
	return 4
}

// ErrDutiesChanged: a duty handed over (or the member taking it) changed
// after it was read (a decision, a new level, the request ended, the
// reassignee changed); nothing was written. Read the duties again.
var ErrDutiesChanged = errors.New("the duties changed meanwhile")

// ErrTooManyDuties: more duties than MaxHandoverDuties.
var ErrTooManyDuties = errors.New("too many duties to hand over in one transaction")

// Handover is what OffboardMember hands to another member: the leaver's
// duties as read (Duties) and the member taking them, as read.
type Handover struct {
	From   string
	To     team.Member
	Duties []Duty
}

// Handed is one duty handed over: Moved when the reassignee took the
// leaver's seat, else the seat was dropped (the reassignee was already
// awaited at that level, or had decided there: one person, one vote).
type Handed struct {
	Kind      DutyKind
	RequestID string
	Level     int
	Moved     bool
}

// approvalLinkSubject is the subject of an approval link token (the
// approvals package mints them: "<request>:<level>:<approver>").
func approvalLinkSubject(request string, level int, approver string) string {
	return request + ":" + strconv.Itoa(level) + ":" + approver
}

// OffboardMember saves m (a member read at m.Version, its status changed
// to suspended, inactive or deleted) like UpdateMember or DeleteMember
// and, when h is not nil, hands the leaver's duties to h.To in the same
// transaction with the one event ev:
//
//   - each request (at the version, level and status read) gets h.To in
//     place of the leaver in its awaiting set and asked list, or just
//     loses the leaver's seat when h.To is already awaited there or
//     decided there (its own decision, or its vote marker there as a
//     delegate; a moved seat is conditioned on the marker's absence);
//   - the leaver's awaiting entry goes, h.To's is put;
//   - the leaver's current approval link at that level (its current
//     token, found by its subject, one BatchGetItem) is deleted: the
//     link answers 410 link_invalid, on its page and when used;
//   - an access request (DutyAccessRequest; still pending and awaiting
//     the leaver) gets h.To in place of the leaver in its awaiting set
//     and asked list unless the duty is Ineligible or h.To is awaited
//     there already (then it just loses the leaver); the leaver's
//     approver and awaiting entries go, h.To's are put; the leaver's current decision
//     link (by its subject, "<request>:<leaver>": also the link sent to
//     the leaver's delegate) is deleted (410 link_invalid);
//   - h.To must still be active at the version read.
//
// A request (or h.To) that changed meanwhile fails the whole transaction
// with ErrDutiesChanged; more than MaxHandoverDuties duties, or more
// than the transaction holds beside the member's own writes, is
// ErrTooManyDuties. It returns the saved member and what was handed.
func (s *Store) OffboardMember(ctx context.Context, m team.Member, h *Handover, ev audit.Event) (team.Member, []Handed, error) {
	if h == nil {
		if m.Status == rbac.StatusDeleted {
			saved, err := s.DeleteMember(ctx, m, ev)
			return saved, nil, err
		}
		saved, err := s.UpdateMember(ctx, m, ev)
		return saved, nil, err
	}
	now := s.now().UTC()
	// The member's own writes: the delete's four, or the update and one
	// index item per expiring grant; then each duty's (dutyWrites), the
	// reassignee's check, the actor's check and the event.
	own := 4
	if m.Status != rbac.StatusDeleted {
		own = 1 + len(grantExpiryItems(m.AccountID, m.ID, m.Assignments, now))
	}
	for _, d := range h.Duties {
		own += dutyWrites(d)
	}
	if len(h.Duties) > MaxHandoverDuties || own+3 > MaxTxItems {
		return team.Member{}, nil, fmt.Errorf("%w: %d", ErrTooManyDuties, len(h.Duties))
	}
	// The leaver's current links, by subject.
	var curKeys []map[string]types.AttributeValue
	for _, d := range h.Duties {
		if d.Kind == DutyAccessRequest {
			curKeys = append(curKeys, currentTokenKey(TokenAccessRequest, d.RequestID+":"+h.From))
			continue
		}
		curKeys = append(curKeys, currentTokenKey(TokenApproval, approvalLinkSubject(d.RequestID, d.Level(), h.From)))
	}
	hashes := map[string]string{}
	if len(curKeys) > 0 {
		raw, err := s.batchGet(ctx, curKeys)
		if err != nil {
			return team.Member{}, nil, fmt.Errorf("read approval links: %w", err)
		}
		for _, it := range raw {
			pk := it[AttrPK].(*types.AttributeValueMemberS).Value
			if h, ok := it["hash"].(*types.AttributeValueMemberS); ok {
				hashes[pk] = h.Value
			}
		}
	}
	var handed []Handed
	extra := func(tx *Tx) {
		handed = handed[:0]
		for i, d := range h.Duties {
			if d.Kind == DutyAccessRequest {
				moved := s.handAccess(ctx, tx, d, h, now)
				cur := curKeys[i][AttrPK].(*types.AttributeValueMemberS).Value
				if hash := hashes[cur]; hash != "" {
					tx.Delete(tokenItemKey(TokenAccessRequest, hash), nil, nil)
				}
				handed = append(handed, Handed{Kind: d.Kind, RequestID: d.RequestID, Level: 1, Moved: moved})
				continue
			}
			r := d.Request
			moved := d.SeatMovesTo(h.To.ID)
			awaiting := slices.DeleteFunc(slices.Clone(d.awaiting), func(x string) bool { return x == h.From })
			asked := slices.DeleteFunc(slices.Clone(r.Asked), func(a documents.Approver) bool { return a.Level == r.Level && a.MemberID == h.From })
			if moved {
				awaiting = append(awaiting, h.To.ID)
				if !slices.ContainsFunc(asked, func(a documents.Approver) bool { return a.Level == r.Level && a.MemberID == h.To.ID }) {
					asked = append(asked, documents.Approver{Level: r.Level, MemberID: h.To.ID, Name: h.To.Name, Email: h.To.Email, AskedAt: now})
				}
			}
			expr := "SET #asked = :asked, #upd = :now, #ver = #ver + :one"
			names := map[string]string{"#asked": "asked", "#upd": "updatedAt", "#ver": AttrVersion, "#aw": "awaiting", "#st": "status", "#lvl": "level"}
			values := map[string]types.AttributeValue{
				":asked": mustMarshal(toApproverItems(asked)), ":now": timeAV(now), ":one": num(1),
				":v": num(r.Version), ":pending": str(string(documents.RequestPending)), ":lvl": num(int64(r.Level)),
			}
			if len(awaiting) > 0 {
				expr += ", #aw = :aw"
				values[":aw"] = &types.AttributeValueMemberSS{Value: awaiting}
			} else {
				expr += " REMOVE #aw"
			}
			cond := "#ver = :v AND #st = :pending AND #lvl = :lvl"
			if moved {
				// The reassignee has not voted at the level on another's
				// behalf (its vote marker, named in the decided set): the
				// version covers it, this says it.
				cond += " AND NOT contains(#decd, :vote)"
				names["#decd"] = "decided"
				values[":vote"] = str(d.voteSK(h.To.ID))
			}
			tx.Update(approvalKey(r.AccountID, r.ID), Cond{Expr: expr, Names: names, Values: values},
				&Cond{Expr: cond}, ErrDutiesChanged)
			tx.Delete(awaitingKey(r.AccountID, h.From, r.ID), nil, nil)
			if moved {
				tx.Put(awaitingPut(r.AccountID, h.To.ID, r.ID, s.awaitingTTL(ctx, r.AccountID, now, r.TimeoutSeconds)).PutRequest.Item, nil, nil)
			}
			cur := curKeys[i][AttrPK].(*types.AttributeValueMemberS).Value
			if hash := hashes[cur]; hash != "" {
				tx.Delete(tokenItemKey(TokenApproval, hash), nil, nil)
			}
			handed = append(handed, Handed{Kind: d.Kind, RequestID: r.ID, Level: r.Level, Moved: moved})
		}
		to := VersionIs(h.To.Version)
		to.Expr += " AND #st = :active"
		to.Names["#st"] = "status"
		to.Values[":active"] = str(string(rbac.StatusActive))
		tx.Check(memberKey(h.To.AccountID, h.To.ID), to, ErrDutiesChanged)
	}
	var saved team.Member
	var err error
	if m.Status == rbac.StatusDeleted {
		saved, err = s.deleteMemberWith(ctx, m, ev, extra)
	} else {
		saved, err = s.updateMemberWith(ctx, m, ev, extra)
	}
	if err != nil {
		return team.Member{}, nil, err
	}
	return saved, handed, nil
}

// handAccess adds to tx the handover of access-request duty d: the
// request (still pending and awaiting the leaver) gets h.To in place of
// the leaver in its awaiting set and asked list when the seat moves, or
// just loses the leaver; the leaver's approver and awaiting entries go,
// h.To's are put when it moves. It reports whether the seat moved.
func (s *Store) handAccess(ctx context.Context, tx *Tx, d Duty, h *Handover, now time.Time) bool {
	r := d.Access
	moved := d.SeatMovesTo(h.To.ID)
	awaiting := slices.DeleteFunc(slices.Clone(d.awaiting), func(x string) bool { return x == h.From })
	asked := slices.DeleteFunc(slices.Clone(r.Asked), func(a team.AccessApprover) bool { return a.MemberID == h.From })
	if moved {
		awaiting = append(awaiting, h.To.ID)
		if !slices.ContainsFunc(asked, func(a team.AccessApprover) bool { return a.MemberID == h.To.ID }) {
			asked = append(asked, team.AccessApprover{MemberID: h.To.ID, Name: h.To.Name, Email: h.To.Email, AskedAt: now})
		}
	}
	r.Asked = asked
	items := toAccessItem(r).Asked
	av := mustMarshal(items)
	if len(items) == 0 {
		av = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	}
	expr := "SET #asked = :asked, #upd = :now"
	names := map[string]string{"#asked": "asked", "#upd": "updatedAt", "#aw": "awaiting", "#st": "status"}
	values := map[string]types.AttributeValue{
		":asked": av, ":now": timeAV(now), ":pending": str(string(team.AccessPending)), ":from": str(h.From),
	}
	if len(awaiting) > 0 {
		expr += ", #aw = :aw"
		values[":aw"] = &types.AttributeValueMemberSS{Value: awaiting}
	} else {
		expr += " REMOVE #aw"
	}
	cond := "#st = :pending AND contains(#aw, :from)"
	if moved {
		cond += " AND NOT contains(#aw, :to)"
		values[":to"] = str(h.To.ID)
	}
	tx.Update(accessRequestKey(r.AccountID, r.ID), Cond{Expr: expr, Names: names, Values: values}, &Cond{Expr: cond}, ErrDutiesChanged)
	tx.Delete(accessEntryKey(r.AccountID, h.From, r.ID), nil, nil)
	tx.Delete(accessWaitKey(r.AccountID, h.From, r.ID), nil, nil)
	if moved {
		tx.Put(accessEntry(r.AccountID, h.To.ID, r.ID, "approver", s.accessTTL(ctx, r.AccountID, r.DecideBy)), nil, nil)
		tx.Put(accessWaitPut(r, h.To.ID).PutRequest.Item, nil, nil)
	}
	return moved
}

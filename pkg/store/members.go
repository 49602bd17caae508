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

// Member reads and writes beyond creation (AddMember, in accounts.go).

// updateMember adds the write of a changed member: its mutable fields (name,
// status, admin flag, assignments, notification preferences), when the
// stored member is still at m.Version; the version becomes m.Version+1.
// The email (and its per-account claim), the identity, the owner flag and
// the creation time are not changed here: each has its own operation. It
// returns the member as written. index adds the member's expiring-grant
// index items to the transaction (role changes write them after it).
func (tx *Tx) updateMember(m team.Member, now time.Time, onFail error, index bool) team.Member {
	it := toMemberItem(m)
	assignments, err := attributevalue.Marshal(it.Assignments)
	if err != nil {
		// A slice of plain structs always marshals; a failure is a bug.
		panic(fmt.Sprintf("store: marshal assignments: %v", err))
	}
	boolAV := func(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }
	tx.Update(memberKey(m.AccountID, m.ID), Cond{
		Expr: "SET #name = :name, #status = :status, #admin = :admin, #asg = :asg, " +
			"#lso = :lso, #dpo = :dpo, #dso = :dso, #prm = :prm, #arm = :arm, #ver = :next, #upd = :now",
		Names: map[string]string{
			"#name": "name", "#status": "status", "#admin": "admin", "#asg": "assignments",
			"#lso": "lowStockOff", "#dpo": "duePurchaseOrderOff", "#dso": "dueSalesOrderOff", "#prm": "paymentReminderOff", "#arm": "approvalReminderOff",
			"#upd": "updatedAt",
		},
		Values: map[string]types.AttributeValue{
			":name": str(it.Name), ":status": str(it.Status), ":admin": boolAV(it.Admin), ":asg": assignments,
			":lso": boolAV(it.LowStockOff), ":dpo": boolAV(it.DuePurchaseOrderOff), ":dso": boolAV(it.DueSalesOrderOff),
			":prm": boolAV(it.PaymentReminderOff), ":arm": boolAV(it.ApprovalReminderOff),
			":next": num(m.Version + 1), ":now": timeAV(now),
		},
	}, VersionIs(m.Version), onFail)
	if index {
		tx.indexExpiringGrants(m.AccountID, m.ID, m.Assignments, now)
	}
	m.Version++
	m.UpdatedAt = now
	return m
}

// UpdateMember saves a changed member (name, status, admin flag,
// assignments, notification preferences) with its event, when the stored
// member is still at m.Version (the version it was read at), and returns
// it at the next version. A member changed meanwhile is
// team.ErrStaleVersion; a member that does not exist is
// team.ErrMemberNotFound. The email, identity, owner flag and creation time
// stay as stored. The caller enforces the grant ceiling
// (rbac.RoleSet.CheckChange).
//
// A custom role the member did not hold must still exist when the change
// commits (see roleguard.go): one deleted meanwhile is ErrRoleGone.
func (s *Store) UpdateMember(ctx context.Context, m team.Member, ev audit.Event) (team.Member, error) {
	return s.updateMemberWith(ctx, m, ev, nil)
}

// updateMemberWith is UpdateMember with extra's writes in its transaction.
func (s *Store) updateMemberWith(ctx context.Context, m team.Member, ev audit.Event, extra func(*Tx)) (team.Member, error) {
	var next team.Member
	err := s.commitGuarded(ctx, m, true, func() *Tx {
		tx := NewTx(ev)
		next = tx.updateMember(m, s.now().UTC(), team.ErrStaleVersion, true)
		if extra != nil {
			extra(tx)
		}
		return tx
	})
	var ce *ConditionError
	if errors.As(err, &ce) && ce.Item == nil && !errors.Is(ce.Err, ErrDutiesChanged) {
		// The condition failed on no item at all: there is no such
		// member (DynamoDB returns the old item of a failed write).
		return team.Member{}, team.ErrMemberNotFound
	}
	if err != nil {
		return team.Member{}, err
	}
	return next, nil
}

// MaxLoadMembers is the most members LoadMembers reads: with the roles
// version item, one BatchGetItem of at most 100 keys.
const MaxLoadMembers = MaxTxItems - 1

// LoadedMembers are members of one account and the account's custom roles,
// read together.
type LoadedMembers struct {
	// Members by id; an id that is not a member of the account is absent.
	Members map[string]team.Member
	// Roles are the account's custom roles.
	Roles CustomRoles
	// rolesItem is the roles version item as read, resolved into Roles by
	// resolveRoles.
	rolesItem map[string]types.AttributeValue
}

// resolveRoles sets lm.Roles from the version item read (rolesAt).
func (lm *LoadedMembers) resolveRoles(ctx context.Context, s *Store, account string) error {
	cr, err := s.rolesAt(ctx, account, lm.rolesItem)
	if err != nil {
		return err
	}
	lm.Roles, lm.rolesItem = cr, nil
	return nil
}

// take decodes raw into lm when it is one of the account's members that
// were asked for (seen) or the account's roles version item, and reports whether
// it was either.
func (lm *LoadedMembers) take(raw map[string]types.AttributeValue, account string, seen map[string]bool) (bool, error) {
	typ, _ := raw[AttrType].(*types.AttributeValueMemberS)
	if typ == nil {
		return false, nil
	}
	switch typ.Value {
	case typeMember:
		var it memberItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return false, err
		}
		m, err := it.member()
		if err != nil {
			return false, err
		}
		if m.AccountID == account && seen[m.ID] {
			lm.Members[m.ID] = m
		}
		return true, nil
	case typeRoles:
		lm.rolesItem = raw
		return true, nil
	}
	return false, nil
}

// LoadMembers reads up to MaxLoadMembers members of an account and the
// account's roles version item in one BatchGetItem, strongly consistently,
// and the custom roles at that version (from the store's cache unless they
// changed; see roles.go): what
// a batch of permission checks for several members needs. Duplicate ids
// are read once; ids that are not members of the account (including
// members of other accounts) are simply absent from the result.
func (s *Store) LoadMembers(ctx context.Context, account string, ids []string) (LoadedMembers, error) {
	keys := []map[string]types.AttributeValue{rolesKey(account)}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, memberKey(account, id))
		}
	}
	if len(keys)-1 > MaxLoadMembers {
		return LoadedMembers{}, fmt.Errorf("load members: %d members is over the limit of %d", len(keys)-1, MaxLoadMembers)
	}
	items, err := s.batchGet(ctx, keys)
	if err == nil {
		items, err = s.withDeletedMembers(ctx, keys, items)
	}
	if err != nil {
		return LoadedMembers{}, fmt.Errorf("load members: %w", err)
	}
	out := LoadedMembers{Members: make(map[string]team.Member, len(keys)-1), Roles: CustomRoles{Roles: []rbac.Role{}}}
	for _, raw := range items {
		if _, err := out.take(raw, account, seen); err != nil {
			return LoadedMembers{}, fmt.Errorf("load members: %w", err)
		}
	}
	if err := out.resolveRoles(ctx, s, account); err != nil {
		return LoadedMembers{}, fmt.Errorf("load members: %w", err)
	}
	return out, nil
}

// listMembers is the name the member list's cursors are sealed with.
const listMembers = "members"

// listLiveMembers is the name the live-member list's cursors are sealed
// with.
const listLiveMembers = "members/live"

// membersQuery is the query of an account's live member items (every
// status but deleted: DeleteMember moves a member out of this range), in
// id order. (Members deleted before the move existed stay here, in
// status deleted, until MoveDeletedMembers moves them.)
func (s *Store) membersQuery(account string, limit int32, start map[string]types.AttributeValue) *dynamodb.QueryInput {
	return s.rangeQuery(account, prefixMember+sep, limit, start)
}

// rangeQuery is the strongly consistent query of the account partition's
// items whose sort key begins with prefix, in key order.
func (s *Store) rangeQuery(account, prefix string, limit int32, start map[string]types.AttributeValue) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :member)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(accountPK(account)), ":member": str(prefix)},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(limit),
		ExclusiveStartKey:         start,
	}
}

func decodeMembers(raw []map[string]types.AttributeValue) ([]team.Member, error) {
	var items []memberItem
	if err := attributevalue.UnmarshalListOfMaps(raw, &items); err != nil {
		return nil, fmt.Errorf("decode members: %w", err)
	}
	out := make([]team.Member, 0, len(items))
	for _, it := range items {
		m, err := it.member()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ListMembers lists an account's members (every status, the deleted
// included) in id order, limit at a time (0 means DefaultPageSize, at most
// MaxPageSize), from the cursor of the previous page: one strongly
// consistent query of the live range and one of the deleted range
// (DELETED#), merged by id. The cursor is sealed for the account and this
// list: a cursor of another account or list is ErrBadCursor.
func (s *Store) ListMembers(ctx context.Context, account string, limit int, cursor string) (Page[team.Member], error) {
	start, err := s.cursors.Open(account, listMembers, cursor)
	if err != nil {
		return Page[team.Member]{}, err
	}
	// The cursor is the member key of the last id answered; each range
	// starts after that id.
	var after string
	if sk, ok := start[AttrSK].(*types.AttributeValueMemberS); ok {
		after, _ = strings.CutPrefix(sk.Value, prefixMember+sep)
	}
	n := pageSize(limit)
	var merged []team.Member
	more, bound := false, ""
	for _, prefix := range []string{prefixMember + sep, prefixDeleted + sep} {
		var from map[string]types.AttributeValue
		if start != nil {
			from = itemKey(accountPK(account), prefix+after)
		}
		out, err := s.db.Query(ctx, s.rangeQuery(account, prefix, n, from))
		if err != nil {
			return Page[team.Member]{}, fmt.Errorf("list members: %w", err)
		}
		members, err := decodeMembers(out.Items)
		if err != nil {
			return Page[team.Member]{}, err
		}
		merged = append(merged, members...)
		if len(out.LastEvaluatedKey) > 0 && len(members) > 0 {
			// This range goes on past its last id read: nothing after it
			// is answered from the other range on this page.
			more = true
			if last := members[len(members)-1].ID; bound == "" || last < bound {
				bound = last
			}
		}
	}
	slices.SortFunc(merged, func(a, b team.Member) int { return strings.Compare(a.ID, b.ID) })
	if bound != "" {
		merged = slices.DeleteFunc(merged, func(m team.Member) bool { return m.ID > bound })
	}
	if len(merged) > int(n) {
		merged, more = merged[:n], true
	}
	page := Page[team.Member]{Items: merged}
	if more && len(merged) > 0 {
		page.Next, err = s.cursors.Seal(account, listMembers, itemKey(accountPK(account), memberSK(merged[len(merged)-1].ID)))
	}
	return page, err
}

// ListLiveMembers lists an account's members in every status but deleted,
// in id order, limit at a time, in one strongly consistent query of the
// live range: the reads that want only members who may act (who-can,
// approvers) never read the deleted ones. Its cursors are its own.
func (s *Store) ListLiveMembers(ctx context.Context, account string, limit int, cursor string) (Page[team.Member], error) {
	start, err := s.cursors.Open(account, listLiveMembers, cursor)
	if err != nil {
		return Page[team.Member]{}, err
	}
	out, err := s.db.Query(ctx, s.membersQuery(account, pageSize(limit), start))
	if err != nil {
		return Page[team.Member]{}, fmt.Errorf("list members: %w", err)
	}
	members, err := decodeMembers(out.Items)
	if err != nil {
		return Page[team.Member]{}, err
	}
	page := Page[team.Member]{Items: members}
	page.Next, err = s.cursors.Seal(account, listLiveMembers, out.LastEvaluatedKey)
	return page, err
}

// MembersWithRole returns every live member of the account (every status
// but deleted) with at least one assignment of role, reading the
// account's live members page by page. Deleting a role must account for
// all of them: a dangling assignment would grant again if a role with the
// same id were created later. A deleted member never grants again (deleted
// is final), so it keeps its assignments as they were at its deletion.
func (s *Store) MembersWithRole(ctx context.Context, account, role string) ([]team.Member, error) {
	var out []team.Member
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, s.membersQuery(account, 1000, start))
		if err != nil {
			return nil, fmt.Errorf("members with role: %w", err)
		}
		members, err := decodeMembers(page.Items)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			for _, a := range m.Assignments {
				if a.Role == role {
					out = append(out, m)
					break
				}
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// Actor is who makes a change, as the request read it: a member at a
// version, or an API key at a version. A Store returned by Acting adds to
// every transaction it commits a condition that the actor is still as read
// (same version, still active; for a key, not revoked), so that a change
// resting on the actor's rights fails cleanly when those rights changed
// between the request's checks and its commit (a demotion, a suspension, a
// revoked key): nothing is written and Commit returns a *ConditionError
// wrapping OnFail.
type Actor struct {
	AccountID string
	// MemberID is the acting member; empty for an API key.
	MemberID string
	// APIKeyID is the acting API key; empty for a member.
	APIKeyID string
	// Version is the member's (or key's) version as read.
	Version int64
	// OnFail is the error of a lost condition (ErrActorChanged when nil).
	OnFail error
}

// ErrActorChanged: the acting member or key changed after the request read
// it; the change was not written.
var ErrActorChanged = errors.New("the acting member changed meanwhile")

// Acting returns a store whose transactions also require a to be as read.
// The check is left out of a transaction that writes the actor's own item
// (that write carries its own condition, and DynamoDB refuses two
// operations on one item).
func (s *Store) Acting(a Actor) *Store {
	c := *s
	c.actor = &a
	return &c
}

// actorCheck is the condition item of s's actor and its error, or nil.
func (s *Store) actorCheck(items []types.TransactWriteItem) (*types.TransactWriteItem, error) {
	a := s.actor
	if a == nil || a.AccountID == "" || a.MemberID == "" && a.APIKeyID == "" {
		return nil, nil
	}
	onFail := a.OnFail
	if onFail == nil {
		onFail = ErrActorChanged
	}
	var k map[string]types.AttributeValue
	var cond *Cond
	if a.APIKeyID != "" {
		k = apiKeyKey(a.AccountID, a.APIKeyID)
		cond = VersionIs(a.Version)
		cond.Expr += " AND attribute_not_exists(#rev)"
		cond.Names["#rev"] = "revokedAt"
	} else {
		k = memberKey(a.AccountID, a.MemberID)
		cond = VersionIs(a.Version)
		cond.Expr += " AND #st = :active"
		cond.Names["#st"] = "status"
		cond.Values[":active"] = str(string(rbac.StatusActive))
	}
	for _, it := range items {
		if sameKey(itemKeyOf(it), k) {
			return nil, nil
		}
	}
	expr, names, values := cond.parts()
	return &types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		Key: k, ConditionExpression: expr, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, onFail
}

func itemKeyOf(it types.TransactWriteItem) map[string]types.AttributeValue {
	switch {
	case it.Put != nil:
		return it.Put.Item
	case it.Update != nil:
		return it.Update.Key
	case it.Delete != nil:
		return it.Delete.Key
	case it.ConditionCheck != nil:
		return it.ConditionCheck.Key
	}
	return nil
}

func sameKey(a, b map[string]types.AttributeValue) bool {
	for _, name := range []string{AttrPK, AttrSK} {
		x, _ := a[name].(*types.AttributeValueMemberS)
		y, _ := b[name].(*types.AttributeValueMemberS)
		if x == nil || y == nil || x.Value != y.Value {
			return false
		}
	}
	return true
}

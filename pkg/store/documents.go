package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// Documents, approval policies, approval requests and their decisions live
// in the account partition.
//
//	document   pk ACCOUNT#{a}  sk DOC#{type}#{id}
//	policy     pk ACCOUNT#{a}  sk POLICY#{docType}
//	request    pk ACCOUNT#{a}  sk APPROVAL#{request}        (ids sort by creation time)
//	decision   pk ACCOUNT#{a}  sk APPROVALDEC#{request}#{level}#{approver}
//	vote       pk ACCOUNT#{a}  sk APPROVALVOTE#{request}#{level}#{delegate}  (a delegate's vote on behalf of a member)
//
// Retention (ttl, epoch seconds; see retention.go): a document in a closed
// status (closedDocument: denied, expired, completed) carries the time it
// was written in that status plus the account's DocumentRetentionDays,
// and loses it when written back to an open status; an ended request and
// every decision of it carry its end plus DocumentRetentionDays, stamped
// in the transaction that ends it (the request's "decided" set names the
// decisions, so ending reads nothing more than the request's awaiting
// set did); its awaiting entries are removed then, and carry a bound of
// their own (awaitingTTL). Decisions are recorded only while the request
// is pending, so none is written after its end.
const (
	prefixDocument = "DOC"
	prefixPolicy   = "POLICY"
	prefixApproval = "APPROVAL"
	prefixDecision = "APPROVALDEC"
	prefixVote     = "APPROVALVOTE"

	typeDocument = "document"
	typePolicy   = "approvalPolicy"
	typeApproval = "approvalRequest"
	typeDecision = "approvalDecision"
	typeVote     = "approvalVote"
)

func documentKey(a string, t rbac.DocType, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixDocument, string(t), id))
}
func policyKey(a string, t rbac.DocType) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixPolicy, string(t)))
}
func approvalKey(a, id string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixApproval, id))
}
func decisionPrefix(request string) string { return key(prefixDecision, request) + sep }
func decisionKey(a, request string, level int, approver string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), decisionPrefix(request)+fmt.Sprintf("%03d", level)+sep+approver)
}

// voteKey is the marker of the one vote a delegate casts on behalf of a
// member at a level (see RecordDecision): the delegate's own seat is the
// decision key, the marker stops a second vote on behalf of another.
func voteKey(a, request string, level int, voter string) map[string]types.AttributeValue {
	return itemKey(accountPK(a), key(prefixVote, request)+sep+fmt.Sprintf("%03d", level)+sep+voter)
}

// NewApprovalRequestID returns a new request id that sorts by creation
// time (newest last) and is a valid Step Functions execution name.
func NewApprovalRequestID(now time.Time) string {
	return fmt.Sprintf("apr_%013x%s", now.UnixMilli(), NewID("")[1:13])
}

type documentItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Type       string    `dynamodbav:"type"`
	AccountID  string    `dynamodbav:"accountId"`
	DocType    string    `dynamodbav:"docType"`
	ID         string    `dynamodbav:"id"`
	Store      string    `dynamodbav:"store,omitempty"`
	Department string    `dynamodbav:"department,omitempty"`
	Supplier   string    `dynamodbav:"supplier,omitempty"`
	Amount     float64   `dynamodbav:"amount"`
	Currency   string    `dynamodbav:"currency"`
	Title      string    `dynamodbav:"title"`
	Summary    string    `dynamodbav:"summary,omitempty"`
	DueDate    string    `dynamodbav:"dueDate,omitempty"`
	URL        string    `dynamodbav:"url,omitempty"`
	Status     string    `dynamodbav:"status"`
	RequestID  string    `dynamodbav:"requestId,omitempty"`
	Version    int64     `dynamodbav:"version"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	UpdatedAt  time.Time `dynamodbav:"updatedAt"`
	UpdatedBy  string    `dynamodbav:"updatedBy,omitempty"`
	GSI3PK     string    `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK     string    `dynamodbav:"gsi3sk,omitempty"`
	// TTL is set while the document is closed (closedDocument).
	TTL int64 `dynamodbav:"ttl,omitempty"`
}

// closedDocument reports whether a document in status st is closed: no
// longer open (draft, pending approval, approved), so kept only for the
// account's DocumentRetentionDays unless written back to an open status.
func closedDocument(st rbac.DocStatus) bool { return !slices.Contains(openDocumentStatuses, st) }

func toDocumentItem(d documents.Document) documentItem {
	k := documentKey(d.AccountID, d.Type, d.ID)
	due, dueSK := dueKeys(d)
	return documentItem{
		GSI3PK: due, GSI3SK: dueSK,
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value, Type: typeDocument,
		AccountID: d.AccountID, DocType: string(d.Type), ID: d.ID, Store: d.Store, Department: d.Department, Supplier: d.Supplier,
		Amount: d.Amount, Currency: d.Currency, Title: d.Title, Summary: d.Summary, DueDate: d.DueDate, URL: d.URL,
		Status: string(d.Status), RequestID: d.RequestID, Version: d.Version,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), UpdatedBy: d.UpdatedBy,
	}
}

func (it documentItem) document() documents.Document {
	return documents.Document{
		AccountID: it.AccountID, Type: rbac.DocType(it.DocType), ID: it.ID, Store: it.Store, Department: it.Department,
		Supplier: it.Supplier, Amount: it.Amount, Currency: it.Currency, Title: it.Title, Summary: it.Summary,
		DueDate: it.DueDate, URL: it.URL, Status: rbac.DocStatus(it.Status), RequestID: it.RequestID,
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, UpdatedBy: it.UpdatedBy,
	}
}

// GetDocument reads a document.
func (s *Store) GetDocument(ctx context.Context, account string, t rbac.DocType, id string) (documents.Document, error) {
	var it documentItem
	if err := s.getItem(ctx, documentKey(account, t, id), &it, documents.ErrDocumentNotFound); err != nil {
		return documents.Document{}, err
	}
	return it.document(), nil
}

// PutDocument writes d (already at its next version) with its event: a
// create when read is 0 and no document has its key, a replacement when
// the stored document is still at version read (else
// documents.ErrDocumentChanged). When cancel is set, the same transaction
// cancels that pending request (documents.ErrRequestNotPending when it is no
// longer pending).
//
// When policy is set, the document's status rests on that policy (a
// document completed without an approval because no level of the policy
// applies): the same transaction checks that the policy is still at the
// version read (team.ErrStaleVersion otherwise), so a policy switched on
// meanwhile cannot be skipped.
func (s *Store) PutDocument(ctx context.Context, d documents.Document, read int64, cancel *documents.ApprovalRequest, policy *documents.ApprovalPolicy, ev audit.Event) error {
	var ends requestEnds
	if cancel != nil {
		var err error
		if ends, err = s.awaitingOf(ctx, cancel.AccountID, cancel.ID); err != nil {
			return err
		}
	}
	tx := NewTx(ev)
	it := toDocumentItem(d)
	if closedDocument(d.Status) {
		// Closed: kept DocumentRetentionDays after this write; a document
		// put back to an open status is written without a TTL.
		it.TTL = d.UpdatedAt.Add(time.Duration(s.retentionOf(ctx, d.AccountID).documents) * 24 * time.Hour).Unix()
	}
	if read == 0 {
		tx.Put(marshal(it), ItemAbsent(), documents.ErrDocumentChanged)
	} else {
		tx.Put(marshal(it), VersionIs(read), documents.ErrDocumentChanged)
	}
	if policy != nil {
		cond := VersionIs(policy.Version)
		if policy.Version == 0 {
			cond = ItemAbsent()
		}
		tx.Check(policyKey(d.AccountID, d.Type), cond, team.ErrStaleVersion)
	}
	var rest afterEnd
	if cancel != nil {
		rest = tx.finishRequest(cancel.AccountID, cancel.ID, ends, documents.RequestCancelled, d.UpdatedAt, s.DocumentExpiry(ctx, cancel.AccountID, d.UpdatedAt))
	}
	if err := s.Commit(ctx, tx); err != nil {
		return err
	}
	return s.finishRest(ctx, rest)
}

// MemberIDByEmail returns the id of the account's member with the
// normalized email, in any status but deleted (deleting a member frees
// its email in the account), or "" when the account has none.
func (s *Store) MemberIDByEmail(ctx context.Context, account, email string) (string, error) {
	var it pointerItem
	err := s.getItem(ctx, memberEmailKey(account, email), &it, ErrNotFound)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return it.Target, nil
}

// afterEnd is what ending a request could not fit in its transaction,
// written right after the commit (finishRest): awaiting-entry removals and
// decisions to stamp with ttl.
type afterEnd struct {
	writes []types.WriteRequest
	stamps []map[string]types.AttributeValue
	ttl    types.AttributeValue
}

// finishRest writes rest after the commit that ended a request.
func (s *Store) finishRest(ctx context.Context, rest afterEnd) error {
	for _, k := range rest.stamps {
		if _, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: k, UpdateExpression: aws.String("SET #ttl = :ttl"),
			ConditionExpression:      aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#ttl": AttrTTL, "#pk": AttrPK}, ExpressionAttributeValues: map[string]types.AttributeValue{":ttl": rest.ttl},
		}); err != nil {
			var failed *types.ConditionalCheckFailedException
			if !errors.As(err, &failed) {
				return fmt.Errorf("decision retention: %w", err)
			}
		}
	}
	return s.writeRest(ctx, rest.writes)
}

// finishRequest adds the writes that end a pending request: its status
// (and status index key), its TTL ttl (Store.DocumentExpiry: the account's
// DocumentRetentionDays from now; a pending request never carries one),
// the same TTL on each of its decisions, and the removal of the awaiting
// entries of the members it awaits (ends, read just before). It returns
// what did not fit in tx, to write after the commit (finishRest).
func (tx *Tx) finishRequest(account, id string, ends requestEnds, st documents.RequestStatus, now time.Time, ttl types.AttributeValue) afterEnd {
	awaiting := ends.Awaiting
	tx.Update(approvalKey(account, id), Cond{
		Expr: "SET #st = :st, #fin = :now, #upd = :now, #ver = #ver + :one, #g2pk = :g2pk, #g2sk = :id, #ttl = :ttl REMOVE #aw",
		Names: map[string]string{"#st": "status", "#fin": "finishedAt", "#upd": "updatedAt", "#ver": AttrVersion, "#aw": "awaiting",
			"#g2pk": AttrGSI2PK, "#g2sk": AttrGSI2SK, "#ttl": AttrTTL},
		Values: map[string]types.AttributeValue{
			":st": str(string(st)), ":now": timeAV(now), ":one": num(1), ":g2pk": str(requestStatusPK(account, st)), ":id": str(id), ":ttl": ttl,
		},
	}, requestPending(), documents.ErrRequestNotPending)
	rest := afterEnd{ttl: ttl}
	for i, sk := range ends.Decided {
		if tx.txRoom() == 0 {
			for _, sk := range ends.Decided[i:] {
				rest.stamps = append(rest.stamps, itemKey(accountPK(account), sk))
			}
			break
		}
		// The decision exists: RecordDecision adds its key to the set in
		// the transaction that writes it.
		tx.Update(itemKey(accountPK(account), sk), Cond{
			Expr: "SET #ttl = :ttl", Names: map[string]string{"#ttl": AttrTTL}, Values: map[string]types.AttributeValue{":ttl": ttl},
		}, nil, nil)
	}
	dels := make([]types.WriteRequest, 0, len(awaiting))
	for _, m := range awaiting {
		dels = append(dels, awaitingDelete(account, m, id))
	}
	rest.writes = tx.addWrites(dels)
	return rest
}

func requestPending() *Cond {
	return &Cond{
		Expr:   "#st = :pending",
		Names:  map[string]string{"#st": "status"},
		Values: map[string]types.AttributeValue{":pending": str(string(documents.RequestPending))},
	}
}

// setDocumentStatus adds the write that moves the document of request
// from pending_approval to st.
// A document that is no longer open leaves the due index (gsi3) and
// gains the TTL ttl (closedDocument); one that stays open keeps its keys.
func (tx *Tx) setDocumentStatus(account string, t rbac.DocType, id, request string, st rbac.DocStatus, now time.Time, ttl types.AttributeValue) {
	u := Cond{
		Expr:   "SET #dst = :st, #upd = :now, #ver = #ver + :one",
		Names:  map[string]string{"#dst": "status", "#upd": "updatedAt", "#ver": AttrVersion},
		Values: map[string]types.AttributeValue{":st": str(string(st)), ":now": timeAV(now), ":one": num(1)},
	}
	if closedDocument(st) {
		u.Expr += ", #ttl = :ttl REMOVE #g3pk, #g3sk"
		u.Names["#g3pk"], u.Names["#g3sk"], u.Names["#ttl"] = AttrGSI3PK, AttrGSI3SK, AttrTTL
		u.Values[":ttl"] = ttl
	}
	tx.Update(documentKey(account, t, id), u, &Cond{
		Expr:  "#rid = :rid AND #dst = :pa",
		Names: map[string]string{"#rid": "requestId", "#dst": "status"},
		Values: map[string]types.AttributeValue{
			":rid": str(request), ":pa": str(string(rbac.DocPendingApproval)),
		},
	}, documents.ErrDocumentChanged)
}

type levelItem struct {
	MinAmount  float64 `dynamodbav:"minAmount"`
	Permission string  `dynamodbav:"permission,omitempty"`
	Role       string  `dynamodbav:"role,omitempty"`
	Required   int     `dynamodbav:"required"`
	Scope      string  `dynamodbav:"scope"`
	// The level's timers (absent: none).
	RemindAfterHours   int    `dynamodbav:"remindAfterHours,omitempty"`
	EscalateAfterHours int    `dynamodbav:"escalateAfterHours,omitempty"`
	EscalateTo         string `dynamodbav:"escalateTo,omitempty"`
}

func toLevelItems(ls []documents.ApprovalLevel) []levelItem {
	out := make([]levelItem, 0, len(ls))
	for _, l := range ls {
		out = append(out, levelItem(l))
	}
	return out
}

func fromLevelItems(ls []levelItem) []documents.ApprovalLevel {
	out := make([]documents.ApprovalLevel, 0, len(ls))
	for _, l := range ls {
		out = append(out, documents.ApprovalLevel(l))
	}
	return out
}

type policyItem struct {
	PK                string      `dynamodbav:"pk"`
	SK                string      `dynamodbav:"sk"`
	Type              string      `dynamodbav:"type"`
	AccountID         string      `dynamodbav:"accountId"`
	DocType           string      `dynamodbav:"docType"`
	Enabled           bool        `dynamodbav:"enabled"`
	Levels            []levelItem `dynamodbav:"levels"`
	SelfApproval      bool        `dynamodbav:"selfApproval"`
	ExternalAllowed   bool        `dynamodbav:"externalAllowed"`
	ExternalDomains   []string    `dynamodbav:"externalDomains"`
	ExpiresAfterHours int         `dynamodbav:"expiresAfterHours"`
	Version           int64       `dynamodbav:"version"`
	UpdatedAt         time.Time   `dynamodbav:"updatedAt"`
}

// GetApprovalPolicy reads the policy of a document type; a type nobody
// configured has documents.DefaultApprovalPolicy (version 0).
func (s *Store) GetApprovalPolicy(ctx context.Context, account string, t rbac.DocType) (documents.ApprovalPolicy, error) {
	var it policyItem
	err := s.getItem(ctx, policyKey(account, t), &it, ErrNotFound)
	if errors.Is(err, ErrNotFound) {
		return documents.DefaultApprovalPolicy(account, t), nil
	}
	if err != nil {
		return documents.ApprovalPolicy{}, err
	}
	return documents.ApprovalPolicy{
		AccountID: it.AccountID, DocType: rbac.DocType(it.DocType), Enabled: it.Enabled, Levels: fromLevelItems(it.Levels),
		SelfApproval: it.SelfApproval, ExternalAllowed: it.ExternalAllowed, ExternalDomains: append([]string{}, it.ExternalDomains...),
		ExpiresAfterHours: it.ExpiresAfterHours, Version: it.Version, UpdatedAt: it.UpdatedAt,
	}, nil
}

// PutApprovalPolicy writes p (already at its next version) when the
// stored policy is still at version read (0: none stored), else
// team.ErrStaleVersion.
func (s *Store) PutApprovalPolicy(ctx context.Context, p documents.ApprovalPolicy, read int64, ev audit.Event) error {
	k := policyKey(p.AccountID, p.DocType)
	it := policyItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value, Type: typePolicy,
		AccountID: p.AccountID, DocType: string(p.DocType), Enabled: p.Enabled, Levels: toLevelItems(p.Levels),
		SelfApproval: p.SelfApproval, ExternalAllowed: p.ExternalAllowed, ExternalDomains: append([]string{}, p.ExternalDomains...),
		ExpiresAfterHours: p.ExpiresAfterHours, Version: p.Version, UpdatedAt: p.UpdatedAt.UTC(),
	}
	tx := NewTx(ev)
	if read == 0 {
		tx.Put(marshal(it), ItemAbsent(), team.ErrStaleVersion)
	} else {
		tx.Put(marshal(it), VersionIs(read), team.ErrStaleVersion)
	}
	return s.Commit(ctx, tx)
}

type approverItem struct {
	Level    int       `dynamodbav:"level"`
	MemberID string    `dynamodbav:"memberId,omitempty"`
	Name     string    `dynamodbav:"name,omitempty"`
	Email    string    `dynamodbav:"email"`
	AskedAt  time.Time `dynamodbav:"askedAt"`
	// Escalated: asked by the level's escalation.
	Escalated bool `dynamodbav:"escalated,omitempty"`
}

type externalItem struct {
	Email string `dynamodbav:"email"`
	Name  string `dynamodbav:"name,omitempty"`
}

type requestItem struct {
	PK             string         `dynamodbav:"pk"`
	SK             string         `dynamodbav:"sk"`
	Type           string         `dynamodbav:"type"`
	ID             string         `dynamodbav:"id"`
	AccountID      string         `dynamodbav:"accountId"`
	DocType        string         `dynamodbav:"docType"`
	DocID          string         `dynamodbav:"docId"`
	DocTitle       string         `dynamodbav:"docTitle"`
	Amount         float64        `dynamodbav:"amount"`
	Currency       string         `dynamodbav:"currency"`
	Store          string         `dynamodbav:"store,omitempty"`
	Department     string         `dynamodbav:"department,omitempty"`
	Supplier       string         `dynamodbav:"supplier,omitempty"`
	RequesterID    string         `dynamodbav:"requesterId"`
	RequesterName  string         `dynamodbav:"requesterName,omitempty"`
	RequesterEmail string         `dynamodbav:"requesterEmail,omitempty"`
	Note           string         `dynamodbav:"note,omitempty"`
	External       *externalItem  `dynamodbav:"external,omitempty"`
	Levels         []levelItem    `dynamodbav:"levels"`
	SelfApproval   bool           `dynamodbav:"selfApproval"`
	TimeoutSeconds int            `dynamodbav:"timeoutSeconds"`
	Status         string         `dynamodbav:"status"`
	Level          int            `dynamodbav:"level"`
	TaskToken      string         `dynamodbav:"taskToken,omitempty"`
	Approvals      int            `dynamodbav:"approvals"`
	Asked          []approverItem `dynamodbav:"asked"`
	// Awaiting holds the member ids asked at the current level who have
	// not decided (for "mine to decide").
	Awaiting []string `dynamodbav:"awaiting,stringset,omitempty"`
	// The timers of the current level (see approvaltimers.go).
	TimerLevel     int       `dynamodbav:"timerLevel,omitempty"`
	LevelStartedAt time.Time `dynamodbav:"levelStartedAt,omitempty"`
	Reminders      int       `dynamodbav:"reminders,omitempty"`
	EscalatedLevel int       `dynamodbav:"escalatedLevel,omitempty"`
	Comment        string    `dynamodbav:"comment,omitempty"`
	DecidedBy      string    `dynamodbav:"decidedBy,omitempty"`
	Version        int64     `dynamodbav:"version"`
	CreatedAt      time.Time `dynamodbav:"createdAt"`
	UpdatedAt      time.Time `dynamodbav:"updatedAt"`
	FinishedAt     time.Time `dynamodbav:"finishedAt,omitempty"`
	// Index keys: by requester (gsi1) and by status (gsi2).
	GSI1PK string `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK string `dynamodbav:"gsi1sk,omitempty"`
	GSI2PK string `dynamodbav:"gsi2pk,omitempty"`
	GSI2SK string `dynamodbav:"gsi2sk,omitempty"`
}

func toRequestItem(r documents.ApprovalRequest) requestItem {
	k := approvalKey(r.AccountID, r.ID)
	it := requestItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value, Type: typeApproval,
		ID: r.ID, AccountID: r.AccountID, DocType: string(r.DocType), DocID: r.DocID, DocTitle: r.DocTitle, Amount: r.Amount,
		Currency: r.Currency, Store: r.Store, Department: r.Department, Supplier: r.Supplier, RequesterID: r.RequesterID, RequesterName: r.RequesterName,
		RequesterEmail: r.RequesterEmail, Note: r.Note, Levels: toLevelItems(r.Levels), SelfApproval: r.SelfApproval,
		TimeoutSeconds: r.TimeoutSeconds, Status: string(r.Status), Level: r.Level, TaskToken: r.TaskToken, Approvals: r.Approvals,
		Asked: toApproverItems(r.Asked), Comment: r.Comment, DecidedBy: r.DecidedBy, Version: r.Version,
		TimerLevel: r.TimerLevel, Reminders: r.Reminders, EscalatedLevel: r.EscalatedLevel,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		GSI1PK: requesterPK(r.AccountID, r.RequesterID), GSI1SK: r.ID,
		GSI2PK: requestStatusPK(r.AccountID, r.Status), GSI2SK: r.ID,
	}
	if r.External != nil {
		it.External = &externalItem{Email: r.External.Email, Name: r.External.Name}
	}
	if !r.FinishedAt.IsZero() {
		it.FinishedAt = r.FinishedAt.UTC()
	}
	if !r.LevelStartedAt.IsZero() {
		it.LevelStartedAt = r.LevelStartedAt.UTC()
	}
	return it
}

func toApproverItems(as []documents.Approver) []approverItem {
	out := make([]approverItem, 0, len(as))
	for _, a := range as {
		out = append(out, approverItem{Level: a.Level, MemberID: a.MemberID, Name: a.Name, Email: a.Email, AskedAt: a.AskedAt.UTC(), Escalated: a.Escalated})
	}
	return out
}

func (it requestItem) request() documents.ApprovalRequest {
	r := documents.ApprovalRequest{
		ID: it.ID, AccountID: it.AccountID, DocType: rbac.DocType(it.DocType), DocID: it.DocID, DocTitle: it.DocTitle,
		Amount: it.Amount, Currency: it.Currency, Store: it.Store, Department: it.Department, Supplier: it.Supplier, RequesterID: it.RequesterID,
		RequesterName: it.RequesterName, RequesterEmail: it.RequesterEmail, Note: it.Note, Levels: fromLevelItems(it.Levels),
		SelfApproval: it.SelfApproval, TimeoutSeconds: it.TimeoutSeconds, Status: documents.RequestStatus(it.Status), Level: it.Level,
		TaskToken: it.TaskToken, Approvals: it.Approvals, Comment: it.Comment, DecidedBy: it.DecidedBy, Version: it.Version,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, FinishedAt: it.FinishedAt,
		TimerLevel: it.TimerLevel, LevelStartedAt: it.LevelStartedAt, Reminders: it.Reminders, EscalatedLevel: it.EscalatedLevel,
		Awaiting: slices.Clone(it.Awaiting),
	}
	if it.External != nil {
		r.External = &documents.External{Email: it.External.Email, Name: it.External.Name}
	}
	for _, a := range it.Asked {
		r.Asked = append(r.Asked, documents.Approver{Level: a.Level, MemberID: a.MemberID, Name: a.Name, Email: a.Email, AskedAt: a.AskedAt, Escalated: a.Escalated})
	}
	return r
}

// CreateApprovalRequest writes a new pending request and, in the same
// transaction, marks its document (read at doc.Version, in a status that
// may request approval) pending_approval; documents.ErrDocumentChanged when
// the document changed meanwhile.
func (s *Store) CreateApprovalRequest(ctx context.Context, r documents.ApprovalRequest, doc documents.Document, ev audit.Event) error {
	tx := NewTx(ev)
	u := Cond{
		Expr:  "SET #dst = :pa, #rid = :rid, #upd = :now, #ver = #ver + :one",
		Names: map[string]string{"#dst": "status", "#rid": "requestId", "#upd": "updatedAt"},
		Values: map[string]types.AttributeValue{
			":pa": str(string(rbac.DocPendingApproval)), ":rid": str(r.ID), ":now": timeAV(r.CreatedAt), ":one": num(1),
		},
	}
	pending := doc
	pending.Status = rbac.DocPendingApproval
	if due, dueSK := dueKeys(pending); due != "" {
		// pending_approval is open: (re)write the due keys, which also
		// gives a document written before they existed its keys.
		u.Expr += ", #g3pk = :g3pk, #g3sk = :g3sk"
		u.Names["#g3pk"], u.Names["#g3sk"] = AttrGSI3PK, AttrGSI3SK
		u.Values[":g3pk"], u.Values[":g3sk"] = str(due), str(dueSK)
	}
	if closedDocument(doc.Status) {
		// Reopened (a denied or expired document requested again): it
		// loses its TTL.
		u.Expr += " REMOVE #ttl"
		u.Names["#ttl"] = AttrTTL
	}
	tx.Update(documentKey(doc.AccountID, doc.Type, doc.ID), u, VersionIs(doc.Version), documents.ErrDocumentChanged)
	tx.Put(marshal(toRequestItem(r)), ItemAbsent(), nil)
	return s.Commit(ctx, tx)
}

// GetApprovalRequest reads a request.
func (s *Store) GetApprovalRequest(ctx context.Context, account, id string) (documents.ApprovalRequest, error) {
	var it requestItem
	if err := s.getItem(ctx, approvalKey(account, id), &it, documents.ErrRequestNotFound); err != nil {
		return documents.ApprovalRequest{}, err
	}
	return it.request(), nil
}

// RequestFilter narrows ListApprovalRequests.
type RequestFilter struct {
	// Status, when set, keeps requests in that status.
	Status documents.RequestStatus
	// RequesterID, when set, keeps requests that member made.
	RequesterID string
	// AwaitingID, when set, keeps pending requests that member was asked
	// to decide at the current level and has not decided.
	AwaitingID string
	// AwaitingFor, with AwaitingID, also keeps the pending requests that
	// await these members (those AwaitingID stands in for as their
	// delegate): one list of all, newest first, each request once.
	AwaitingFor []string
}

// ListApprovalRequests lists an account's requests, newest first,
// filtered by f, limit items at a time. Each filter reads only what it
// answers (see approvalindex.go): AwaitingID the member's awaiting
// entries (and AwaitingFor's), Status the status index (gsi2), RequesterID the requester
// index (gsi1, with Status checked on the requester's own requests). A
// page may still hold fewer than limit only when the requester index is
// read with a status, or an awaiting entry was left behind by a race;
// follow Next. The index reads are eventually consistent, like every GSI
// read: a request changed a moment ago may show in its previous status
// for that moment. A cursor continues the list of the filter it was
// issued for (ErrBadCursor with another).
func (s *Store) ListApprovalRequests(ctx context.Context, account string, f RequestFilter, limit int, cursor string) (Page[documents.ApprovalRequest], error) {
	list := "approval-requests"
	switch {
	case f.AwaitingID != "":
		list += "/awaiting/" + f.AwaitingID
	case f.RequesterID != "":
		list += "/requester/" + f.RequesterID
	case f.Status != "":
		list += "/status/" + string(f.Status)
	}
	start, err := s.cursors.Open(account, list, cursor)
	if err != nil {
		return Page[documents.ApprovalRequest]{}, err
	}
	if f.AwaitingID != "" {
		items, last, err := s.listAwaiting(ctx, account, f, limit, start)
		if err != nil {
			return Page[documents.ApprovalRequest]{}, err
		}
		page := Page[documents.ApprovalRequest]{Items: items}
		page.Next, err = s.cursors.Seal(account, list, last)
		return page, err
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(accountPK(account)), ":prefix": str(prefixApproval + sep),
		},
		Limit: aws.Int32(pageSize(limit)), ExclusiveStartKey: start,
		ScanIndexForward: aws.Bool(false),
	}
	switch {
	case f.RequesterID != "":
		in.IndexName = aws.String(IndexGSI1)
		in.KeyConditionExpression = aws.String("#pk = :pk")
		in.ExpressionAttributeNames = map[string]string{"#pk": AttrGSI1PK}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(requesterPK(account, f.RequesterID))}
		if f.Status != "" {
			in.FilterExpression = aws.String("#st = :st")
			in.ExpressionAttributeNames["#st"] = "status"
			in.ExpressionAttributeValues[":st"] = str(string(f.Status))
		}
	case f.Status != "":
		in.IndexName = aws.String(IndexGSI2)
		in.KeyConditionExpression = aws.String("#pk = :pk")
		in.ExpressionAttributeNames = map[string]string{"#pk": AttrGSI2PK}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(requestStatusPK(account, f.Status))}
	default:
		in.ConsistentRead = aws.Bool(true)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return Page[documents.ApprovalRequest]{}, fmt.Errorf("list approval requests: %w", err)
	}
	var items []requestItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return Page[documents.ApprovalRequest]{}, fmt.Errorf("list approval requests: %w", err)
	}
	page := Page[documents.ApprovalRequest]{Items: make([]documents.ApprovalRequest, 0, len(items))}
	for _, it := range items {
		page.Items = append(page.Items, it.request())
	}
	page.Next, err = s.cursors.Seal(account, list, out.LastEvaluatedKey)
	return page, err
}

// AwaitLevel records that level is being awaited with task token
// (resetting the level's approval count when the level changes), the
// people asked, and the one-time tokens of those asked now, in one
// transaction. documents.ErrRequestNotPending when the request ended.
//
// The awaiting entries follow the set: one per member in awaiting, and
// the previous set's others removed (see approvalindex.go; those that do
// not fit in the transaction are written right after it).
func (s *Store) AwaitLevel(ctx context.Context, r documents.ApprovalRequest, level int, token string, asked []documents.Approver, awaiting []string, tokens []Token, ev audit.Event) error {
	ends, err := s.awaitingOf(ctx, r.AccountID, r.ID)
	if err != nil {
		return err
	}
	before := ends.Awaiting
	tx := NewTx(ev)
	expr := "SET #lvl = :lvl, #tok = :tok, #asked = :asked, #upd = :now, #ver = #ver + :one" +
		", #g1pk = :g1pk, #g1sk = :id, #g2pk = :g2pk, #g2sk = :id"
	values := map[string]types.AttributeValue{
		":lvl": num(int64(level)), ":tok": str(token), ":now": timeAV(s.now()), ":one": num(1),
		":asked": mustMarshal(toApproverItems(asked)),
		":g1pk":  str(requesterPK(r.AccountID, r.RequesterID)), ":g2pk": str(requestStatusPK(r.AccountID, documents.RequestPending)), ":id": str(r.ID),
	}
	if r.Level != level {
		expr += ", #appr = :zero"
		values[":zero"] = num(0)
	}
	names := map[string]string{"#lvl": "level", "#tok": "taskToken", "#asked": "asked", "#upd": "updatedAt", "#ver": AttrVersion, "#appr": "approvals", "#aw": "awaiting",
		"#g1pk": AttrGSI1PK, "#g1sk": AttrGSI1SK, "#g2pk": AttrGSI2PK, "#g2sk": AttrGSI2SK}
	if len(awaiting) > 0 {
		expr += ", #aw = :aw"
		values[":aw"] = &types.AttributeValueMemberSS{Value: awaiting}
	} else {
		expr += " REMOVE #aw"
	}
	if r.Level == level {
		delete(names, "#appr")
	}
	tx.Update(approvalKey(r.AccountID, r.ID), Cond{Expr: expr, Names: names, Values: values}, requestPending(), documents.ErrRequestNotPending)
	for _, t := range tokens {
		tx.IssueToken(t)
	}
	var entries []types.WriteRequest
	ttl := s.awaitingTTL(ctx, r.AccountID, s.now(), r.TimeoutSeconds)
	for _, m := range awaiting {
		entries = append(entries, awaitingPut(r.AccountID, m, r.ID, ttl))
	}
	for _, m := range before {
		if !slices.Contains(awaiting, m) {
			entries = append(entries, awaitingDelete(r.AccountID, m, r.ID))
		}
	}
	rest := tx.addWrites(entries)
	if err := s.Commit(ctx, tx); err != nil {
		return err
	}
	return s.writeRest(ctx, rest)
}

func mustMarshal(v any) types.AttributeValue {
	av, err := attributevalue.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return av
}

type decisionItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Type      string    `dynamodbav:"type"`
	RequestID string    `dynamodbav:"requestId"`
	Level     int       `dynamodbav:"level"`
	Approver  string    `dynamodbav:"approver"`
	MemberID  string    `dynamodbav:"memberId,omitempty"`
	Name      string    `dynamodbav:"name,omitempty"`
	Email     string    `dynamodbav:"email,omitempty"`
	Outcome   string    `dynamodbav:"outcome"`
	Comment   string    `dynamodbav:"comment,omitempty"`
	ByLink    bool      `dynamodbav:"byLink"`
	DecidedAt time.Time `dynamodbav:"decidedAt"`
	// ImpersonatorID and ImpersonatorName: the admin who acted as the
	// member, when the decision was made in an impersonated session.
	ImpersonatorID   string `dynamodbav:"impersonatorId,omitempty"`
	ImpersonatorName string `dynamodbav:"impersonatorName,omitempty"`
	// DelegateID, DelegateName, DelegateEmail: the delegate who decided
	// on behalf of the member.
	DelegateID    string `dynamodbav:"delegateId,omitempty"`
	DelegateName  string `dynamodbav:"delegateName,omitempty"`
	DelegateEmail string `dynamodbav:"delegateEmail,omitempty"`
}

type voteItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	RequestID string `dynamodbav:"requestId"`
	Level     int    `dynamodbav:"level"`
	Voter     string `dynamodbav:"voter"`
	MemberID  string `dynamodbav:"memberId"`
}

// OnBehalf is what a delegate's decision rests on, as the caller read it:
// the member's item (its version; it must still be active) and the
// member's delegation (its version, naming the delegate).
type OnBehalf struct {
	MemberVersion     int64
	DelegationVersion int64
}

// TokenUse is the one-time token a link decision consumes.
type TokenUse struct {
	Hash    string
	Subject string
	Now     time.Time
}

// RecordDecision records d at its level in one transaction: the request
// must still be pending at d.Level (documents.ErrRequestNotPending), the
// approver must not have decided at that level (documents.ErrAlreadyDecided),
// and, for a link, its token is consumed (ErrTokenInvalid when used,
// expired or replaced). An approval adds one to the level's count.
//
// The level must also still be open: fewer approvals than it requires
// and no denial recorded at it (documents.ErrRequestNotPending otherwise). The
// request stays pending until the workflow ends the level, so without
// this two approvers deciding at once (or one just after the other) at a
// level that needs one approval would both be recorded, an approval and a
// denial even, and the outcome would depend on which reached the workflow
// first. required is the level's required approvals (the callers hold the
// request; a level's requirement never changes).
//
// One person, one vote also across delegation: a member's own vote
// requires that they cast no vote on behalf of another member at the
// level (no vote marker of theirs); a delegate's vote on behalf of
// d.MemberID (d.DelegateID set; ob required) puts the delegate's marker
// (one per delegate and level) and requires that the delegate has no
// decision of their own at the level (documents.ErrAlreadyDecided
// either way), that the member's item and delegation are as read (ob;
// ErrDelegationLost otherwise), all in the decision's transaction.
func (s *Store) RecordDecision(ctx context.Context, account string, d documents.ApprovalDecision, required int, link *TokenUse, ev audit.Event) error {
	return s.recordDecision(ctx, account, d, required, link, nil, ev)
}

// RecordDecisionOnBehalf is RecordDecision of a delegate's vote on behalf
// of d.MemberID, resting on ob.
func (s *Store) RecordDecisionOnBehalf(ctx context.Context, account string, d documents.ApprovalDecision, required int, link *TokenUse, ob OnBehalf, ev audit.Event) error {
	if d.DelegateID == "" || d.MemberID == "" || d.DelegateID == d.MemberID {
		return fmt.Errorf("record decision on behalf: needs a member and another delegate")
	}
	return s.recordDecision(ctx, account, d, required, link, &ob, ev)
}

// onBehalfChecks adds to tx what a delegate's decision on behalf of member
// rests on (ob): the member's item as read and active, and the member's
// delegation as read and naming delegate (ErrDelegationLost otherwise).
func (s *Store) onBehalfChecks(tx *Tx, account, member, delegate string, ob OnBehalf) {
	mc := VersionIs(ob.MemberVersion)
	mc.Expr += " AND #st = :active"
	mc.Names["#st"] = "status"
	mc.Values[":active"] = str(string(rbac.StatusActive))
	tx.Check(memberKey(account, member), mc, ErrDelegationLost)
	dc := VersionIs(ob.DelegationVersion)
	dc.Expr += " AND #dg = :dg"
	dc.Names["#dg"] = "delegateId"
	dc.Values[":dg"] = str(delegate)
	tx.Check(delegationKey(account, member), dc, ErrDelegationLost)
}

// ErrDelegationLost: the member a delegate decides for, or their
// delegation, changed since it was read (the member demoted, suspended
// or back, the delegation moved or removed).
var ErrDelegationLost = errors.New("the delegation or its member changed meanwhile")

func (s *Store) recordDecision(ctx context.Context, account string, d documents.ApprovalDecision, required int, link *TokenUse, ob *OnBehalf, ev audit.Event) error {
	tx := NewTx(ev)
	if link != nil {
		tx.ConsumeToken(link.Hash, TokenApproval, link.Subject, link.Now)
	}
	k := decisionKey(account, d.RequestID, d.Level, d.Approver)
	tx.Put(marshal(decisionItem{
		PK: k[AttrPK].(*types.AttributeValueMemberS).Value, SK: k[AttrSK].(*types.AttributeValueMemberS).Value, Type: typeDecision,
		RequestID: d.RequestID, Level: d.Level, Approver: d.Approver, MemberID: d.MemberID, Name: d.Name, Email: d.Email,
		Outcome: d.Outcome, Comment: d.Comment, ByLink: d.ByLink, DecidedAt: d.DecidedAt.UTC(),
		ImpersonatorID: d.ImpersonatorID, ImpersonatorName: d.ImpersonatorName,
		DelegateID: d.DelegateID, DelegateName: d.DelegateName, DelegateEmail: d.DelegateEmail,
	}), ItemAbsent(), documents.ErrAlreadyDecided)
	var vote map[string]types.AttributeValue
	switch {
	case ob != nil:
		vote = voteKey(account, d.RequestID, d.Level, d.DelegateID)
		tx.Put(marshal(voteItem{
			PK: vote[AttrPK].(*types.AttributeValueMemberS).Value, SK: vote[AttrSK].(*types.AttributeValueMemberS).Value, Type: typeVote,
			RequestID: d.RequestID, Level: d.Level, Voter: d.DelegateID, MemberID: d.MemberID,
		}), ItemAbsent(), documents.ErrAlreadyDecided)
		tx.Check(decisionKey(account, d.RequestID, d.Level, d.DelegateID), ItemAbsent(), documents.ErrAlreadyDecided)
		s.onBehalfChecks(tx, account, d.MemberID, d.DelegateID, *ob)
	case d.MemberID != "":
		tx.Check(voteKey(account, d.RequestID, d.Level, d.MemberID), ItemAbsent(), documents.ErrAlreadyDecided)
	}
	inc := int64(0)
	if d.Outcome == string(documents.RequestApproved) {
		inc = 1
	}
	who := d.Name
	if who == "" {
		who = d.Email
	}
	if d.DelegateID != "" {
		by := d.DelegateName
		if by == "" {
			by = d.DelegateEmail
		}
		who = by + " on behalf of " + who
	}
	expr := "SET #appr = #appr + :inc, #cm = :cm, #by = :by, #upd = :now, #ver = #ver + :one"
	values := map[string]types.AttributeValue{
		":inc": num(inc), ":cm": str(d.Comment), ":by": str(who), ":now": timeAV(d.DecidedAt), ":one": num(1),
		":pending": str(string(documents.RequestPending)), ":lvl": num(int64(d.Level)),
	}
	names := map[string]string{"#appr": "approvals", "#cm": "comment", "#by": "decidedBy", "#upd": "updatedAt", "#ver": AttrVersion, "#st": "status", "#lvl": "level", "#den": "deniedLevel"}
	if inc == 0 {
		expr += ", #den = :lvl"
	}
	open := "#st = :pending AND #lvl = :lvl AND (attribute_not_exists(#den) OR #den <> :lvl)"
	if required > 0 {
		open += " AND #appr < :req"
		values[":req"] = num(int64(required))
	}
	// The request names its decisions, so that ending it stamps their
	// retention without reading them.
	expr += " ADD #decd :dk"
	names["#decd"] = "decided"
	decided := []string{k[AttrSK].(*types.AttributeValueMemberS).Value}
	if vote != nil {
		// The vote marker is stamped with the decisions when the request
		// ends.
		decided = append(decided, vote[AttrSK].(*types.AttributeValueMemberS).Value)
	}
	values[":dk"] = &types.AttributeValueMemberSS{Value: decided}
	if d.MemberID != "" {
		expr += " DELETE #aw :me"
		names["#aw"] = "awaiting"
		values[":me"] = &types.AttributeValueMemberSS{Value: []string{d.MemberID}}
		tx.Delete(awaitingKey(account, d.MemberID, d.RequestID), nil, nil)
	}
	tx.Update(approvalKey(account, d.RequestID), Cond{Expr: expr, Names: names, Values: values},
		&Cond{Expr: open}, documents.ErrRequestNotPending)
	return s.Commit(ctx, tx)
}

// ListDecisions lists a request's decisions, by level.
func (s *Store) ListDecisions(ctx context.Context, account, request string) ([]documents.ApprovalDecision, error) {
	items, err := queryPrefix[decisionItem](ctx, s, account, decisionPrefix(request), "list decisions")
	if err != nil {
		return nil, err
	}
	var out []documents.ApprovalDecision
	for _, it := range items {
		out = append(out, documents.ApprovalDecision{
			RequestID: it.RequestID, Level: it.Level, Approver: it.Approver, MemberID: it.MemberID, Name: it.Name,
			Email: it.Email, Outcome: it.Outcome, Comment: it.Comment, ByLink: it.ByLink, DecidedAt: it.DecidedAt,
			ImpersonatorID: it.ImpersonatorID, ImpersonatorName: it.ImpersonatorName,
			DelegateID: it.DelegateID, DelegateName: it.DelegateName, DelegateEmail: it.DelegateEmail,
		})
	}
	return out, nil
}

// FinishRequest ends a pending request with st and, in the same
// transaction, moves its document from pending_approval to doc
// (documents.ErrRequestNotPending when the request already ended,
// documents.ErrDocumentChanged when the document no longer waits on it).
// An empty doc leaves the document alone.
func (s *Store) FinishRequest(ctx context.Context, r documents.ApprovalRequest, st documents.RequestStatus, doc rbac.DocStatus, now time.Time, ev audit.Event) error {
	ends, err := s.awaitingOf(ctx, r.AccountID, r.ID)
	if err != nil {
		return err
	}
	ttl := s.DocumentExpiry(ctx, r.AccountID, now)
	tx := NewTx(ev)
	if doc != "" {
		tx.setDocumentStatus(r.AccountID, r.DocType, r.DocID, r.ID, doc, now, ttl)
	}
	rest := tx.finishRequest(r.AccountID, r.ID, ends, st, now, ttl)
	if err := s.Commit(ctx, tx); err != nil {
		return err
	}
	return s.finishRest(ctx, rest)
}

// OutboxSent reports whether an email with the outbox key k was sent
// (claimed and recorded as done).
func (s *Store) OutboxSent(ctx context.Context, k string) (bool, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: outboxKey(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fmt.Errorf("outbox sent: %w", err)
	}
	_, done := res.Item["messageId"]
	return done, nil
}

// DocumentFacts reads a document and the approval policy of its type in
// one BatchGetItem, for permission checks that name a stored document.
// found is false when the document does not exist.
func (s *Store) DocumentFacts(ctx context.Context, account string, t rbac.DocType, id string) (doc documents.Document, found bool, pol documents.ApprovalPolicy, err error) {
	pol = documents.DefaultApprovalPolicy(account, t)
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{documentKey(account, t, id), policyKey(account, t)})
	if err != nil {
		return doc, false, pol, err
	}
	for _, raw := range items {
		switch raw[AttrType].(*types.AttributeValueMemberS).Value {
		case typeDocument:
			var it documentItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return doc, false, pol, fmt.Errorf("decode document: %w", err)
			}
			doc, found = it.document(), true
		case typePolicy:
			var it policyItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return doc, false, pol, fmt.Errorf("decode policy: %w", err)
			}
			pol.Enabled, pol.Levels = it.Enabled, fromLevelItems(it.Levels)
		}
	}
	return doc, found, pol, nil
}

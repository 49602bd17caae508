// Package documents holds Steward's document and approval domain types:
// the documents the host app registers, each document type's approval
// policy (levels), approval requests, the approvers asked and their
// decisions, with their pure helpers (which levels apply at an amount,
// whether a change voids an approval). Like pkg/team's types they carry no
// storage or JSON tags: pkg/store and pkg/approvals convert them. This
// package imports neither, so both can import it.
package documents

import (
	"errors"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// Document is a document the host app registered (a purchase order, a
// sales order, ...), identified by its type and the host app's id.
type Document struct {
	AccountID  string
	Type       rbac.DocType
	ID         string
	Store      string
	Department string
	Supplier   string
	Amount     float64
	Currency   string
	Title      string
	Summary    string
	// DueDate is YYYY-MM-DD, or empty.
	DueDate string
	URL     string
	Status  rbac.DocStatus
	// RequestID is the approval request that is (or was last) pending.
	RequestID string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy string
}

// Approval scopes: where a level's approvers must hold their grant.
const (
	// ApprovalScopeDocument: a grant covering the document's store or
	// department (or the account).
	ApprovalScopeDocument = "document"
	// ApprovalScopeAccount: an account-wide grant.
	ApprovalScopeAccount = "account"
)

// ApprovalLevel is one level of an approval policy.
type ApprovalLevel struct {
	// MinAmount: the level applies to documents of at least this amount.
	MinAmount float64
	// Permission, when set, is the permission approvers must hold.
	Permission string
	// Role, when set, is the role approvers must be assigned.
	Role string
	// Required is how many approvals the level needs.
	Required int
	// Scope is ApprovalScopeDocument or ApprovalScopeAccount.
	Scope string
	// RemindAfterHours, when set, reminds the level's approvers who have
	// not decided after that many hours, then every RemindAfterHours but
	// at most daily, until the level ends.
	RemindAfterHours int
	// EscalateAfterHours, when set, escalates the level after that many
	// hours to EscalateTo: EscalateToAdmins, EscalateToNextLevel or a
	// role id.
	EscalateAfterHours int
	EscalateTo         string
}

// Where a level escalates to (ApprovalLevel.EscalateTo), beside a role
// id.
const (
	// EscalateToAdmins: the account's administrators.
	EscalateToAdmins = "admins"
	// EscalateToNextLevel: the approvers of the next level (the
	// administrators at the last level).
	EscalateToNextLevel = "next_level"
)

// ApprovalPolicy is an account's approval rules for one document type.
type ApprovalPolicy struct {
	AccountID         string
	DocType           rbac.DocType
	Enabled           bool
	Levels            []ApprovalLevel
	SelfApproval      bool
	ExternalAllowed   bool
	ExternalDomains   []string
	ExpiresAfterHours int
	Version           int64
	UpdatedAt         time.Time
}

// DefaultApprovalPolicy is the policy of a type nobody configured:
// disabled.
func DefaultApprovalPolicy(account string, t rbac.DocType) ApprovalPolicy {
	return ApprovalPolicy{AccountID: account, DocType: t, ExpiresAfterHours: 72}
}

// LevelsFor returns the levels that apply to amount, in order.
func (p ApprovalPolicy) LevelsFor(amount float64) []ApprovalLevel {
	var out []ApprovalLevel
	for _, l := range p.Levels {
		if amount >= l.MinAmount {
			out = append(out, l)
		}
	}
	return out
}

// Requires reports whether a document of amount needs an approval under
// p: the policy is on and at least one of its levels applies.
func (p ApprovalPolicy) Requires(amount float64) bool {
	return p.Enabled && len(p.LevelsFor(amount)) > 0
}

// ApprovedTermsChanged reports whether next changes what an approval of
// prev approved: its amount, currency, store, department or supplier. An
// approved document whose terms change loses its approval.
func ApprovedTermsChanged(prev, next Document) bool {
	return prev.Amount != next.Amount || prev.Currency != next.Currency || prev.Store != next.Store ||
		prev.Department != next.Department || prev.Supplier != next.Supplier
}

// RequestStatus is an approval request's status.
type RequestStatus string

// The request statuses.
const (
	RequestPending   RequestStatus = "pending"
	RequestApproved  RequestStatus = "approved"
	RequestDenied    RequestStatus = "denied"
	RequestExpired   RequestStatus = "expired"
	RequestCancelled RequestStatus = "cancelled"
)

// Valid reports whether s is a request status.
func (s RequestStatus) Valid() bool {
	switch s {
	case RequestPending, RequestApproved, RequestDenied, RequestExpired, RequestCancelled:
		return true
	}
	return false
}

// Approver is someone asked to decide at a level: a member, or an
// external person (MemberID empty) who decides by link only.
type Approver struct {
	Level    int
	MemberID string
	Name     string
	Email    string
	AskedAt  time.Time
	// Escalated: asked by the level's escalation, not by its rule.
	Escalated bool
}

// Key identifies the approver within a request: the member id, or
// "ext:" and the email.
func (a Approver) Key() string {
	if a.MemberID != "" {
		return a.MemberID
	}
	return "ext:" + a.Email
}

// External is a nominated external approver.
type External struct {
	Email string
	Name  string
}

// ApprovalRequest is one request for approval of a document.
type ApprovalRequest struct {
	ID             string
	AccountID      string
	DocType        rbac.DocType
	DocID          string
	DocTitle       string
	Amount         float64
	Currency       string
	Store          string
	Department     string
	Supplier       string
	RequesterID    string
	RequesterName  string
	RequesterEmail string
	Note           string
	External       *External
	// Levels is the policy's levels that applied, snapshotted.
	Levels         []ApprovalLevel
	SelfApproval   bool
	TimeoutSeconds int
	Status         RequestStatus
	// Level is the level being awaited (0 before the first await).
	Level int
	// TaskToken is the workflow's token for Level.
	TaskToken string
	// Approvals counts Level's approvals so far.
	Approvals int
	// Asked lists everyone asked, every level.
	Asked []Approver
	// Awaiting lists the member ids asked at Level who have not decided,
	// as stored (the store's decisions and level changes maintain it).
	Awaiting []string
	// TimerLevel is the level whose reminders and escalation
	// LevelStartedAt counts from (0 before the workflow's first Tick);
	// Reminders is how many reminders that level sent, EscalatedLevel the
	// last level escalated (0: none).
	TimerLevel     int
	LevelStartedAt time.Time
	Reminders      int
	EscalatedLevel int
	// Comment and DecidedBy describe the deciding (last) decision.
	Comment    string
	DecidedBy  string
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
}

// ApprovalDecision is one approver's decision at one level.
type ApprovalDecision struct {
	RequestID string
	Level     int
	// Approver is Approver.Key(); MemberID is empty for external people.
	Approver  string
	MemberID  string
	Name      string
	Email     string
	Outcome   string
	Comment   string
	ByLink    bool
	DecidedAt time.Time
	// ImpersonatorID and ImpersonatorName name the admin who made the
	// decision in an impersonated session as MemberID (empty otherwise):
	// the decision records the human at the keyboard too.
	ImpersonatorID   string
	ImpersonatorName string
	// DelegateID, DelegateName and DelegateEmail name the delegate who
	// decided on behalf of MemberID (empty otherwise): the vote is the
	// member's (their seat at the level), cast by the delegate.
	DelegateID    string
	DelegateName  string
	DelegateEmail string
}

// Voter is the member who cast d: its delegate, or its member.
func (d ApprovalDecision) Voter() string {
	if d.DelegateID != "" {
		return d.DelegateID
	}
	return d.MemberID
}

// Document and approval errors.
var (
	ErrDocumentNotFound = errors.New("document not found")
	ErrDocumentChanged  = errors.New("document changed meanwhile")
	ErrRequestNotFound  = errors.New("approval request not found")
	// ErrRequestNotPending: the request ended, or moved to another level.
	ErrRequestNotPending = errors.New("approval request is no longer pending at that level")
	// ErrAlreadyDecided: this approver decided at this level already.
	ErrAlreadyDecided = errors.New("already decided at this level")
)

// Resource is the document as decisions see it (the resource of
// rbac.ActionDocumentView and the other document actions). Its date, for
// the account's lock-by-age, is when it was registered.
func (d Document) Resource() rbac.Resource {
	return rbac.Resource{
		Account: d.AccountID, Type: "document", ID: d.ID, Store: d.Store, Department: d.Department,
		Supplier: d.Supplier, DocType: d.Type, DocStatus: d.Status, Date: d.CreatedAt,
	}
}

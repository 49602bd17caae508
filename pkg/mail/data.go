package mail

import (
	"fmt"
	"time"
)

// VerifyEmailData fills the "verify_email" template: the link that
// confirms a new identity's email address.
type VerifyEmailData struct {
	// Name is the person's name; empty gives a plain greeting.
	Name string
	// Link is the verification URL (with its token).
	Link string
	// ExpiresAt is when the link stops working; zero leaves it unsaid.
	// It is shown in its own time zone.
	ExpiresAt time.Time
	// AccountName is the account the link creates (a sign-up) or joins
	// (Join: self-registration); empty for a plain verification.
	AccountName string
	// Join says the link joins AccountName rather than creating it.
	Join bool
	// Existing says the address already has a Steward sign-in: the email
	// tells its owner how to sign in or reset their password instead, and
	// that the link goes ahead only with that sign-in's password.
	Existing bool
}

func (d VerifyEmailData) check() error { return requireLink("Link", d.Link) }

// what is the registration the link finishes, for people ("creating the
// account Acme", "joining Acme"); "" for a plain verification.
func (d VerifyEmailData) what() string {
	switch {
	case d.AccountName == "":
		return ""
	case d.Join:
		return "joining " + d.AccountName
	}
	return "creating the account " + d.AccountName
}

// PasswordResetData fills the "password_reset" template.
type PasswordResetData struct {
	// Name is the person's name; empty gives a plain greeting.
	Name string
	// Link is the password-reset URL (with its token).
	Link string
	// ExpiresAt is when the link stops working; zero leaves it unsaid.
	ExpiresAt time.Time
}

func (d PasswordResetData) check() error { return requireLink("Link", d.Link) }

// InvitationData fills the "invitation" template: an invitation to join
// an account.
type InvitationData struct {
	// Name is the invitee's name, if the inviter gave one.
	Name string
	// InviterName is who sent the invitation.
	InviterName string
	// AccountName is the account the invitee is asked to join.
	AccountName string
	// Link is the acceptance URL (with its token).
	Link string
	// ExpiresAt is when the invitation lapses; zero leaves it unsaid.
	ExpiresAt time.Time
}

func (d InvitationData) check() error {
	if err := require("InviterName", d.InviterName); err != nil {
		return err
	}
	if err := require("AccountName", d.AccountName); err != nil {
		return err
	}
	return requireLink("Link", d.Link)
}

// ApprovalRequestData fills the "approval_request" template: a document
// waiting for this approver's decision.
type ApprovalRequestData struct {
	// ApproverName is the recipient's name; empty gives a plain greeting.
	ApproverName string
	// RequesterName is who asked for the approval.
	RequesterName string
	// AccountName is the account the document belongs to (optional).
	AccountName string
	// DocumentType is the document kind for people ("Purchase order");
	// empty means "Document".
	DocumentType string
	// DocumentTitle is the document's title.
	DocumentTitle string
	// StoreName, DepartmentName and SupplierName are the document's
	// store, department and supplier as people call them (the scope's
	// name, its id when it has none); each is optional.
	StoreName      string
	DepartmentName string
	SupplierName   string
	// Amount is the amount as a decimal string ("4250.00"); Currency its
	// ISO 4217 code ("EUR").
	Amount   string
	Currency string
	// Note is the requester's note (optional, may span lines).
	Note string
	// ApproveLink is the approval page (/approve/{token}). Opening it
	// decides nothing; the approver decides on the page.
	ApproveLink string
	// ExpiresAt is when the request expires; zero leaves it unsaid.
	ExpiresAt time.Time
	// OnBehalfOf is the approver the recipient stands in for as their
	// delegate (optional): the email asks for that approver's approval,
	// decided on their behalf.
	OnBehalfOf string
	// Reason is why this email goes out: empty for the level's first
	// emails, ReasonReminder or ReasonEscalation.
	Reason ApprovalReason
}

// ApprovalReason is why an approval email goes out beside the first ask.
type ApprovalReason string

// The reasons.
const (
	// ReasonReminder: a reminder to an approver who has not decided; its
	// link replaces the earlier one.
	ReasonReminder ApprovalReason = "reminder"
	// ReasonEscalation: the level was escalated to this approver.
	ReasonEscalation ApprovalReason = "escalation"
)

func (d ApprovalRequestData) check() error {
	switch d.Reason {
	case "", ReasonReminder, ReasonEscalation:
	default:
		return fmt.Errorf("%w: Reason %q", ErrInvalid, d.Reason)
	}
	if err := require("DocumentTitle", d.DocumentTitle); err != nil {
		return err
	}
	if err := require("RequesterName", d.RequesterName); err != nil {
		return err
	}
	if err := require("Amount", d.Amount); err != nil {
		return err
	}
	return requireLink("ApproveLink", d.ApproveLink)
}

// Outcome is how an approval request ended.
type Outcome string

// The outcomes ApprovalOutcomeData reports.
const (
	OutcomeApproved Outcome = "approved"
	OutcomeDenied   Outcome = "denied"
	OutcomeExpired  Outcome = "expired"
)

// ApprovalOutcomeData fills the "approval_outcome" template: the
// requester learns the decision.
type ApprovalOutcomeData struct {
	// RequesterName is the recipient's name; empty gives a plain greeting.
	RequesterName string
	// DocumentType is the document kind for people; empty means
	// "Document".
	DocumentType string
	// DocumentTitle is the document's title.
	DocumentTitle string
	// Amount and Currency as in ApprovalRequestData (optional).
	Amount   string
	Currency string
	// Outcome is approved, denied or expired.
	Outcome Outcome
	// DeciderName is who decided (empty for expired or if unknown).
	DeciderName string
	// Comment is the decider's comment (optional, may span lines).
	Comment string
	// Link opens the document or request in the app (optional).
	Link string
}

func (d ApprovalOutcomeData) check() error {
	if err := require("DocumentTitle", d.DocumentTitle); err != nil {
		return err
	}
	switch d.Outcome {
	case OutcomeApproved, OutcomeDenied, OutcomeExpired:
	default:
		return fmt.Errorf("%w: Outcome must be approved, denied or expired", ErrInvalid)
	}
	return optionalLink("Link", d.Link)
}

// AlertDigestData fills the "alert_digest" template: one recipient's
// alerts, grouped by store. Send it with UnsubscribeHeaders of the same
// UnsubscribeLink.
type AlertDigestData struct {
	// Name is the recipient's name; empty gives a plain greeting.
	Name string
	// AccountName is the account the alerts are about.
	AccountName string
	// Stores holds the alerts, one entry per store with any.
	Stores []StoreAlerts
	// UnsubscribeLink stops these emails in one click (required).
	UnsubscribeLink string
	// PreferencesLink opens the notification settings (optional).
	PreferencesLink string
}

// Items counts the alerts in all stores.
func (d AlertDigestData) Items() int {
	n := 0
	for _, s := range d.Stores {
		n += s.Items()
	}
	return n
}

func (d AlertDigestData) check() error {
	if err := require("AccountName", d.AccountName); err != nil {
		return err
	}
	if d.Items() == 0 {
		return fmt.Errorf("%w: no alerts (an empty digest is not sent)", ErrInvalid)
	}
	if err := requireLink("UnsubscribeLink", d.UnsubscribeLink); err != nil {
		return err
	}
	if err := optionalLink("PreferencesLink", d.PreferencesLink); err != nil {
		return err
	}
	for i, s := range d.Stores {
		if err := s.check(); err != nil {
			return fmt.Errorf("stores[%d]: %w", i, err)
		}
	}
	return nil
}

// StoreAlerts is one store's part of a digest.
type StoreAlerts struct {
	// StoreName is the store's name.
	StoreName string
	// LowStock lists items at or below their threshold.
	LowStock []LowStockItem
	// DuePurchaseOrders lists purchase orders due or overdue.
	DuePurchaseOrders []DueDocument
	// DueSalesOrders lists sales orders due or overdue.
	DueSalesOrders []DueDocument
	// PaymentReminders lists invoices and bills due or overdue.
	PaymentReminders []DueDocument
	// ApprovalReminders lists requests still waiting for this recipient.
	ApprovalReminders []ApprovalReminder
}

// Items counts the store's alerts.
func (s StoreAlerts) Items() int {
	return len(s.LowStock) + len(s.DuePurchaseOrders) + len(s.DueSalesOrders) + len(s.PaymentReminders) + len(s.ApprovalReminders)
}

func (s StoreAlerts) check() error {
	if err := require("StoreName", s.StoreName); err != nil {
		return err
	}
	for _, list := range [][]DueDocument{s.DuePurchaseOrders, s.DueSalesOrders, s.PaymentReminders} {
		for _, d := range list {
			if err := optionalLink("Link", d.Link); err != nil {
				return err
			}
		}
	}
	for _, r := range s.ApprovalReminders {
		if err := optionalLink("Link", r.Link); err != nil {
			return err
		}
	}
	return nil
}

// LowStockItem is a product at or below its threshold.
type LowStockItem struct {
	// SKU and Name identify the product.
	SKU  string
	Name string
	// OnHand is the quantity in stock; Threshold the level that alerts.
	OnHand    float64
	Threshold float64
}

// DueDocument is a purchase order, sales order, invoice or bill that is due.
type DueDocument struct {
	// Title is the document's title or number.
	Title string
	// Counterparty is the supplier or customer (optional).
	Counterparty string
	// Amount and Currency as in ApprovalRequestData (optional).
	Amount   string
	Currency string
	// DueDate is when it is due.
	DueDate time.Time
	// Overdue marks a due date already past.
	Overdue bool
	// Link opens the document (optional).
	Link string
}

// ApprovalReminder is an approval request still waiting for a decision.
type ApprovalReminder struct {
	// DocumentTitle is the document's title.
	DocumentTitle string
	// RequesterName is who asked.
	RequesterName string
	// Amount and Currency as in ApprovalRequestData (optional).
	Amount   string
	Currency string
	// RequestedAt is when the request was made.
	RequestedAt time.Time
	// Link opens the request (optional).
	Link string
}

// WebhookDisabledData fills the "webhook_disabled" template: an
// administrator is told that Steward stopped delivering to a webhook
// endpoint whose deliveries failed for days.
type WebhookDisabledData struct {
	// Name is the administrator's name; empty gives a plain greeting.
	Name        string
	AccountName string
	// URL is the endpoint's URL (shown as text, not a link).
	URL string
	// Description is the endpoint's description, if any.
	Description string
	// FailingSince is when its deliveries started failing.
	FailingSince time.Time
}

func (d WebhookDisabledData) check() error {
	if err := require("AccountName", d.AccountName); err != nil {
		return err
	}
	return require("URL", d.URL)
}

// GrantExpiryData fills the "grant_expiry" template: a member's
// time-bound grant expires soon; the member and whoever granted it are
// told, with a link to ask for its renewal.
type GrantExpiryData struct {
	// MemberName is the member whose grant expires.
	MemberName string
	// AccountName is the account.
	AccountName string
	// Role is the role's name or id, Scope the scope ("store:s1").
	Role  string
	Scope string
	// ExpiresAt is when the grant stops counting.
	ExpiresAt time.Time
	// RenewLink is where to ask for a renewal.
	RenewLink string
}

func (d GrantExpiryData) check() error {
	for _, f := range [][2]string{{"Role", d.Role}, {"Scope", d.Scope}, {"AccountName", d.AccountName}} {
		if err := require(f[0], f[1]); err != nil {
			return err
		}
	}
	if d.ExpiresAt.IsZero() {
		return require("ExpiresAt", "")
	}
	return requireLink("RenewLink", d.RenewLink)
}

// AccessRequestData fills the "access_request" template: a member asks
// for a role at a scope, and the recipient may grant it.
type AccessRequestData struct {
	// ApproverName is the recipient's name; empty gives a plain greeting.
	ApproverName string
	// RequesterName is who asks (for themselves).
	RequesterName string
	// AccountName is the account (optional).
	AccountName string
	// Role is the role's name (or id), Scope the scope as people call it.
	Role  string
	Scope string
	// Reason is the requester's reason (optional, may span lines).
	Reason string
	// GrantExpiresAt is when the grant would end; zero: no end.
	GrantExpiresAt time.Time
	// DecideLink is the decision page (/access/{token}). Opening it
	// decides nothing.
	DecideLink string
	// ExpiresAt is when the request expires; zero leaves it unsaid.
	ExpiresAt time.Time
	// OnBehalfOf is the member the recipient stands in for as their
	// delegate (the link decides on that member's behalf); empty: the
	// recipient is asked themselves.
	OnBehalfOf string
}

func (d AccessRequestData) check() error {
	for _, f := range [][2]string{{"RequesterName", d.RequesterName}, {"Role", d.Role}, {"Scope", d.Scope}} {
		if err := require(f[0], f[1]); err != nil {
			return err
		}
	}
	return requireLink("DecideLink", d.DecideLink)
}

// AccessOutcomeData fills the "access_outcome" template: the requester
// of an access request learns how it ended.
type AccessOutcomeData struct {
	// RequesterName is the recipient's name; empty gives a plain greeting.
	RequesterName string
	// Role and Scope as in AccessRequestData.
	Role  string
	Scope string
	// Outcome is approved, denied or expired.
	Outcome Outcome
	// DeciderName is who decided (empty for expired or if unknown).
	DeciderName string
	// Comment is the decider's comment (optional, may span lines).
	Comment string
	// GrantExpiresAt is when an approved grant ends; zero: no end.
	GrantExpiresAt time.Time
}

func (d AccessOutcomeData) check() error {
	for _, f := range [][2]string{{"Role", d.Role}, {"Scope", d.Scope}} {
		if err := require(f[0], f[1]); err != nil {
			return err
		}
	}
	switch d.Outcome {
	case OutcomeApproved, OutcomeDenied, OutcomeExpired:
	default:
		return fmt.Errorf("%w: Outcome must be approved, denied or expired", ErrInvalid)
	}
	return nil
}

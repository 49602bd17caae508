package rbac

import "time"

// DocType is the type of a document registered by the host app.
type DocType string

// The document types.
const (
	DocPurchaseOrder DocType = "purchase_order"
	DocSalesOrder    DocType = "sales_order"
	DocWriteOff      DocType = "write_off"
	DocBOM           DocType = "bom"
	DocPurchaseRate  DocType = "purchase_rate"
	DocInvoice       DocType = "invoice"
	DocBill          DocType = "bill"
)

var docTypes = []DocType{DocPurchaseOrder, DocSalesOrder, DocWriteOff, DocBOM, DocPurchaseRate, DocInvoice, DocBill}

// DocTypes lists the document types.
func DocTypes() []DocType { return append([]DocType(nil), docTypes...) }

// Valid reports whether t is one of the document types.
func (t DocType) Valid() bool {
	switch t {
	case DocPurchaseOrder, DocSalesOrder, DocWriteOff, DocBOM, DocPurchaseRate, DocInvoice, DocBill:
		return true
	}
	return false
}

// DocStatus is the state of a document.
type DocStatus string

// The document statuses.
const (
	DocDraft           DocStatus = "draft"
	DocPendingApproval DocStatus = "pending_approval"
	DocApproved        DocStatus = "approved"
	DocDenied          DocStatus = "denied"
	DocExpired         DocStatus = "expired"
	DocCompleted       DocStatus = "completed"
)

// Valid reports whether s is one of the document statuses.
func (s DocStatus) Valid() bool {
	switch s {
	case DocDraft, DocPendingApproval, DocApproved, DocDenied, DocExpired, DocCompleted:
		return true
	}
	return false
}

// Document actions. Each resolves, through the resource's DocType, to the
// area permission of that type (see the package comment), and applies the
// document state rules.
const (
	// ActionDocumentView views a document: the type's view permission.
	ActionDocumentView = "documents.view"
	// ActionDocumentEdit creates, changes or deletes a document: the
	// type's edit permission; denied while pending_approval; a completed
	// document also needs locked.edit.
	ActionDocumentEdit = "documents.edit"
	// ActionDocumentUse uses a document (sends a purchase order to the
	// supplier, confirms a sales order, posts a write-off, applies a BOM or
	// a purchase rate): the type's edit permission, and the document must
	// be approved when Resource.ApprovalRequired, else draft or approved.
	ActionDocumentUse = "documents.use"
	// ActionDocumentRequestApproval asks for approval: the type's edit
	// permission, on a draft, denied or expired document.
	ActionDocumentRequestApproval = "documents.request_approval"
	// ActionDocumentApprove approves or denies: the type's approve
	// permission (approve.{type}); the document, when its status is given,
	// must be pending_approval. Invoices and bills have no approval.
	ActionDocumentApprove = "documents.approve"
)

var documentActions = map[string]docVerb{
	ActionDocumentView:            verbView,
	ActionDocumentEdit:            verbEdit,
	ActionDocumentUse:             verbUse,
	ActionDocumentRequestApproval: verbRequestApproval,
	ActionDocumentApprove:         verbApprove,
}

// DocumentActions lists the document action names.
func DocumentActions() []string {
	return []string{ActionDocumentView, ActionDocumentEdit, ActionDocumentUse, ActionDocumentRequestApproval, ActionDocumentApprove}
}

// IsAction reports whether action is a permission key or a document
// action, i.e. whether Decide knows it.
func IsAction(action string) bool {
	_, ok := cat().actions[action]
	return ok
}

// Resource is what an action is about. Account is required: a resource of
// another account (or of none) is always denied. Store, Department and
// Supplier place the resource in scopes; a resource with none of them is
// an account-level resource that only account-scope grants cover. The
// document fields, when set, switch on the document state rules.
type Resource struct {
	// Account is the tenant the resource belongs to.
	Account string
	// Type is an informational resource type (e.g. "user", "store").
	Type string
	// ID is an informational resource id.
	ID string
	// Store, when set, puts the resource in store:{Store}.
	Store string
	// Department, when set, puts the resource in department:{Department}.
	Department string
	// Supplier, when set, puts the resource in supplier:{Supplier}.
	Supplier string
	// DocType is the document type, when the resource is a document.
	// Document actions need it.
	DocType DocType
	// DocStatus is the document status, when known.
	DocStatus DocStatus
	// ApprovalRequired says the account's approval policy requires an
	// approval for this document (type, amount); documents.use then needs
	// status approved.
	ApprovalRequired bool
	// Date is the document's date, when known: under a lock-by-age
	// (Options.LockAfterDays) a document dated that many days or more
	// before the decision's instant is read-only without locked.edit.
	Date time.Time
}

// scope returns the most specific scope of the resource, used to say
// where a permission is missing.
func (r *Resource) scope() Scope {
	switch {
	case r.Store != "":
		return Scope{Kind: ScopeStore, ID: r.Store}
	case r.Department != "":
		return Scope{Kind: ScopeDepartment, ID: r.Department}
	case r.Supplier != "":
		return Scope{Kind: ScopeSupplier, ID: r.Supplier}
	}
	return AccountScope
}

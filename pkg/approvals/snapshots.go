package approvals

import (
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
)

// requestSummary is an approval request as its audit events record it:
// enough for a host app to act on the change event (pkg/events) without
// reading the request again.
func requestSummary(r documents.ApprovalRequest, status documents.RequestStatus) map[string]any {
	m := map[string]any{
		"id": r.ID, "documentType": r.DocType, "documentId": r.DocID, "amount": r.Amount, "currency": r.Currency,
		"requesterId": r.RequesterID, "levels": len(r.Levels), "level": r.Level, "status": status,
	}
	// Empty scopes and titles are left out: audit items are written
	// three times (the table and two indexes), and each 1 KB more costs
	// three write units.
	for k, v := range map[string]string{"documentTitle": r.DocTitle, "store": r.Store, "department": r.Department, "supplier": r.Supplier, "requesterName": r.RequesterName} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// endSnapshot is the After of an event that ends a request: the request
// with its new status and, when the document changed with it, the
// document's new status ("" when it did not).
func endSnapshot(r documents.ApprovalRequest, status documents.RequestStatus, doc rbac.DocStatus, reason string) map[string]any {
	m := map[string]any{"request": requestSummary(r, status)}
	if doc != "" {
		m["documentStatus"] = doc
	}
	if reason != "" {
		m["reason"] = reason
	}
	return m
}

package alerts

import (
	"context"
	"time"

	"github.com/stewardhq/steward/pkg/team"
)

// The preview's bounds: it plans one page of members at a time, and lists
// at most PreviewItemsPerDigest items of each digest (its kinds' counts
// stay whole), so that an account with thousands of members or of due
// items answers within the function's time and far below Lambda's 6 MB
// response (at most PreviewMaxLimit x PreviewItemsPerDigest items).
const (
	PreviewDefaultLimit   = 20
	PreviewMaxLimit       = 50
	PreviewItemsPerDigest = 50
)

// Preview is one page of the preview: the plan of a page of the account's
// members (Recipients: those of the page who would get a digest, so a page
// may hold fewer than its limit, or none) and the cursor of the next page.
type Preview struct {
	Plan
	Next string `json:"nextCursor,omitempty"`
}

// PreviewPage plans what a run at now would send to one page of a's
// members: limit members (0: PreviewDefaultLimit, at most
// PreviewMaxLimit) from cursor, each digest cut to PreviewItemsPerDigest
// items.
func (s *Service) PreviewPage(ctx context.Context, a team.Account, now time.Time, limit int, cursor string) (Preview, error) {
	switch {
	case limit <= 0:
		limit = PreviewDefaultLimit
	case limit > PreviewMaxLimit:
		limit = PreviewMaxLimit
	}
	page, err := s.Store.AlertMembersPage(ctx, a.ID, limit, cursor)
	if err != nil {
		return Preview{}, err
	}
	plan, err := s.planMembers(ctx, a, now, page.Items, PreviewItemsPerDigest+1) // one more than shown: a cut digest says truncated
	if err != nil {
		return Preview{}, err
	}
	for i := range plan.Recipients {
		truncate(&plan.Recipients[i], PreviewItemsPerDigest)
	}
	return Preview{Plan: plan, Next: page.Next}, nil
}

// truncate keeps the first max items of d (store by store, list by list)
// and marks it Truncated when it cut any.
func truncate(d *Digest, max int) {
	left := max
	cut := func(n int) int {
		if n > left {
			d.Truncated = true
			n = left
		}
		left -= n
		return n
	}
	for i := range d.Stores {
		sd := &d.Stores[i]
		sd.LowStock = sd.LowStock[:cut(len(sd.LowStock))]
		sd.DuePurchaseOrders = sd.DuePurchaseOrders[:cut(len(sd.DuePurchaseOrders))]
		sd.DueSalesOrders = sd.DueSalesOrders[:cut(len(sd.DueSalesOrders))]
		sd.PaymentReminders = sd.PaymentReminders[:cut(len(sd.PaymentReminders))]
		sd.ApprovalReminders = sd.ApprovalReminders[:cut(len(sd.ApprovalReminders))]
	}
}

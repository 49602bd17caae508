// Package alerts is the scheduled alert digest: stock levels pushed by the
// host app (PUT /v1/stock-levels), the job that emails each member one
// digest a day at the account's alert hour (low stock, due purchase
// orders, due sales orders, payment reminders, approval reminders,
// grouped by store), the
// preview of what the next run would send (GET /v1/alerts/preview), and
// the one-click unsubscribe page (GET/POST /v1/alerts/unsubscribe).
//
// Files: alerts.go (the service), stock.go (stock pushes), job.go (an
// account's plan and its sending), grants.go (grant expiry notices, sent
// by the same task), schedule.go (the job as one task per
// account: Schedule, RunTask, Run), preview.go (the paged preview),
// http.go and page.templ (the routes).
//
// Decisions:
//   - The job is one unit of work per account (schedule.go). The hourly
//     run (Schedule) only lists the accounts at their alert hour and hands
//     each one Task, delayed by a hash of its id within the first 15
//     minutes of the hour (Spread); in AWS the tasks are SQS messages and
//     each invocation from the queue runs one (RunTask), so an account's
//     failure or timeout is retried alone (then dead-lettered) and never
//     costs another account its digest. A task carries the scheduled
//     run's time, so a late retry still sends that day's digest under
//     that day's outbox keys. Locally (and make invoke) Run executes the
//     same tasks in-process.
//   - The preview pages by member (limit, a cursor sealed for the preview)
//     and lists at most PreviewItemsPerDigest items of each digest, so its
//     answer stays bounded whatever the account's size; the job plans all
//     members and sends every item.
//   - Recipients are active members with an email who hold the area's view
//     permission at the item's store (stock.view for low stock,
//     purchases.view for due purchase orders, orders.view for due sales
//     orders, finance.invoices.view for payment reminders) and have not
//     turned that kind off; approval reminders go only to the members
//     still awaited at the request's current level (the approvals engine keeps that list). Items without a
//     store are account-wide and need an account-scope grant.
//   - One digest per member per local day: the outbox key
//     digest/{account}/{member}/{local date} makes a second run that day
//     (or a retried Lambda) send nothing new. The job checks the outbox
//     before it issues the member's unsubscribe token, so a repeated run
//     never invalidates the link of the email already sent.
//   - The unsubscribe link carries a one-time token (kind unsubscribe)
//     bound to the member and to the alert kinds in that digest. GET shows
//     a confirmation form and changes nothing (mail scanners follow
//     links); POST (RFC 8058 one-click, or the form) turns those kinds off
//     for that member only, with an audit event, in one transaction.
//   - Stock pushes write no audit event: they are a data feed from the
//     host app's inventory, not a change made by a person, and an event
//     per item (or per batch, every few minutes) would drown the audit
//     log. Who may push is still checked item by item (stock.edit at the
//     item's store).
//   - Due documents are read with one query per document type of the
//     sparse gsi3 due index (open documents with a due date, by due date;
//     pkg/store/approvalindex.go), pending approvals with one query of the
//     requests' status index: a run reads what it may send, not the
//     account's history.
package alerts

import (
	"context"
	"log/slog"
	"time"

	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/store"
)

// Kind is an alert kind a member can turn off.
type Kind string

// The alert kinds, as named in notification preferences.
const (
	KindLowStock         Kind = "lowStock"
	KindDuePurchaseOrder Kind = "duePurchaseOrder"
	KindDueSalesOrder    Kind = "dueSalesOrder"
	KindPaymentReminder  Kind = "paymentReminder"
	KindApprovalReminder Kind = "approvalReminder"
)

// Permissions that qualify a member for each kind (approval reminders are
// qualified by being awaited on the request instead).
const (
	PermStockView     = "stock.view"
	PermPurchasesView = "purchases.view"
	PermOrdersView    = "orders.view"
	PermInvoicesView  = "finance.invoices.view"
	PermStockEdit     = "stock.edit"
)

// Mailer sends an email at most once per idempotency key (mail.Outbox).
type Mailer interface {
	Send(ctx context.Context, key string, m mail.Message) (messageID string, sent bool, err error)
}

// Defaults of the job's windows.
const (
	DefaultDueWithinDays      = 3
	DefaultApprovalAfterHours = 24
	// UnsubscribeTTL is how long an unsubscribe link works.
	UnsubscribeTTL = 60 * 24 * time.Hour
)

// Service implements the alert routes and the job.
type Service struct {
	Store *store.Store
	Mail  Mailer
	// PublicURL is the base of the unsubscribe links (and of the renewal
	// links of grant expiry notices, see RenewURL).
	PublicURL string
	// RenewURL, when set, builds the renewal link of a grant expiry
	// notice instead of the package's RenewURL.
	RenewURL func(GrantNotice) string
	Logger   *slog.Logger
	Now      clock.Clock
	// DueWithinDays: purchase orders, sales orders, invoices and bills
	// due within this many days (or overdue) are in the digest (0:
	// DefaultDueWithinDays).
	DueWithinDays int
	// ApprovalAfter: requests pending longer than this are reminded
	// (0: DefaultApprovalAfterHours).
	ApprovalAfter time.Duration
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Service) dueWithin() int {
	if s.DueWithinDays > 0 {
		return s.DueWithinDays
	}
	return DefaultDueWithinDays
}

func (s *Service) approvalAfter() time.Duration {
	if s.ApprovalAfter > 0 {
		return s.ApprovalAfter
	}
	return DefaultApprovalAfterHours * time.Hour
}

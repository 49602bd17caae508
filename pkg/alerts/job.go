package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Plan is what one run would send for one account.
type Plan struct {
	AccountID   string `json:"accountId"`
	AccountName string `json:"-"`
	TimeZone    string `json:"timeZone"`
	AlertHour   int    `json:"alertHour"`
	// LocalDate is the account's date at the planned time; it names the
	// day's digest.
	LocalDate string `json:"localDate"`
	// DueUntil is the last due date included (LocalDate + due window).
	DueUntil   string   `json:"dueUntil"`
	Recipients []Digest `json:"recipients"`
}

// Digest is one member's email.
type Digest struct {
	MemberID string `json:"memberId"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	// OutboxKey is the idempotency key of the day's email.
	OutboxKey string `json:"outboxKey"`
	// Kinds explains each kind included: how many items and the
	// permission (or awaited decision) that qualified the member.
	Kinds  []KindReason  `json:"kinds"`
	Stores []StoreDigest `json:"stores"`
	// Truncated: the preview lists only the first PreviewItemsPerDigest
	// items of this digest (Kinds still counts them all).
	Truncated bool `json:"truncated,omitempty"`
}

// KindReason says why a member gets a kind of alert.
type KindReason struct {
	Kind  Kind `json:"kind"`
	Count int  `json:"count"`
	// Qualified is the permission held at each listed store
	// (approval reminders: "awaited approver").
	Qualified string `json:"qualified"`
}

// StoreDigest is one store's part of a digest ("" store: account-wide).
type StoreDigest struct {
	Store             string             `json:"store"`
	StoreName         string             `json:"storeName"`
	LowStock          []LowStock         `json:"lowStock"`
	DuePurchaseOrders []DueDoc           `json:"duePurchaseOrders"`
	DueSalesOrders    []DueDoc           `json:"dueSalesOrders"`
	PaymentReminders  []DueDoc           `json:"paymentReminders"`
	ApprovalReminders []ApprovalReminder `json:"approvalReminders"`
}

// LowStock is a stock level below its threshold.
type LowStock struct {
	SKU       string  `json:"sku"`
	Name      string  `json:"name"`
	OnHand    float64 `json:"onHand"`
	Threshold float64 `json:"threshold"`
}

// DueDoc is a due or overdue document.
type DueDoc struct {
	Type     rbac.DocType `json:"type"`
	ID       string       `json:"id"`
	Title    string       `json:"title"`
	Amount   float64      `json:"amount"`
	Currency string       `json:"currency"`
	DueDate  string       `json:"dueDate"`
	Overdue  bool         `json:"overdue"`
	URL      string       `json:"url,omitempty"`
	Supplier string       `json:"-"`
}

// ApprovalReminder is a request still waiting for the member.
type ApprovalReminder struct {
	RequestID     string    `json:"requestId"`
	DocumentTitle string    `json:"documentTitle"`
	RequesterName string    `json:"requesterName"`
	Amount        float64   `json:"amount"`
	Currency      string    `json:"currency"`
	RequestedAt   time.Time `json:"requestedAt"`
	URL           string    `json:"url,omitempty"`
}

// location returns the account's time zone (UTC when unset or unknown).
func location(tz string) *time.Location {
	if tz == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// DueNow reports whether the account's local hour at now is its alert
// hour.
func DueNow(a team.Account, now time.Time) bool {
	return now.In(location(a.Settings.TimeZone)).Hour() == a.Settings.AlertHour
}

// OutboxKey is the idempotency key of a member's digest of a local date.
func OutboxKey(account, member, localDate string) string {
	return "digest/" + account + "/" + member + "/" + localDate
}

// areaDocs are the documents of one kind and who may see them.
type recipientState struct {
	m       team.Member
	p       *rbac.Principal
	stores  map[string]*StoreDigest
	counts  map[Kind]int
	allowed map[string]bool // perm + "\x00" + store
}

func (r *recipientState) may(perm, account, storeID string) bool {
	k := perm + "\x00" + storeID
	ok, seen := r.allowed[k]
	if !seen {
		ok = r.p.Decide(perm, rbac.Resource{Account: account, Store: storeID}).Allowed
		r.allowed[k] = ok
	}
	return ok
}

func (r *recipientState) store(id string, names map[string]string) *StoreDigest {
	sd := r.stores[id]
	if sd == nil {
		name := names[id]
		if name == "" {
			name = id
		}
		if id == "" {
			name = "Account-wide"
		}
		sd = &StoreDigest{Store: id, StoreName: name}
		r.stores[id] = sd
	}
	return sd
}

// pendingFor is the pending approval requests made before cutoff that
// rcpts are awaited on: the account's all (perMember 0), or each
// recipient's newest perMember, read through the member's awaiting
// entries.
func (s *Service) pendingFor(ctx context.Context, account string, cutoff time.Time, rcpts []*recipientState, perMember int) ([]store.PendingApproval, error) {
	if perMember <= 0 {
		return s.Store.PendingApprovals(ctx, account, cutoff)
	}
	var out []store.PendingApproval
	for _, r := range rcpts {
		if r.m.Notifications.ApprovalReminderOff {
			continue
		}
		page, err := s.Store.ListApprovalRequests(ctx, account, store.RequestFilter{AwaitingID: r.m.ID}, perMember, "")
		if err != nil {
			return nil, err
		}
		for _, req := range page.Items {
			if req.CreatedAt.Before(cutoff) {
				out = append(out, store.PendingApproval{Request: req, Awaiting: []string{r.m.ID}})
			}
		}
	}
	return out, nil
}

// PlanAccount computes what a run at now would send for account a: the
// digests of all its members.
func (s *Service) PlanAccount(ctx context.Context, a team.Account, now time.Time) (Plan, error) {
	members, err := s.Store.AllMembers(ctx, a.ID)
	if err != nil {
		return Plan{}, err
	}
	return s.planMembers(ctx, a, now, members, 0)
}

// planMembers computes the digests of members (all of the account's, or
// one page of them for the preview). perMember 0 reads the account's
// pending approval requests once, for every member (the job); perMember n
// reads instead each member's own awaited requests, the newest n (the
// preview: a page of members costs what they are awaited on, not what the
// whole account has pending).
func (s *Service) planMembers(ctx context.Context, a team.Account, now time.Time, members []team.Member, perMember int) (Plan, error) {
	loc := location(a.Settings.TimeZone)
	local := now.In(loc)
	today := local.Format(time.DateOnly)
	until := local.AddDate(0, 0, s.dueWithin()).Format(time.DateOnly)
	plan := Plan{AccountID: a.ID, AccountName: a.Name, TimeZone: loc.String(), AlertHour: a.Settings.AlertHour, LocalDate: today, DueUntil: until, Recipients: []Digest{}}

	custom, err := s.Store.GetCustomRoles(ctx, a.ID)
	if err != nil {
		return Plan{}, err
	}
	rs, err := rbac.NewRoleSetFor(custom.Options, custom.Roles...)
	if err != nil {
		return Plan{}, fmt.Errorf("alerts: roles of %s: %w", a.ID, err)
	}
	var rcpts []*recipientState
	byID := map[string]*recipientState{}
	for _, m := range members {
		if m.Status != rbac.StatusActive || m.Email == "" {
			continue
		}
		r := &recipientState{m: m, p: rs.Compile(m.Authz(now)), stores: map[string]*StoreDigest{}, counts: map[Kind]int{}, allowed: map[string]bool{}}
		rcpts = append(rcpts, r)
		byID[m.ID] = r
	}
	if len(rcpts) == 0 {
		return plan, nil
	}
	names, err := s.storeNames(ctx, a.ID)
	if err != nil {
		return Plan{}, err
	}

	low, err := s.Store.LowStock(ctx, a.ID)
	if err != nil {
		return Plan{}, err
	}
	for _, l := range low {
		for _, r := range rcpts {
			if r.m.Notifications.LowStockOff || !r.may(PermStockView, a.ID, l.Store) {
				continue
			}
			sd := r.store(l.Store, names)
			sd.LowStock = append(sd.LowStock, LowStock{SKU: l.SKU, Name: l.Name, OnHand: l.OnHand, Threshold: l.Threshold})
			r.counts[KindLowStock]++
		}
	}

	docs := func(t rbac.DocType) ([]DueDoc, []documents.Document, error) {
		ds, err := s.Store.DueDocuments(ctx, a.ID, t, until)
		if err != nil {
			return nil, nil, err
		}
		out := make([]DueDoc, 0, len(ds))
		for _, d := range ds {
			out = append(out, DueDoc{Type: d.Type, ID: d.ID, Title: d.Title, Amount: d.Amount, Currency: d.Currency, DueDate: d.DueDate, Overdue: d.DueDate < today, URL: d.URL, Supplier: d.Supplier})
		}
		return out, ds, nil
	}
	// Due purchase and sales orders: the same digest section each, to
	// the members who see the document's store and did not opt out.
	for _, due := range []struct {
		doc  rbac.DocType
		perm string
		kind Kind
		off  func(team.Notifications) bool
		add  func(*StoreDigest, DueDoc)
	}{
		{rbac.DocPurchaseOrder, PermPurchasesView, KindDuePurchaseOrder,
			func(n team.Notifications) bool { return n.DuePurchaseOrderOff },
			func(sd *StoreDigest, d DueDoc) { sd.DuePurchaseOrders = append(sd.DuePurchaseOrders, d) }},
		{rbac.DocSalesOrder, PermOrdersView, KindDueSalesOrder,
			func(n team.Notifications) bool { return n.DueSalesOrderOff },
			func(sd *StoreDigest, d DueDoc) { sd.DueSalesOrders = append(sd.DueSalesOrders, d) }},
	} {
		list, stored, err := docs(due.doc)
		if err != nil {
			return Plan{}, err
		}
		for i, d := range list {
			for _, r := range rcpts {
				if due.off(r.m.Notifications) || !r.may(due.perm, a.ID, stored[i].Store) {
					continue
				}
				due.add(r.store(stored[i].Store, names), d)
				r.counts[due.kind]++
			}
		}
	}
	for _, t := range []rbac.DocType{rbac.DocInvoice, rbac.DocBill} {
		pays, payDocs, err := docs(t)
		if err != nil {
			return Plan{}, err
		}
		for i, d := range pays {
			for _, r := range rcpts {
				if r.m.Notifications.PaymentReminderOff || !r.may(PermInvoicesView, a.ID, payDocs[i].Store) {
					continue
				}
				sd := r.store(payDocs[i].Store, names)
				sd.PaymentReminders = append(sd.PaymentReminders, d)
				r.counts[KindPaymentReminder]++
			}
		}
	}

	pending, err := s.pendingFor(ctx, a.ID, now.Add(-s.approvalAfter()), rcpts, perMember)
	if err != nil {
		return Plan{}, err
	}
	links := map[string]string{} // request id -> its document's URL
	for _, pa := range pending {
		req := pa.Request
		for _, id := range pa.Awaiting {
			r := byID[id]
			if r == nil || r.m.Notifications.ApprovalReminderOff {
				continue
			}
			link, ok := links[req.ID]
			if !ok {
				if d, err := s.Store.GetDocument(ctx, a.ID, req.DocType, req.DocID); err == nil {
					link = d.URL
				}
				links[req.ID] = link
			}
			sd := r.store(req.Store, names)
			sd.ApprovalReminders = append(sd.ApprovalReminders, ApprovalReminder{
				RequestID: req.ID, DocumentTitle: req.DocTitle, RequesterName: cmp.Or(req.RequesterName, req.RequesterEmail, "a colleague"),
				Amount: req.Amount, Currency: req.Currency, RequestedAt: req.CreatedAt, URL: link,
			})
			r.counts[KindApprovalReminder]++
		}
	}

	for _, r := range rcpts {
		if len(r.counts) == 0 {
			continue
		}
		d := Digest{MemberID: r.m.ID, Name: r.m.Name, Email: r.m.Email, OutboxKey: OutboxKey(a.ID, r.m.ID, today)}
		for _, k := range []Kind{KindLowStock, KindDuePurchaseOrder, KindDueSalesOrder, KindPaymentReminder, KindApprovalReminder} {
			if n := r.counts[k]; n > 0 {
				d.Kinds = append(d.Kinds, KindReason{Kind: k, Count: n, Qualified: qualifiedBy(k)})
			}
		}
		for _, sd := range r.stores {
			d.Stores = append(d.Stores, *sd)
		}
		slices.SortFunc(d.Stores, func(x, y StoreDigest) int { return strings.Compare(x.Store, y.Store) })
		for i := range d.Stores {
			normalize(&d.Stores[i])
		}
		plan.Recipients = append(plan.Recipients, d)
	}
	return plan, nil
}

func qualifiedBy(k Kind) string {
	switch k {
	case KindLowStock:
		return PermStockView
	case KindDuePurchaseOrder:
		return PermPurchasesView
	case KindDueSalesOrder:
		return PermOrdersView
	case KindPaymentReminder:
		return PermInvoicesView
	}
	return "awaited approver"
}

// normalize makes empty lists [] in JSON.
func normalize(sd *StoreDigest) {
	if sd.LowStock == nil {
		sd.LowStock = []LowStock{}
	}
	if sd.DuePurchaseOrders == nil {
		sd.DuePurchaseOrders = []DueDoc{}
	}
	if sd.DueSalesOrders == nil {
		sd.DueSalesOrders = []DueDoc{}
	}
	if sd.PaymentReminders == nil {
		sd.PaymentReminders = []DueDoc{}
	}
	if sd.ApprovalReminders == nil {
		sd.ApprovalReminders = []ApprovalReminder{}
	}
}

func (s *Service) storeNames(ctx context.Context, account string) (map[string]string, error) {
	names := map[string]string{}
	cursor := ""
	for {
		page, err := s.Store.ListStores(ctx, account, 200, cursor)
		if err != nil {
			return nil, err
		}
		for _, st := range page.Items {
			names[st.ID] = st.Name
		}
		if page.Next == "" {
			return names, nil
		}
		cursor = page.Next
	}
}

// RunAccount sends the day's digests of one account (those not sent yet
// that day), then its grant expiry notices not sent yet (grants.go).
func (s *Service) RunAccount(ctx context.Context, a team.Account, now time.Time) (sent, skipped, failed int, err error) {
	plan, err := s.PlanAccount(ctx, a, now)
	if err != nil {
		return 0, 0, 0, err
	}
	var errs []error
	for _, d := range plan.Recipients {
		done, err := s.Store.OutboxSent(ctx, d.OutboxKey)
		if err != nil {
			errs = append(errs, err)
			failed++
			continue
		}
		if done {
			skipped++
			continue
		}
		ok, err := s.send(ctx, plan, d, now)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("member %s: %w", d.MemberID, err))
			failed++
		case ok:
			sent++
		default:
			skipped++
		}
	}
	gs, gk, gf, err := s.sendGrantNotices(ctx, a, now)
	sent, skipped, failed = sent+gs, skipped+gk, failed+gf
	if err != nil {
		errs = append(errs, err)
	}
	return sent, skipped, failed, errors.Join(errs...)
}

// send issues the member's unsubscribe token for the digest's kinds and
// sends the digest through the outbox.
func (s *Service) send(ctx context.Context, plan Plan, d Digest, now time.Time) (bool, error) {
	tok, hash := onetime.New()
	kinds := make([]string, 0, len(d.Kinds))
	for _, k := range d.Kinds {
		kinds = append(kinds, string(k.Kind))
	}
	if err := s.Store.IssueUnsubscribeToken(ctx, store.Token{
		Hash: hash, Kind: store.TokenUnsubscribe, AccountID: plan.AccountID,
		SubjectID: store.UnsubscribeSubject(plan.AccountID, d.MemberID), ExpiresAt: now.Add(UnsubscribeTTL),
		Data: map[string]string{"member": d.MemberID, "kinds": strings.Join(kinds, ",")},
	}); err != nil {
		return false, err
	}
	link := strings.TrimRight(s.PublicURL, "/") + "/v1/alerts/unsubscribe?token=" + url.QueryEscape(tok)
	data := mail.AlertDigestData{Name: d.Name, AccountName: plan.AccountName, UnsubscribeLink: link}
	for _, sd := range d.Stores {
		sa := mail.StoreAlerts{StoreName: sd.StoreName}
		for _, l := range sd.LowStock {
			sa.LowStock = append(sa.LowStock, mail.LowStockItem{SKU: l.SKU, Name: l.Name, OnHand: l.OnHand, Threshold: l.Threshold})
		}
		for _, x := range sd.DuePurchaseOrders {
			sa.DuePurchaseOrders = append(sa.DuePurchaseOrders, mailDue(x))
		}
		for _, x := range sd.DueSalesOrders {
			sa.DueSalesOrders = append(sa.DueSalesOrders, mailDue(x))
		}
		for _, x := range sd.PaymentReminders {
			sa.PaymentReminders = append(sa.PaymentReminders, mailDue(x))
		}
		for _, x := range sd.ApprovalReminders {
			sa.ApprovalReminders = append(sa.ApprovalReminders, mail.ApprovalReminder{
				DocumentTitle: x.DocumentTitle, RequesterName: x.RequesterName, Amount: money(x.Amount), Currency: x.Currency,
				RequestedAt: x.RequestedAt, Link: httpLink(x.URL),
			})
		}
		data.Stores = append(data.Stores, sa)
	}
	subject, text, html, err := mail.Render(mail.TemplateAlertDigest, data)
	if err != nil {
		return false, err
	}
	headers, err := mail.UnsubscribeHeaders(link)
	if err != nil {
		return false, err
	}
	to, err := mail.ParseAddress(d.Email)
	if err != nil {
		return false, err
	}
	if to.Name == "" {
		to.Name = d.Name
	}
	_, sent, err := s.Mail.Send(ctx, d.OutboxKey, mail.Message{
		To: []mail.Address{to}, Subject: subject, Text: text, HTML: html, Headers: headers,
		Tags: map[string]string{"kind": "alert_digest"},
	})
	return sent, err
}

func mailDue(x DueDoc) mail.DueDocument {
	due, _ := time.Parse(time.DateOnly, x.DueDate)
	return mail.DueDocument{Title: x.Title, Counterparty: x.Supplier, Amount: money(x.Amount), Currency: x.Currency, DueDate: due, Overdue: x.Overdue, Link: httpLink(x.URL)}
}

func money(v float64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", v)
}

// httpLink keeps only absolute http(s) links (the template refuses
// others).
func httpLink(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

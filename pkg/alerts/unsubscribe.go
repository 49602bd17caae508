package alerts

import (
	"context"
	"errors"
	"strings"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// errMayNotPreview: the preview shows every member's alerts.
var errMayNotPreview = fault.New(fault.Forbidden, "forbidden", "Previewing alerts needs users.view for the whole account.")

// Preview is what a run now would send to the caller's account (ignoring
// the alert hour, and whether today's digests went out), to whom and why:
// one page of limit members from cursor (PreviewPage). It needs users.view
// for the whole account.
func (s *Service) Preview(ctx context.Context, p *auth.Principal, limit int, cursor string) (Preview, error) {
	if !p.Decide("users.view", rbac.Resource{Account: p.AccountID()}).Allowed {
		return Preview{}, errMayNotPreview
	}
	a, err := s.Store.GetAccount(ctx, p.AccountID())
	if err != nil {
		return Preview{}, err
	}
	return s.PreviewPage(ctx, a, s.Now.Now(), limit, cursor)
}

// LinkState is what an unsubscribe link is, or what using it did.
type LinkState int

// The states of an unsubscribe link.
const (
	// LinkInvalid: unknown, malformed, expired, or its member is gone.
	LinkInvalid LinkState = iota
	// LinkUsed: it was used before; its alerts are off.
	LinkUsed
	// LinkUsable: it works (the confirmation page asks).
	LinkUsable
	// LinkRaced: another use of it, at the same time, turned its alerts off.
	LinkRaced
	// LinkDone: this use turned its alerts off.
	LinkDone
)

// Link is an unsubscribe link's state and the alert kinds it turns off
// ("lowStock,duePurchaseOrder").
type Link struct {
	State LinkState
	Kinds string
}

// lookup reads an unsubscribe token: its state (LinkUsable, LinkUsed or
// LinkInvalid), the token and its hash.
func (s *Service) lookup(ctx context.Context, tok string) (Link, store.Token, string) {
	hash, err := onetime.Hash(tok)
	if err != nil {
		return Link{}, store.Token{}, ""
	}
	t, err := s.Store.GetTokenOfKind(ctx, store.TokenUnsubscribe, hash)
	if err != nil || t.Kind != store.TokenUnsubscribe || t.Data["member"] == "" {
		return Link{}, store.Token{}, ""
	}
	link := Link{State: LinkUsable, Kinds: t.Data["kinds"]}
	switch {
	case !t.UsedAt.IsZero():
		link.State = LinkUsed
	case !s.Now.Now().Before(t.ExpiresAt):
		link.State = LinkInvalid
	}
	return link, t, hash
}

// UnsubscribeLink reads an unsubscribe link without using it (mail
// scanners follow links).
func (s *Service) UnsubscribeLink(ctx context.Context, tok string) Link {
	link, _, _ := s.lookup(ctx, tok)
	return link
}

// Unsubscribe uses an unsubscribe link: it turns the link's alert kinds
// off for the member the link was sent to, with an audit event.
func (s *Service) Unsubscribe(ctx context.Context, tok string) (Link, error) {
	link, t, hash := s.lookup(ctx, tok)
	if link.State != LinkUsable {
		return link, nil
	}
	member := t.Data["member"]
	kinds := strings.Split(t.Data["kinds"], ",")
	now := s.Now.Now()
	m, err := s.Store.GetMember(ctx, t.AccountID, member)
	if err != nil {
		return Link{}, nil
	}
	after := m.Notifications
	for _, k := range kinds {
		switch Kind(k) {
		case KindLowStock:
			after.LowStockOff = true
		case KindDuePurchaseOrder:
			after.DuePurchaseOrderOff = true
		case KindDueSalesOrder:
			after.DueSalesOrderOff = true
		case KindPaymentReminder:
			after.PaymentReminderOff = true
		case KindApprovalReminder:
			after.ApprovalReminderOff = true
		}
	}
	ev := audit.Event{
		AccountID: t.AccountID, ActorID: member, ActorName: m.Name, Action: "member.unsubscribe",
		TargetType: "member", TargetID: member, RequestID: httpapi.RequestID(ctx),
		Before: audit.Snapshot(prefs(m.Notifications)), After: audit.Snapshot(prefs(after)),
	}
	err = s.Store.Unsubscribe(ctx, hash, t.AccountID, member, kinds, now, ev)
	switch {
	case errors.Is(err, store.ErrTokenInvalid):
		// Two clicks at once: the other one unsubscribed.
		return Link{State: LinkRaced, Kinds: link.Kinds}, nil
	case errors.Is(err, team.ErrMemberNotFound):
		return Link{}, nil
	case err != nil:
		return Link{}, err
	}
	return Link{State: LinkDone, Kinds: link.Kinds}, nil
}

type prefView struct {
	LowStock         bool `json:"lowStock"`
	DuePurchaseOrder bool `json:"duePurchaseOrder"`
	DueSalesOrder    bool `json:"dueSalesOrder"`
	PaymentReminder  bool `json:"paymentReminder"`
	ApprovalReminder bool `json:"approvalReminder"`
}

func prefs(n team.Notifications) prefView {
	return prefView{!n.LowStockOff, !n.DuePurchaseOrderOff, !n.DueSalesOrderOff, !n.PaymentReminderOff, !n.ApprovalReminderOff}
}

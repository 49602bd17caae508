package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Grant expiry notices: with the day's digests, the job emails, once per
// grant, the member whose time-bound grant expires within the account's
// GrantExpiryNoticeDays (0: off) and the member who granted it, with a
// link to ask for its renewal. The grants are found through the store's
// expiring-grants index (one query of a key range of the account's
// partition, store.ExpiringGrants), then only the members named are read;
// an entry whose member no longer holds that grant with that expiry is
// stale and skipped. Only an active member with an email is told; the
// grantor is told too when it is another active member with an email.

// GrantNotice is one grant expiry notice.
type GrantNotice struct {
	AccountID string
	Member    team.Member
	Grant     rbac.Assignment
	// Grantor is who granted it, when known, active and reachable.
	Grantor *team.Member
}

// GrantOutboxKey is the idempotency key of a grant's expiry notice: one
// per member, grant and expiry, so a renewed grant (a new expiry) is
// announced again, and a repeated run (or a retried task) never twice.
// It lies under "digest/", where the job may write (store.AlertsJobLeadingKeys).
func GrantOutboxKey(account, member string, a rbac.Assignment) string {
	name := a.String()
	if a.Role == "" {
		// A permission assignment: up to 64 keys would outgrow a key;
		// the sorted keys' digest names it, whatever their order.
		keys := slices.Sorted(slices.Values(a.Permissions))
		sum := sha256.Sum256([]byte(strings.Join(keys, ",")))
		name = "permissions:" + hex.EncodeToString(sum[:8]) + "@" + a.Scope.String()
	}
	return "digest/grant/" + account + "/" + member + "/" + name + "/" + strconv.FormatInt(a.ExpiresAt.UnixNano(), 10)
}

// RenewURL is the link a grant expiry notice offers to ask for the
// grant's renewal: the host app's new access request page,
// {base}/access-requests/new, prefilled. Its query names the role and the
// scope, a proposed expiresAt (the grant's length once more from its end
// when it had a start, else DefaultRenewal past it), the grant's current
// expiry (previousExpiresAt), the member whose grant it is (member) and
// renew=1. The app posts POST /v1/access-requests with role, scope and
// expiresAt as the signed-in member when that is the member named (the
// grantor gets the same email: for anyone else the app opens the member's
// access instead). Nothing is created by opening the link. It is the one
// place that builds it.
func RenewURL(base string, n GrantNotice) string {
	q := url.Values{}
	q.Set("role", n.Grant.Role)
	q.Set("scope", n.Grant.Scope.String())
	q.Set("expiresAt", RenewalExpiry(n.Grant).UTC().Format(time.RFC3339))
	q.Set("previousExpiresAt", n.Grant.ExpiresAt.UTC().Format(time.RFC3339))
	q.Set("member", n.Member.ID)
	q.Set("renew", "1")
	return strings.TrimRight(base, "/") + "/access-requests/new?" + q.Encode()
}

// DefaultRenewal is how much longer a renewal asks for when the grant's
// length is not known (no start).
const DefaultRenewal = 30 * 24 * time.Hour

// RenewalExpiry is the end a renewal of a proposes: as long again as
// the grant lasted (from its start to its end), past its end, or
// DefaultRenewal past it.
func RenewalExpiry(a rbac.Assignment) time.Time {
	d := DefaultRenewal
	if !a.StartsAt.IsZero() && a.ExpiresAt.After(a.StartsAt) {
		d = a.ExpiresAt.Sub(a.StartsAt)
	}
	return a.ExpiresAt.Add(d)
}

// GrantNotices returns the notices a run at now would send for account a:
// the grants expiring in [now, now + GrantExpiryNoticeDays), soonest
// first.
func (s *Service) GrantNotices(ctx context.Context, a team.Account, now time.Time) ([]GrantNotice, error) {
	days := a.Settings.GrantExpiryNoticeDays
	if days <= 0 {
		return nil, nil
	}
	entries, err := s.Store.ExpiringGrants(ctx, a.ID, now, now.AddDate(0, 0, days))
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.MemberID)
	}
	members, err := s.loadMembers(ctx, a.ID, ids)
	if err != nil {
		return nil, err
	}
	var out []GrantNotice
	var grantors []string
	for _, e := range entries {
		m, ok := members[e.MemberID]
		if !ok || m.Status != rbac.StatusActive || m.Email == "" {
			continue
		}
		g, ok := e.Current(m.Assignments)
		if !ok {
			continue // stale: the grant was removed or its expiry changed
		}
		out = append(out, GrantNotice{AccountID: a.ID, Member: m, Grant: g})
		if g.GrantedBy != "" && g.GrantedBy != m.ID && !strings.HasPrefix(g.GrantedBy, apikey.ActorPrefix) {
			if _, ok := members[g.GrantedBy]; !ok {
				grantors = append(grantors, g.GrantedBy)
			}
		}
	}
	if len(grantors) > 0 {
		more, err := s.loadMembers(ctx, a.ID, grantors)
		if err != nil {
			return nil, err
		}
		for id, m := range more {
			members[id] = m
		}
	}
	for i := range out {
		gm, ok := members[out[i].Grant.GrantedBy]
		if ok && gm.ID != out[i].Member.ID && gm.Status == rbac.StatusActive && gm.Email != "" {
			out[i].Grantor = &gm
		}
	}
	return out, nil
}

// loadMembers reads the members ids, store.MaxLoadMembers at a time.
func (s *Service) loadMembers(ctx context.Context, account string, ids []string) (map[string]team.Member, error) {
	out := map[string]team.Member{}
	for len(ids) > 0 {
		n := min(len(ids), store.MaxLoadMembers)
		lm, err := s.Store.LoadMembers(ctx, account, ids[:n])
		if err != nil {
			return nil, err
		}
		for id, m := range lm.Members {
			out[id] = m
		}
		ids = ids[n:]
	}
	return out, nil
}

// grantName names a grant in a notice: its role, or a permission
// assignment's keys.
func grantName(g rbac.Assignment) string {
	if g.Role == "" {
		return strings.Join(g.Permissions, ", ")
	}
	return g.Role
}

// sendGrantNotices sends the account's grant expiry notices not sent yet.
func (s *Service) sendGrantNotices(ctx context.Context, a team.Account, now time.Time) (sent, skipped, failed int, err error) {
	notices, err := s.GrantNotices(ctx, a, now)
	if err != nil {
		return 0, 0, 0, err
	}
	var errs []error
	for _, n := range notices {
		ok, err := s.sendGrantNotice(ctx, a, n)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("grant notice %s of %s: %w", n.Grant, n.Member.ID, err))
			failed++
		case ok:
			sent++
		default:
			skipped++
		}
	}
	return sent, skipped, failed, errors.Join(errs...)
}

func (s *Service) sendGrantNotice(ctx context.Context, a team.Account, n GrantNotice) (bool, error) {
	renew := RenewURL(s.PublicURL, n)
	if s.RenewURL != nil {
		renew = s.RenewURL(n)
	}
	subject, text, html, err := mail.Render(mail.TemplateGrantExpiry, mail.GrantExpiryData{
		MemberName: n.Member.Name, AccountName: a.Name, Role: grantName(n.Grant), Scope: n.Grant.Scope.String(),
		ExpiresAt: n.Grant.ExpiresAt, RenewLink: renew,
	})
	if err != nil {
		return false, err
	}
	var to []mail.Address
	for _, m := range []*team.Member{&n.Member, n.Grantor} {
		if m == nil {
			continue
		}
		addr, err := mail.ParseAddress(m.Email)
		if err != nil {
			return false, err
		}
		if addr.Name == "" {
			addr.Name = m.Name
		}
		to = append(to, addr)
	}
	_, sent, err := s.Mail.Send(ctx, GrantOutboxKey(a.ID, n.Member.ID, n.Grant), mail.Message{
		To: to, Subject: subject, Text: text, HTML: html,
		Tags: map[string]string{"kind": "grant_expiry"},
	})
	return sent, err
}

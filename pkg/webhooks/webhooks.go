package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
)

// Permission is what managing webhooks needs: critical, so administrators
// and the owner only (full access lacks it).
const Permission = "webhooks.manage"

// Limits.
const (
	MaxDescriptionLen = 200
	// MaxReplay is the most events one replay queues; ReplayWindow how
	// far back it may start.
	MaxReplay    = 10000
	ReplayWindow = 30 * 24 * time.Hour
)

// Source lists an account's events since a time, oldest first (the audit
// log through pkg/events).
type Source interface {
	Since(ctx context.Context, account string, since time.Time, limit int, cursor string) ([]events.Event, string, error)
}

// Service implements the webhook routes.
type Service struct {
	Store *store.Store
	Now   clock.Clock
	// URLs checks endpoint URLs (PolicyFor the stage).
	URLs URLPolicy
	// Queue and Source serve replays; a replay answers 503 without them.
	Queue  Queue
	Source Source
	// KnownType validates subscribed types; nil is events.Known.
	KnownType func(string) bool
}

// Public errors.
var (
	errImpersonated = fault.New(fault.Forbidden, "impersonation_forbidden", "An impersonated session cannot manage webhooks.")
	errNotFound     = fault.New(fault.NotFound, "not_found", "The webhook endpoint does not exist.")
	errLimit        = fault.New(fault.Conflict, "limit_reached", fmt.Sprintf("An account has at most %d webhook endpoints.", store.MaxWebhooks))
	errChanged      = fault.New(fault.Conflict, "conflict", "The webhook endpoint changed meanwhile; read it again.")
	errDisabled     = fault.New(fault.Conflict, "endpoint_disabled", "The webhook endpoint is disabled; re-enable it (PATCH status active) first.")
	errNoReplay     = fault.New(fault.Unavailable, "replay_unavailable", "Replays are not available right now.")
)

// guard lets only a member holding webhooks.manage (administrators and
// the owner), acting as themself, manage webhooks.
func guard(p *auth.Principal) error {
	if p.Impersonated() {
		return errImpersonated
	}
	if dec := p.Decide(Permission, rbac.Resource{Account: p.AccountID()}); !dec.Allowed {
		return fault.New(fault.Forbidden, "forbidden", "Managing webhooks needs webhooks.manage (administrators and the owner): "+dec.Reason()+".")
	}
	return nil
}

// MayManage reports whether p may manage webhooks (the routes' guard:
// webhooks.manage, acting as themself).
func MayManage(p *auth.Principal) bool { return guard(p) == nil }

// Input is the fields of POST and PATCH; nil fields are absent.
type Input struct {
	URL         *string
	Types       *[]string
	Description *string
	Status      *string
}

func (s *Service) now() time.Time { return s.Now.Now().UTC() }

func (s *Service) checkTypes(in []string) ([]string, error) {
	known := s.KnownType
	if known == nil {
		known = events.Known
	}
	if len(in) > len(events.Types)+10 {
		return nil, httpapi.InvalidField("types", "too many types")
	}
	out := make([]string, 0, len(in))
	for i, t := range in {
		if !known(t) {
			return nil, httpapi.InvalidField(httpapi.Indexed("types", i), "is not an event type")
		}
		if slices.Contains(out, t) {
			return nil, httpapi.InvalidField(httpapi.Indexed("types", i), t+" is listed twice")
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *Service) checkURL(ctx context.Context, raw string) (string, error) {
	u, err := s.URLs.Check(ctx, raw)
	if err != nil {
		return "", httpapi.InvalidField("url", err.Error())
	}
	return u.String(), nil
}

// Create registers an endpoint.
func (s *Service) Create(ctx context.Context, p *auth.Principal, in Input) (store.Webhook, error) {
	if err := guard(p); err != nil {
		return store.Webhook{}, err
	}
	if in.URL == nil {
		return store.Webhook{}, httpapi.InvalidField("url", "is required")
	}
	if in.Status != nil {
		return store.Webhook{}, httpapi.InvalidField("status", "a new endpoint is active; set status with PATCH")
	}
	u, err := s.checkURL(ctx, *in.URL)
	if err != nil {
		return store.Webhook{}, err
	}
	w := store.Webhook{ID: store.NewID("wh"), AccountID: p.AccountID(), URL: u, Types: []string{}, Status: store.WebhookActive, Version: 1}
	if in.Types != nil {
		if w.Types, err = s.checkTypes(*in.Types); err != nil {
			return store.Webhook{}, err
		}
	}
	if in.Description != nil {
		if w.Description, err = httpapi.CleanText("description", *in.Description, MaxDescriptionLen); err != nil {
			return store.Webhook{}, err
		}
	}
	w.Secret = NewSecret()
	w.CreatedAt = s.now()
	w.UpdatedAt = w.CreatedAt
	ev := p.Event(ctx, "webhook.create", "webhook", w.ID)
	ev.After = audit.Snapshot(snapshot(w))
	switch err := p.Acting(s.Store).CreateWebhook(ctx, w, ev); {
	case errors.Is(err, store.ErrWebhookLimit):
		return store.Webhook{}, errLimit
	case err != nil:
		return store.Webhook{}, err
	}
	return w, nil
}

// List lists the account's endpoints.
func (s *Service) List(ctx context.Context, p *auth.Principal) ([]store.Webhook, error) {
	if err := guard(p); err != nil {
		return nil, err
	}
	return s.Store.ListWebhooks(ctx, p.AccountID())
}

// Get reads one endpoint of the caller's account.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id string) (store.Webhook, error) {
	if err := guard(p); err != nil {
		return store.Webhook{}, err
	}
	return s.get(ctx, p, id)
}

func (s *Service) get(ctx context.Context, p *auth.Principal, id string) (store.Webhook, error) {
	w, err := s.Store.GetWebhook(ctx, p.AccountID(), id)
	if errors.Is(err, store.ErrWebhookNotFound) {
		return store.Webhook{}, errNotFound
	}
	return w, err
}

// Update changes an endpoint's URL, types, description or status
// (active re-enables a disabled endpoint and forgets its failures;
// disabled pauses it).
func (s *Service) Update(ctx context.Context, p *auth.Principal, id string, in Input) (store.Webhook, error) {
	if err := guard(p); err != nil {
		return store.Webhook{}, err
	}
	w, err := s.get(ctx, p, id)
	if err != nil {
		return store.Webhook{}, err
	}
	next := w
	if in.URL != nil {
		if next.URL, err = s.checkURL(ctx, *in.URL); err != nil {
			return store.Webhook{}, err
		}
	}
	if in.Types != nil {
		if next.Types, err = s.checkTypes(*in.Types); err != nil {
			return store.Webhook{}, err
		}
	}
	if in.Description != nil {
		if next.Description, err = httpapi.CleanText("description", *in.Description, MaxDescriptionLen); err != nil {
			return store.Webhook{}, err
		}
	}
	now := s.now()
	if in.Status != nil {
		switch *in.Status {
		case store.WebhookActive:
			if w.Status != store.WebhookActive {
				next.Status, next.DisabledAt, next.FailingSince = store.WebhookActive, time.Time{}, time.Time{}
			}
		case store.WebhookDisabled:
			if w.Status != store.WebhookDisabled {
				next.Status, next.DisabledAt = store.WebhookDisabled, now
			}
		default:
			return store.Webhook{}, httpapi.InvalidField("status", "must be active or disabled")
		}
	}
	next.UpdatedAt, next.Version = now, w.Version+1
	ev := p.Event(ctx, "webhook.update", "webhook", w.ID)
	ev.Before, ev.After = audit.Snapshot(snapshot(w)), audit.Snapshot(snapshot(next))
	if err := s.commit(ctx, p, next, w.Version, ev); err != nil {
		return store.Webhook{}, err
	}
	return next, nil
}

func (s *Service) commit(ctx context.Context, p *auth.Principal, w store.Webhook, version int64, ev audit.Event) error {
	switch err := p.Acting(s.Store).UpdateWebhook(ctx, w, version, ev); {
	case errors.Is(err, store.ErrWebhookNotFound):
		return errNotFound
	case errors.Is(err, store.ErrWebhookStale):
		return errChanged
	default:
		return err
	}
}

// Delete removes an endpoint; tasks already queued for it are dropped.
func (s *Service) Delete(ctx context.Context, p *auth.Principal, id string) error {
	if err := guard(p); err != nil {
		return err
	}
	w, err := s.get(ctx, p, id)
	if err != nil {
		return err
	}
	ev := p.Event(ctx, "webhook.delete", "webhook", w.ID)
	ev.Before = audit.Snapshot(snapshot(w))
	if err := p.Acting(s.Store).DeleteWebhook(ctx, p.AccountID(), w.ID, ev); errors.Is(err, store.ErrWebhookNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// RotateSecret replaces an endpoint's secret at once and returns the new
// one, shown this once. Deliveries signed from now on use it.
func (s *Service) RotateSecret(ctx context.Context, p *auth.Principal, id string) (string, error) {
	if err := guard(p); err != nil {
		return "", err
	}
	w, err := s.get(ctx, p, id)
	if err != nil {
		return "", err
	}
	next := w
	next.Secret, next.UpdatedAt, next.Version = NewSecret(), s.now(), w.Version+1
	ev := p.Event(ctx, "webhook.rotate_secret", "webhook", w.ID)
	if err := s.commit(ctx, p, next, w.Version, ev); err != nil {
		return "", err
	}
	return next.Secret, nil
}

// Deliveries lists an endpoint's delivery records, newest first.
func (s *Service) Deliveries(ctx context.Context, p *auth.Principal, id string, limit int, cursor string) (store.Page[store.Delivery], error) {
	if err := guard(p); err != nil {
		return store.Page[store.Delivery]{}, err
	}
	if _, err := s.get(ctx, p, id); err != nil {
		return store.Page[store.Delivery]{}, err
	}
	return s.Store.ListDeliveries(ctx, p.AccountID(), id, limit, cursor)
}

// Replay queues the account's events since a time (at most ReplayWindow
// back, at most MaxReplay events, oldest first) for one endpoint, as
// first attempts marked Replay; it returns how many were queued.
func (s *Service) Replay(ctx context.Context, p *auth.Principal, id string, since time.Time) (int, error) {
	if err := guard(p); err != nil {
		return 0, err
	}
	w, err := s.get(ctx, p, id)
	if err != nil {
		return 0, err
	}
	now := s.now()
	switch {
	case since.IsZero():
		return 0, httpapi.InvalidField("since", "is required (RFC 3339)")
	case since.After(now):
		return 0, httpapi.InvalidField("since", "is in the future")
	case now.Sub(since) > ReplayWindow:
		return 0, httpapi.InvalidField("since", "must be at most 30 days ago")
	}
	if w.Status != store.WebhookActive {
		return 0, errDisabled
	}
	if s.Source == nil || s.Queue == nil {
		return 0, errNoReplay
	}
	var (
		cursor string
		queued int
		read   int
	)
	for read < MaxReplay {
		page, next, err := s.Source.Since(ctx, p.AccountID(), since, min(500, MaxReplay-read), cursor)
		if err != nil {
			return queued, err
		}
		read += len(page)
		var tasks []Task
		for _, ev := range page {
			if !w.Wants(ev.Type) {
				continue
			}
			tasks = append(tasks, Task{
				AccountID: w.AccountID, EndpointID: w.ID, EventID: ev.ID, EventTime: ev.Timestamp.UTC(),
				Attempt: 1, FirstTry: now, Replay: true,
			})
		}
		if len(tasks) > 0 {
			if err := s.Queue.Send(ctx, tasks, 0); err != nil {
				return queued, err
			}
			queued += len(tasks)
		}
		if next == "" || len(page) == 0 {
			break
		}
		cursor = next
	}
	return queued, nil
}

// snapshot is an endpoint as the audit log records it: never its secret.
// snapshot is an endpoint as its audit events (and so the events feed
// and webhook.disabled) record it: the URL's origin only, since a
// receiver's path or query often holds a capability (a hook token) and
// the audit log is readable with audit.view, which does not give
// webhooks.manage.
func snapshot(w store.Webhook) map[string]any {
	m := map[string]any{"origin": origin(w.URL), "types": w.Types, "description": w.Description, "status": w.Status}
	if !w.DisabledAt.IsZero() {
		m["disabledAt"] = w.DisabledAt.UTC()
	}
	return m
}

// origin is scheme://host[:port] of a URL ("" when it does not parse).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

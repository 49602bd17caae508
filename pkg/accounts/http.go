package accounts

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/views"
)

// JSON shapes of the audit log (those of the scope items are in
// scopes.go). Field names are camelCase and part of the API contract
// (pkg/openapi/openapi.json).
type (
	actorJSON struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	targetJSON struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	auditEventJSON struct {
		ID           string          `json:"id"`
		Time         time.Time       `json:"time"`
		Actor        actorJSON       `json:"actor"`
		Impersonator *actorJSON      `json:"impersonator,omitempty"`
		Action       string          `json:"action"`
		Target       targetJSON      `json:"target"`
		Before       json.RawMessage `json:"before"`
		After        json.RawMessage `json:"after"`
		RequestID    string          `json:"requestId,omitempty"`
	}
)

func accountView(a team.Account) views.Account { return views.FromAccount(a) }

func snapshot(v any) json.RawMessage { return audit.Snapshot(v) }

// writeVersioned answers a resource with its ETag.
func writeVersioned(w http.ResponseWriter, r *http.Request, status int, version int64, v any) {
	w.Header().Set("ETag", httpapi.ETag(version))
	httpapi.WriteJSON(w, r, status, v)
}

// readIfMatch reads a change's If-Match (required or not) and then its
// JSON body.
func readIfMatch(r *http.Request, required bool) ReadRequest {
	return func(body any) (int64, error) {
		version, err := httpapi.IfMatch(r, required)
		if err != nil {
			return 0, err
		}
		return version, httpapi.Decode(r, body)
	}
}

// HandleGetAccount serves GET /v1/account.
func (h *Handler) HandleGetAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := h.GetAccount(r.Context(), auth.FromContext(r.Context()))
	if err != nil {
		return err
	}
	writeVersioned(w, r, http.StatusOK, a.Version, accountView(a))
	return nil
}

// HandleUpdateAccount serves PATCH /v1/account (If-Match required).
func (h *Handler) HandleUpdateAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := h.UpdateAccount(r.Context(), auth.FromContext(r.Context()), readIfMatch(r, true))
	if err != nil {
		return err
	}
	writeVersioned(w, r, http.StatusOK, a.Version, accountView(a))
	return nil
}

// addOperations adds the kind's handlers: list{Plural} serves
// GET /v1/{plural}?limit=&cursor=, get{Name} GET /v1/{plural}/{id} and
// put{Name} PUT /v1/{plural}/{id}, 201 when created, 200 when replaced
// (If-Match required).
func (k scopeKind[T, B]) addOperations(h *Handler, ops map[string]httpapi.HandlerFunc) {
	ops["list"+capitalized(k.plural)] = func(w http.ResponseWriter, r *http.Request) error {
		limit, err := httpapi.ParseLimit(r)
		if err != nil {
			return err
		}
		page, err := k.List(r.Context(), h, auth.FromContext(r.Context()), limit, r.URL.Query().Get("cursor"))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, k.view))
		return nil
	}
	ops["get"+capitalized(k.name)] = func(w http.ResponseWriter, r *http.Request) error {
		v, err := k.Get(r.Context(), h, auth.FromContext(r.Context()), r.PathValue("id"))
		if err != nil {
			return err
		}
		writeVersioned(w, r, http.StatusOK, v.Stamps().Version, k.view(v))
		return nil
	}
	ops["put"+capitalized(k.name)] = func(w http.ResponseWriter, r *http.Request) error {
		out, created, err := k.Put(r.Context(), h, auth.FromContext(r.Context()), r.PathValue("id"), readIfMatch(r, false))
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
			w.Header().Set("Location", "/v1/"+k.plural+"/"+out.ScopeID())
		}
		writeVersioned(w, r, status, out.Stamps().Version, k.view(out))
		return nil
	}
}

// HandleListAudit serves GET /v1/audit?actor=&target=&targetType=&targetId=
// &action=&from=&to=&limit=&cursor=.
func (h *Handler) HandleListAudit(w http.ResponseWriter, r *http.Request) error {
	page, err := h.ListAudit(r.Context(), auth.FromContext(r.Context()), func() (AuditQuery, error) {
		q := r.URL.Query()
		f, err := ParseAuditFilter(q)
		if err != nil {
			return AuditQuery{}, err
		}
		limit, err := httpapi.ParseLimit(r)
		return AuditQuery{Filter: f, Limit: limit, Cursor: q.Get("cursor")}, err
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, func(ev audit.Event) auditEventJSON {
		v := auditEventJSON{
			ID: ev.ID, Time: ev.Time.UTC(), Actor: actorJSON{ID: ev.ActorID, Name: ev.ActorName},
			Action: ev.Action, Target: targetJSON{Type: ev.TargetType, ID: ev.TargetID},
			Before: ev.Before, After: ev.After, RequestID: ev.RequestID,
		}
		if ev.ImpersonatorID != "" {
			v.Impersonator = &actorJSON{ID: ev.ImpersonatorID, Name: page.Impersonators[ev.ImpersonatorID]}
		}
		return v
	}))
	return nil
}

// activityJSON answers POST /v1/activity: the audit event written.
type activityJSON struct {
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
}

// HandleRecordActivity serves POST /v1/activity: 201 with the audit
// event's id, time and (namespaced) action.
func (h *Handler) HandleRecordActivity(w http.ResponseWriter, r *http.Request) error {
	ev, err := h.RecordActivity(r.Context(), auth.FromContext(r.Context()), func(body any) error {
		return httpapi.Decode(r, body)
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, activityJSON{ID: ev.ID, Time: ev.Time.UTC(), Action: ev.Action})
	return nil
}

package accounts

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/views"
)

// JSON shapes of the routes. Field names are camelCase and part of the
// API contract (pkg/openapi/openapi.json).
type (
	storeJSON struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		Address   string    `json:"address,omitempty"`
		TimeZone  string    `json:"timeZone,omitempty"`
		Version   int64     `json:"version"`
		CreatedAt time.Time `json:"createdAt"`
		UpdatedAt time.Time `json:"updatedAt"`
	}
	departmentJSON struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		Kind      string    `json:"kind"`
		Version   int64     `json:"version"`
		CreatedAt time.Time `json:"createdAt"`
		UpdatedAt time.Time `json:"updatedAt"`
	}
	storeList struct {
		Items []storeJSON `json:"items"`
		Next  string      `json:"nextCursor,omitempty"`
	}
	departmentList struct {
		Items []departmentJSON `json:"items"`
		Next  string           `json:"nextCursor,omitempty"`
	}
	// Audit snapshots: what a store or department is, without times.
	storeSnapshot struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Address  string `json:"address,omitempty"`
		TimeZone string `json:"timeZone,omitempty"`
		Version  int64  `json:"version"`
	}
	departmentSnapshot struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		Version int64  `json:"version"`
	}
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
	auditList struct {
		Items []auditEventJSON `json:"items"`
		Next  string           `json:"nextCursor,omitempty"`
	}
)

func accountView(a team.Account) views.Account { return views.FromAccount(a) }

func storeView(s team.Store) storeJSON {
	return storeJSON{ID: s.ID, Name: s.Name, Address: s.Address, TimeZone: s.TimeZone, Version: s.Version, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
}

func departmentView(d team.Department) departmentJSON {
	return departmentJSON{ID: d.ID, Name: d.Name, Kind: string(d.Kind), Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

func storeSnap(s team.Store, version int64) storeSnapshot {
	return storeSnapshot{ID: s.ID, Name: s.Name, Address: s.Address, TimeZone: s.TimeZone, Version: version}
}

func departmentSnap(d team.Department, version int64) departmentSnapshot {
	return departmentSnapshot{ID: d.ID, Name: d.Name, Kind: string(d.Kind), Version: version}
}

func snapshot(v any) json.RawMessage { return audit.Snapshot(v) }

// writeVersioned answers a resource with its ETag.
func writeVersioned(w http.ResponseWriter, r *http.Request, status int, version int64, v any) {
	w.Header().Set("ETag", httpapi.ETag(version))
	httpapi.WriteJSON(w, r, status, v)
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
	p := auth.FromContext(r.Context())
	if err := requireSettings(p); err != nil {
		return err
	}
	version, err := httpapi.IfMatch(r, true)
	if err != nil {
		return err
	}
	var in AccountPatch
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	a, err := h.UpdateAccount(r.Context(), p, version, in)
	if err != nil {
		return err
	}
	writeVersioned(w, r, http.StatusOK, a.Version, accountView(a))
	return nil
}

// HandleListStores serves GET /v1/stores?limit=&cursor=.
func (h *Handler) HandleListStores(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	page, err := h.ListStores(r.Context(), auth.FromContext(r.Context()), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	out := storeList{Items: make([]storeJSON, 0, len(page.Items)), Next: page.Next}
	for _, s := range page.Items {
		out.Items = append(out.Items, storeView(s))
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

// HandleGetStore serves GET /v1/stores/{id}.
func (h *Handler) HandleGetStore(w http.ResponseWriter, r *http.Request) error {
	s, err := h.GetStore(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeVersioned(w, r, http.StatusOK, s.Version, storeView(s))
	return nil
}

// HandlePutStore serves PUT /v1/stores/{id}: 201 when created, 200 when
// replaced (If-Match required).
func (h *Handler) HandlePutStore(w http.ResponseWriter, r *http.Request) error {
	p := auth.FromContext(r.Context())
	if err := requireSettings(p); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := ValidateID(id); err != nil {
		return err
	}
	version, err := httpapi.IfMatch(r, false)
	if err != nil {
		return err
	}
	var in StoreBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	st, err := in.Store(id)
	if err != nil {
		return err
	}
	out, created, err := h.PutStore(r.Context(), p, version, st)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/stores/"+out.ID)
	}
	writeVersioned(w, r, status, out.Version, storeView(out))
	return nil
}

// HandleListDepartments serves GET /v1/departments?limit=&cursor=.
func (h *Handler) HandleListDepartments(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	page, err := h.ListDepartments(r.Context(), auth.FromContext(r.Context()), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	out := departmentList{Items: make([]departmentJSON, 0, len(page.Items)), Next: page.Next}
	for _, d := range page.Items {
		out.Items = append(out.Items, departmentView(d))
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

// HandleGetDepartment serves GET /v1/departments/{id}.
func (h *Handler) HandleGetDepartment(w http.ResponseWriter, r *http.Request) error {
	d, err := h.GetDepartment(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeVersioned(w, r, http.StatusOK, d.Version, departmentView(d))
	return nil
}

// HandlePutDepartment serves PUT /v1/departments/{id}: 201 when created,
// 200 when replaced (If-Match required).
func (h *Handler) HandlePutDepartment(w http.ResponseWriter, r *http.Request) error {
	p := auth.FromContext(r.Context())
	if err := requireSettings(p); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := ValidateID(id); err != nil {
		return err
	}
	version, err := httpapi.IfMatch(r, false)
	if err != nil {
		return err
	}
	var in DepartmentBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	d, err := in.Department(id)
	if err != nil {
		return err
	}
	out, created, err := h.PutDepartment(r.Context(), p, version, d)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/departments/"+out.ID)
	}
	writeVersioned(w, r, status, out.Version, departmentView(out))
	return nil
}

// HandleListAudit serves GET /v1/audit?actor=&target=&targetType=&targetId=
// &action=&from=&to=&limit=&cursor=.
func (h *Handler) HandleListAudit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := auth.FromContext(ctx)
	if !allowed(p, permAudit, accountResource(p)) {
		return errNoAudit
	}
	q := r.URL.Query()
	f, err := ParseAuditFilter(q)
	if err != nil {
		return err
	}
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	page, err := h.Store.ListAudit(ctx, p.AccountID(), f, limit, q.Get("cursor"))
	if errors.Is(err, store.ErrBadCursor) {
		return httpapi.ErrBadCursor
	}
	if err != nil {
		return err
	}
	// Impersonators are named with one read of their members (a page
	// with more distinct impersonators than one read holds names the
	// first ones only).
	var ids []string
	for _, ev := range page.Items {
		if ev.ImpersonatorID != "" && !slices.Contains(ids, ev.ImpersonatorID) && len(ids) < store.MaxLoadMembers {
			ids = append(ids, ev.ImpersonatorID)
		}
	}
	names := map[string]string{}
	if len(ids) > 0 {
		loaded, err := h.Store.LoadMembers(ctx, p.AccountID(), ids)
		if err != nil {
			return err
		}
		for id, m := range loaded.Members {
			names[id] = m.Name
		}
	}
	out := auditList{Items: make([]auditEventJSON, 0, len(page.Items)), Next: page.Next}
	for _, ev := range page.Items {
		v := auditEventJSON{
			ID: ev.ID, Time: ev.Time.UTC(), Actor: actorJSON{ID: ev.ActorID, Name: ev.ActorName},
			Action: ev.Action, Target: targetJSON{Type: ev.TargetType, ID: ev.TargetID},
			Before: ev.Before, After: ev.After, RequestID: ev.RequestID,
		}
		if ev.ImpersonatorID != "" {
			v.Impersonator = &actorJSON{ID: ev.ImpersonatorID, Name: names[ev.ImpersonatorID]}
		}
		out.Items = append(out.Items, v)
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

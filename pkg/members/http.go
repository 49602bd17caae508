package members

import (
	"bytes"
	"io"
	"net/http"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/views"
)

type (
	createRequest struct {
		Email       string             `json:"email"`
		Name        string             `json:"name"`
		Admin       bool               `json:"admin,omitempty"`
		Assignments []views.Assignment `json:"assignments,omitempty"`
	}
	patchRequest struct {
		Name          *string             `json:"name,omitempty"`
		Admin         *bool               `json:"admin,omitempty"`
		Assignments   *[]views.Assignment `json:"assignments,omitempty"`
		Notifications *notificationsPatch `json:"notifications,omitempty"`
	}
	// notificationsPatch is views.Notifications with the first four fields
	// required: a missing one must not silently turn that email off.
	// dueSalesOrders came later: a client that predates it leaves it out,
	// and the member's preference then stays as it is.
	notificationsPatch struct {
		LowStock         *bool `json:"lowStock"`
		DuePurchaseOrder *bool `json:"duePurchaseOrders"`
		DueSalesOrder    *bool `json:"dueSalesOrders"`
		PaymentReminder  *bool `json:"paymentReminders"`
		ApprovalReminder *bool `json:"approvalReminders"`
	}
	transferRequest struct {
		MemberID string `json:"memberId"`
	}
	importRequest struct {
		Users []createRequest `json:"users"`
	}
	importRowResult struct {
		Row    int          `json:"row"`
		Status string       `json:"status"`
		ID     string       `json:"id,omitempty"`
		Error  *importError `json:"error,omitempty"`
	}
	importError struct {
		Code   string        `json:"code"`
		Detail string        `json:"detail"`
		Fields []fault.Field `json:"errors,omitempty"`
	}
	importResponse struct {
		Results []importRowResult `json:"results"`
		Created int               `json:"created"`
		Failed  int               `json:"failed"`
	}
)

func writeMember(w http.ResponseWriter, r *http.Request, status int, m team.Member) {
	w.Header().Set("ETag", httpapi.ETag(m.Version))
	httpapi.WriteJSON(w, r, status, views.FromMember(m))
}

// HandleList serves GET /v1/users?status=&role=&store=&limit=&cursor=.
func (s *Service) HandleList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := Filter{Status: rbac.Status(q.Get("status")), Role: q.Get("role"), Store: q.Get("store")}
	// List checks the filter too; checking it first keeps its errors
	// ahead of the limit's.
	if err := f.Validate(); err != nil {
		return err
	}
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	page, err := s.List(r.Context(), auth.FromContext(r.Context()), f, limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, views.FromMember))
	return nil
}

// HandleGet serves GET /v1/users/{id}.
func (s *Service) HandleGet(w http.ResponseWriter, r *http.Request) error {
	p := auth.FromContext(r.Context())
	m, err := s.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", httpapi.ETag(m.Version))
	httpapi.WriteJSON(w, r, http.StatusOK, views.MemberDetail{
		Member:               views.FromMemberAt(m, p.At),
		EffectivePermissions: views.EffectiveOf(p.Roles.Compile(m.Authz(p.At))),
	})
	return nil
}

// HandleCreate serves POST /v1/users (an inactive member, no invitation).
func (s *Service) HandleCreate(w http.ResponseWriter, r *http.Request) error {
	var in createRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	as, err := views.ParseAssignments(in.Assignments)
	if err != nil {
		return err
	}
	m, err := s.CreateInactive(r.Context(), auth.FromContext(r.Context()), in.Email, in.Name, in.Admin, as)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/users/"+m.ID)
	writeMember(w, r, http.StatusCreated, m)
	return nil
}

// HandleImport serves POST /v1/users/import: up to MaxImportRows inactive
// members, each row as POST /v1/users, answered 200 with each row's
// outcome in row order (see Import).
func (s *Service) HandleImport(w http.ResponseWriter, r *http.Request) error {
	var in importRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	if err := CheckImportSize(len(in.Users)); err != nil {
		return err
	}
	rows := make([]ImportRow, len(in.Users))
	for i, u := range in.Users {
		rows[i] = ImportRow{Email: u.Email, Name: u.Name, Admin: u.Admin}
		rows[i].Assignments, rows[i].ParseErr = views.ParseAssignments(u.Assignments)
	}
	results, err := s.Import(r.Context(), auth.FromContext(r.Context()), rows)
	if err != nil {
		return err
	}
	out := importResponse{Results: make([]importRowResult, len(results))}
	for i, res := range results {
		if res.Err != nil {
			out.Failed++
			out.Results[i] = importRowResult{Row: res.Row, Status: "failed", Error: &importError{Code: res.Err.Code, Detail: res.Err.Detail, Fields: res.Err.Fields}}
			continue
		}
		out.Created++
		out.Results[i] = importRowResult{Row: res.Row, Status: "created", ID: res.Member.ID}
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

// HandlePatch serves PATCH /v1/users/{id}; If-Match is required.
func (s *Service) HandlePatch(w http.ResponseWriter, r *http.Request) error {
	version, err := httpapi.IfMatch(r, true)
	if err != nil {
		return err
	}
	var in patchRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	c := Change{Name: in.Name, Admin: in.Admin}
	if in.Assignments != nil {
		as, err := views.ParseAssignments(*in.Assignments)
		if err != nil {
			return err
		}
		c.Assignments = &as
	}
	if n := in.Notifications; n != nil {
		for i, v := range []*bool{n.LowStock, n.DuePurchaseOrder, n.PaymentReminder, n.ApprovalReminder} {
			if v == nil {
				field := []string{"lowStock", "duePurchaseOrders", "paymentReminders", "approvalReminders"}[i]
				return httpapi.InvalidField("notifications."+field, "is required: send all four preferences")
			}
		}
		c.Notifications = &team.Notifications{
			LowStockOff: !*n.LowStock, DuePurchaseOrderOff: !*n.DuePurchaseOrder,
			PaymentReminderOff: !*n.PaymentReminder, ApprovalReminderOff: !*n.ApprovalReminder,
		}
		if n.DueSalesOrder != nil {
			c.Notifications.DueSalesOrderOff = !*n.DueSalesOrder
		} else {
			c.KeepDueSalesOrder = true
		}
	}
	m, err := s.Update(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), version, c)
	if err != nil {
		return err
	}
	writeMember(w, r, http.StatusOK, m)
	return nil
}

// offboardRequest is the optional body of suspend, deactivate and delete.
type offboardRequest struct {
	Force      bool   `json:"force"`
	ReassignTo string `json:"reassignTo"`
}

// transition serves the lifecycle POSTs (and DELETE); suspend, deactivate
// and delete take an optional body {force, reassignTo}.
func (s *Service) transition(verb string) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		version, err := httpapi.IfMatch(r, false)
		if err != nil {
			return err
		}
		o := OffboardOptions{Force: verb == "reactivate"}
		if verb != "reactivate" {
			body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, httpapi.MaxBodyBytes))
			if err != nil {
				return httpapi.ErrBodyTooLarge
			}
			if len(bytes.TrimSpace(body)) > 0 {
				var in offboardRequest
				r.Body = io.NopCloser(bytes.NewReader(body))
				if err := httpapi.Decode(r, &in); err != nil {
					return err
				}
				o.Force, o.ReassignTo = in.Force, in.ReassignTo
			}
		}
		m, err := s.Offboard(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), verb, version, o)
		if err != nil {
			return err
		}
		writeMember(w, r, http.StatusOK, m)
		return nil
	}
}

// HandleSuspend serves POST /v1/users/{id}/suspend.
func (s *Service) HandleSuspend(w http.ResponseWriter, r *http.Request) error {
	return s.transition("suspend")(w, r)
}

// HandleReactivate serves POST /v1/users/{id}/reactivate.
func (s *Service) HandleReactivate(w http.ResponseWriter, r *http.Request) error {
	return s.transition("reactivate")(w, r)
}

// HandleDeactivate serves POST /v1/users/{id}/deactivate.
func (s *Service) HandleDeactivate(w http.ResponseWriter, r *http.Request) error {
	return s.transition("deactivate")(w, r)
}

// HandleDelete serves DELETE /v1/users/{id}.
func (s *Service) HandleDelete(w http.ResponseWriter, r *http.Request) error {
	return s.transition("delete")(w, r)
}

// HandleTransferOwnership serves POST /v1/account/transfer-ownership.
func (s *Service) HandleTransferOwnership(w http.ResponseWriter, r *http.Request) error {
	var in transferRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	m, err := s.TransferOwnership(r.Context(), auth.FromContext(r.Context()), in.MemberID)
	if err != nil {
		return err
	}
	writeMember(w, r, http.StatusOK, m)
	return nil
}

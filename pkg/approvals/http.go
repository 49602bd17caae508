package approvals

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/httpapi"
)

type (
	documentBody struct {
		Store      string   `json:"store,omitempty"`
		Department string   `json:"department,omitempty"`
		Supplier   string   `json:"supplier,omitempty"`
		Amount     *float64 `json:"amount"`
		Currency   string   `json:"currency"`
		Title      string   `json:"title"`
		Summary    string   `json:"summary,omitempty"`
		DueDate    string   `json:"dueDate,omitempty"`
		URL        string   `json:"url,omitempty"`
		Status     string   `json:"status,omitempty"`
	}
	documentView struct {
		Type              string    `json:"type"`
		ID                string    `json:"id"`
		Store             string    `json:"store,omitempty"`
		Department        string    `json:"department,omitempty"`
		Supplier          string    `json:"supplier,omitempty"`
		Amount            float64   `json:"amount"`
		Currency          string    `json:"currency"`
		Title             string    `json:"title"`
		Summary           string    `json:"summary,omitempty"`
		DueDate           string    `json:"dueDate,omitempty"`
		URL               string    `json:"url,omitempty"`
		Status            string    `json:"status"`
		ApprovalRequestID string    `json:"approvalRequestId,omitempty"`
		Version           int64     `json:"version"`
		CreatedAt         time.Time `json:"createdAt"`
		UpdatedAt         time.Time `json:"updatedAt"`
	}
	levelBody struct {
		MinAmount          float64 `json:"minAmount"`
		Permission         string  `json:"permission,omitempty"`
		Role               string  `json:"role,omitempty"`
		Required           int     `json:"required"`
		Scope              string  `json:"scope"`
		RemindAfterHours   int     `json:"remindAfterHours,omitempty"`
		EscalateAfterHours int     `json:"escalateAfterHours,omitempty"`
		EscalateTo         string  `json:"escalateTo,omitempty"`
	}
	externalPolicy struct {
		Allowed bool     `json:"allowed"`
		Domains []string `json:"domains"`
	}
	policyBody struct {
		Enabled           bool            `json:"enabled"`
		Levels            []levelBody     `json:"levels"`
		SelfApproval      bool            `json:"selfApproval"`
		ExternalApprovers *externalPolicy `json:"externalApprovers,omitempty"`
		ExpiresAfterHours int             `json:"expiresAfterHours"`
	}
	policyView struct {
		DocType           string         `json:"docType"`
		Enabled           bool           `json:"enabled"`
		Levels            []levelBody    `json:"levels"`
		SelfApproval      bool           `json:"selfApproval"`
		ExternalApprovers externalPolicy `json:"externalApprovers"`
		ExpiresAfterHours int            `json:"expiresAfterHours"`
		Version           int64          `json:"version"`
	}
	externalBody struct {
		Email string `json:"email"`
		Name  string `json:"name,omitempty"`
	}
	requestBody struct {
		Note             string        `json:"note,omitempty"`
		ExternalApprover *externalBody `json:"externalApprover,omitempty"`
	}
	decisionBody struct {
		Decision string `json:"decision"`
		Comment  string `json:"comment,omitempty"`
		// OnBehalfOf is the member the caller decides for, as their
		// delegate.
		OnBehalfOf string `json:"onBehalfOf,omitempty"`
	}
	docRef struct {
		Type       string  `json:"type"`
		ID         string  `json:"id"`
		Title      string  `json:"title"`
		Amount     float64 `json:"amount"`
		Currency   string  `json:"currency"`
		Store      string  `json:"store,omitempty"`
		Department string  `json:"department,omitempty"`
	}
	personRef struct {
		ID    string `json:"id,omitempty"`
		Name  string `json:"name,omitempty"`
		Email string `json:"email,omitempty"`
	}
	levelView struct {
		Level              int     `json:"level"`
		MinAmount          float64 `json:"minAmount"`
		Permission         string  `json:"permission,omitempty"`
		Role               string  `json:"role,omitempty"`
		Required           int     `json:"required"`
		Scope              string  `json:"scope"`
		RemindAfterHours   int     `json:"remindAfterHours,omitempty"`
		EscalateAfterHours int     `json:"escalateAfterHours,omitempty"`
		EscalateTo         string  `json:"escalateTo,omitempty"`
	}
	askedView struct {
		Level    int       `json:"level"`
		MemberID string    `json:"memberId,omitempty"`
		Name     string    `json:"name,omitempty"`
		Email    string    `json:"email"`
		External bool      `json:"external"`
		AskedAt  time.Time `json:"askedAt"`
		// Escalated: asked by the level's escalation.
		Escalated bool `json:"escalated,omitempty"`
	}
	decisionView struct {
		Level     int       `json:"level"`
		MemberID  string    `json:"memberId,omitempty"`
		Name      string    `json:"name,omitempty"`
		Email     string    `json:"email,omitempty"`
		Decision  string    `json:"decision"`
		Comment   string    `json:"comment,omitempty"`
		ByLink    bool      `json:"byLink"`
		DecidedAt time.Time `json:"decidedAt"`
		// Impersonator is the admin who decided as the member in an
		// impersonated session.
		Impersonator *personRef `json:"impersonator,omitempty"`
		// OnBehalfOf is the member whose vote a delegate cast: memberId,
		// name and email are then the delegate's.
		OnBehalfOf *personRef `json:"onBehalfOf,omitempty"`
	}
	requestView struct {
		ID               string         `json:"id"`
		Status           string         `json:"status"`
		Document         docRef         `json:"document"`
		Requester        personRef      `json:"requester"`
		Note             string         `json:"note,omitempty"`
		ExternalApprover *externalBody  `json:"externalApprover,omitempty"`
		Levels           []levelView    `json:"levels"`
		CurrentLevel     int            `json:"currentLevel"`
		Approvals        int            `json:"approvals"`
		Asked            []askedView    `json:"asked"`
		Decisions        []decisionView `json:"decisions,omitempty"`
		TimeoutSeconds   int            `json:"timeoutSeconds"`
		CreatedAt        time.Time      `json:"createdAt"`
		UpdatedAt        time.Time      `json:"updatedAt"`
		FinishedAt       *time.Time     `json:"finishedAt,omitempty"`
	}
)

func toDocumentView(d documents.Document) documentView {
	return documentView{
		Type: string(d.Type), ID: d.ID, Store: d.Store, Department: d.Department, Supplier: d.Supplier, Amount: d.Amount,
		Currency: d.Currency, Title: d.Title, Summary: d.Summary, DueDate: d.DueDate, URL: d.URL, Status: string(d.Status),
		ApprovalRequestID: d.RequestID, Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

func toPolicyView(p documents.ApprovalPolicy) policyView {
	v := policyView{
		DocType: string(p.DocType), Enabled: p.Enabled, Levels: make([]levelBody, 0, len(p.Levels)), SelfApproval: p.SelfApproval,
		ExternalApprovers: externalPolicy{Allowed: p.ExternalAllowed, Domains: append([]string{}, p.ExternalDomains...)},
		ExpiresAfterHours: p.ExpiresAfterHours, Version: p.Version,
	}
	for _, l := range p.Levels {
		v.Levels = append(v.Levels, levelBody(l))
	}
	return v
}

func toRequestView(r documents.ApprovalRequest, ds []documents.ApprovalDecision) requestView {
	v := requestView{
		ID: r.ID, Status: string(r.Status),
		Document:  docRef{Type: string(r.DocType), ID: r.DocID, Title: r.DocTitle, Amount: r.Amount, Currency: r.Currency, Store: r.Store, Department: r.Department},
		Requester: personRef{ID: r.RequesterID, Name: r.RequesterName, Email: r.RequesterEmail},
		Note:      r.Note, Levels: make([]levelView, 0, len(r.Levels)), CurrentLevel: r.Level, Approvals: r.Approvals,
		Asked: make([]askedView, 0, len(r.Asked)), TimeoutSeconds: r.TimeoutSeconds,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.External != nil {
		v.ExternalApprover = &externalBody{Email: r.External.Email, Name: r.External.Name}
	}
	for i, l := range r.Levels {
		v.Levels = append(v.Levels, levelView{Level: i + 1, MinAmount: l.MinAmount, Permission: l.Permission, Role: l.Role, Required: l.Required, Scope: l.Scope,
			RemindAfterHours: l.RemindAfterHours, EscalateAfterHours: l.EscalateAfterHours, EscalateTo: l.EscalateTo})
	}
	for _, a := range r.Asked {
		v.Asked = append(v.Asked, askedView{Level: a.Level, MemberID: a.MemberID, Name: a.Name, Email: a.Email, External: a.MemberID == "", AskedAt: a.AskedAt.UTC(), Escalated: a.Escalated})
	}
	for _, d := range ds {
		dv := decisionView{
			Level: d.Level, MemberID: d.MemberID, Name: d.Name, Email: d.Email, Decision: d.Outcome, Comment: d.Comment,
			ByLink: d.ByLink, DecidedAt: d.DecidedAt.UTC(),
		}
		if d.ImpersonatorID != "" {
			dv.Impersonator = &personRef{ID: d.ImpersonatorID, Name: d.ImpersonatorName}
		}
		if d.DelegateID != "" {
			dv.OnBehalfOf = &personRef{ID: d.MemberID, Name: d.Name, Email: d.Email}
			dv.MemberID, dv.Name, dv.Email = d.DelegateID, d.DelegateName, d.DelegateEmail
		}
		v.Decisions = append(v.Decisions, dv)
	}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt.UTC()
		v.FinishedAt = &t
	}
	return v
}

// HandleGetDocument serves GET /v1/documents/{type}/{id}.
func (s *Service) HandleGetDocument(w http.ResponseWriter, r *http.Request) error {
	d, err := s.GetDocument(r.Context(), auth.FromContext(r.Context()), r.PathValue("type"), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", httpapi.ETag(d.Version))
	httpapi.WriteJSON(w, r, http.StatusOK, toDocumentView(d))
	return nil
}

// HandlePutDocument serves PUT /v1/documents/{type}/{id}.
func (s *Service) HandlePutDocument(w http.ResponseWriter, r *http.Request) error {
	ifMatch, err := httpapi.IfMatch(r, false)
	if err != nil {
		return err
	}
	var in documentBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	d, created, err := s.PutDocument(r.Context(), auth.FromContext(r.Context()), r.PathValue("type"), r.PathValue("id"), ifMatch, DocumentInput(in))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", httpapi.ETag(d.Version))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, r, status, toDocumentView(d))
	return nil
}

// HandleGetPolicy serves GET /v1/approval-policies/{docType}.
func (s *Service) HandleGetPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := s.GetPolicy(r.Context(), auth.FromContext(r.Context()), r.PathValue("docType"))
	if err != nil {
		return err
	}
	if p.Version > 0 {
		w.Header().Set("ETag", httpapi.ETag(p.Version))
	}
	httpapi.WriteJSON(w, r, http.StatusOK, toPolicyView(p))
	return nil
}

// HandlePutPolicy serves PUT /v1/approval-policies/{docType}.
func (s *Service) HandlePutPolicy(w http.ResponseWriter, r *http.Request) error {
	ifMatch, err := httpapi.IfMatch(r, false)
	if err != nil {
		return err
	}
	var in policyBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	pin := PolicyInput{Enabled: in.Enabled, SelfApproval: in.SelfApproval, ExpiresAfterHours: in.ExpiresAfterHours}
	for _, l := range in.Levels {
		pin.Levels = append(pin.Levels, documents.ApprovalLevel(l))
	}
	if in.ExternalApprovers != nil {
		pin.ExternalAllowed, pin.ExternalDomains = in.ExternalApprovers.Allowed, in.ExternalApprovers.Domains
	}
	p, err := s.PutPolicy(r.Context(), auth.FromContext(r.Context()), r.PathValue("docType"), ifMatch, pin)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", httpapi.ETag(p.Version))
	httpapi.WriteJSON(w, r, http.StatusOK, toPolicyView(p))
	return nil
}

// HandleCreateRequest serves POST /v1/documents/{type}/{id}/approval-requests.
func (s *Service) HandleCreateRequest(w http.ResponseWriter, r *http.Request) error {
	var in requestBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	rin := RequestInput{Note: in.Note}
	if in.ExternalApprover != nil {
		rin.External = &documents.External{Email: in.ExternalApprover.Email, Name: in.ExternalApprover.Name}
	}
	req, err := s.RequestApproval(r.Context(), auth.FromContext(r.Context()), r.PathValue("type"), r.PathValue("id"), rin)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/approval-requests/"+req.ID)
	httpapi.WriteJSON(w, r, http.StatusAccepted, toRequestView(req, nil))
	return nil
}

// HandleListRequests serves GET /v1/approval-requests.
func (s *Service) HandleListRequests(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := ListFilter{Status: documents.RequestStatus(q.Get("status")), Mine: q.Get("mine")}
	page, err := s.ListRequests(r.Context(), auth.FromContext(r.Context()), f, limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, listedRequest))
	return nil
}

// listedRequest is a request as a list shows it: without its decisions.
func listedRequest(r documents.ApprovalRequest) requestView { return toRequestView(r, nil) }

// HandleGetRequest serves GET /v1/approval-requests/{id}.
func (s *Service) HandleGetRequest(w http.ResponseWriter, r *http.Request) error {
	req, ds, err := s.GetRequest(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, toRequestView(req, ds))
	return nil
}

// HandleDecide serves POST /v1/approval-requests/{id}/decision.
func (s *Service) HandleDecide(w http.ResponseWriter, r *http.Request) error {
	var in decisionBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	res, err := s.Decide(r.Context(), DecideInput{
		Principal: auth.FromContext(r.Context()), RequestID: r.PathValue("id"), Decision: in.Decision, Comment: in.Comment,
		OnBehalfOf: in.OnBehalfOf,
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, toRequestView(res.Request, res.Decisions))
	return nil
}

// HandleCancel serves POST /v1/approval-requests/{id}/cancel.
func (s *Service) HandleCancel(w http.ResponseWriter, r *http.Request) error {
	req, err := s.Cancel(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, toRequestView(req, nil))
	return nil
}

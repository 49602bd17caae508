package access

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/team"
)

type (
	requestBody struct {
		Role      string     `json:"role"`
		Scope     string     `json:"scope"`
		Reason    string     `json:"reason"`
		ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	}
	decisionBody struct {
		Decision  string     `json:"decision"`
		Comment   string     `json:"comment,omitempty"`
		ExpiresAt *time.Time `json:"expiresAt,omitempty"`
		// OnBehalfOf is the member the caller decides for as their
		// delegate.
		OnBehalfOf string `json:"onBehalfOf,omitempty"`
	}
	personRef struct {
		ID    string `json:"id"`
		Name  string `json:"name,omitempty"`
		Email string `json:"email,omitempty"`
	}
	askedView struct {
		MemberID string    `json:"memberId"`
		Name     string    `json:"name,omitempty"`
		AskedAt  time.Time `json:"askedAt"`
	}
	decisionView struct {
		Decision  string    `json:"decision"`
		DecidedBy personRef `json:"decidedBy"`
		// OnBehalfOf is the member a delegate decided for (decidedBy is
		// then the delegate).
		OnBehalfOf     *personRef `json:"onBehalfOf,omitempty"`
		Comment        string     `json:"comment,omitempty"`
		ByLink         bool       `json:"byLink"`
		GrantExpiresAt *time.Time `json:"grantExpiresAt,omitempty"`
		DecidedAt      time.Time  `json:"decidedAt"`
	}
	requestView struct {
		ID         string        `json:"id"`
		Status     string        `json:"status"`
		Requester  personRef     `json:"requester"`
		Role       string        `json:"role"`
		Scope      string        `json:"scope"`
		Reason     string        `json:"reason"`
		ExpiresAt  *time.Time    `json:"expiresAt,omitempty"`
		DecideBy   time.Time     `json:"decideBy"`
		Asked      []askedView   `json:"asked"`
		Decision   *decisionView `json:"decision,omitempty"`
		CreatedAt  time.Time     `json:"createdAt"`
		UpdatedAt  time.Time     `json:"updatedAt"`
		FinishedAt *time.Time    `json:"finishedAt,omitempty"`
	}
)

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toView(r team.AccessRequest) requestView {
	v := requestView{
		ID: r.ID, Status: string(r.Status), Requester: personRef{ID: r.RequesterID, Name: r.RequesterName, Email: r.RequesterEmail},
		Role: r.Role, Scope: r.Scope.String(), Reason: r.Reason, ExpiresAt: optTime(r.ExpiresAt), DecideBy: r.DecideBy.UTC(),
		Asked: make([]askedView, 0, len(r.Asked)), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), FinishedAt: optTime(r.FinishedAt),
	}
	for _, a := range r.Asked {
		v.Asked = append(v.Asked, askedView{MemberID: a.MemberID, Name: a.Name, AskedAt: a.AskedAt.UTC()})
	}
	if r.Status == team.AccessApproved || r.Status == team.AccessDenied {
		v.Decision = &decisionView{
			Decision: map[bool]string{true: "approve", false: "deny"}[r.Status == team.AccessApproved], DecidedBy: personRef{ID: r.DeciderID, Name: r.DeciderName},
			Comment: r.Comment, ByLink: r.ByLink, GrantExpiresAt: optTime(r.GrantExpiresAt), DecidedAt: r.FinishedAt.UTC(),
		}
		if r.OnBehalfOfID != "" {
			v.Decision.OnBehalfOf = &personRef{ID: r.OnBehalfOfID, Name: r.OnBehalfOfName}
		}
	}
	return v
}

// HandleCreate serves POST /v1/access-requests: 202, the pending request.
func (s *Service) HandleCreate(w http.ResponseWriter, r *http.Request) error {
	var in requestBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	req, err := s.Request(r.Context(), auth.FromContext(r.Context()), RequestInput(in))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/access-requests/"+req.ID)
	httpapi.WriteJSON(w, r, http.StatusAccepted, toView(req))
	return nil
}

// HandleList serves GET /v1/access-requests.
func (s *Service) HandleList(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.List(r.Context(), auth.FromContext(r.Context()), ListFilter{Status: team.AccessStatus(q.Get("status")), Mine: q.Get("mine")}, limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, toView))
	return nil
}

// HandleGet serves GET /v1/access-requests/{id}.
func (s *Service) HandleGet(w http.ResponseWriter, r *http.Request) error {
	req, err := s.Get(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, toView(req))
	return nil
}

// HandleDecide serves POST /v1/access-requests/{id}/decision.
func (s *Service) HandleDecide(w http.ResponseWriter, r *http.Request) error {
	var in decisionBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	res, err := s.Decide(r.Context(), DecideInput{
		Principal: auth.FromContext(r.Context()), RequestID: r.PathValue("id"),
		Decision: in.Decision, Comment: in.Comment, ExpiresAt: in.ExpiresAt, OnBehalfOf: in.OnBehalfOf,
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, toView(res.Request))
	return nil
}

// HandleCancel serves POST /v1/access-requests/{id}/cancel.
func (s *Service) HandleCancel(w http.ResponseWriter, r *http.Request) error {
	req, err := s.Cancel(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, toView(req))
	return nil
}

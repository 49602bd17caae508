package approvals

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/team"
)

type (
	delegationBody struct {
		DelegateID string    `json:"delegateId"`
		From       time.Time `json:"from"`
		Until      time.Time `json:"until"`
		Note       string    `json:"note,omitempty"`
	}
	delegationView struct {
		MemberID   string    `json:"memberId"`
		DelegateID string    `json:"delegateId"`
		From       time.Time `json:"from"`
		Until      time.Time `json:"until"`
		Note       string    `json:"note,omitempty"`
		// Active says whether the delegation applies now.
		Active    bool      `json:"active"`
		Version   int64     `json:"version"`
		CreatedAt time.Time `json:"createdAt"`
		UpdatedAt time.Time `json:"updatedAt"`
	}
)

func (s *Service) toDelegationView(d team.Delegation) delegationView {
	return delegationView{
		MemberID: d.MemberID, DelegateID: d.DelegateID, From: d.From.UTC(), Until: d.Until.UTC(), Note: d.Note,
		Active: d.ActiveAt(s.Now.Now()), Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

// HandleGetDelegation serves GET /v1/me/delegation.
func (s *Service) HandleGetDelegation(w http.ResponseWriter, r *http.Request) error {
	d, err := s.GetMyDelegation(r.Context(), auth.FromContext(r.Context()))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, s.toDelegationView(d))
	return nil
}

// HandlePutDelegation serves PUT /v1/me/delegation: 201 when it creates
// the caller's delegation, 200 when it replaces it.
func (s *Service) HandlePutDelegation(w http.ResponseWriter, r *http.Request) error {
	var in delegationBody
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	d, created, err := s.PutMyDelegation(r.Context(), auth.FromContext(r.Context()), DelegationInput(in))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, r, status, s.toDelegationView(d))
	return nil
}

// HandleDeleteDelegation serves DELETE /v1/me/delegation.
func (s *Service) HandleDeleteDelegation(w http.ResponseWriter, r *http.Request) error {
	if err := s.DeleteMyDelegation(r.Context(), auth.FromContext(r.Context())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

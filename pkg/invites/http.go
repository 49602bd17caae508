package invites

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/views"
)

type (
	createRequest struct {
		Email       string             `json:"email"`
		Name        string             `json:"name,omitempty"`
		Admin       bool               `json:"admin,omitempty"`
		Assignments []views.Assignment `json:"assignments,omitempty"`
	}
	invitationView struct {
		ID          string             `json:"id"`
		Email       string             `json:"email"`
		Name        string             `json:"name,omitempty"`
		Status      string             `json:"status"`
		Admin       bool               `json:"admin"`
		Assignments []views.Assignment `json:"assignments"`
		MemberID    string             `json:"memberId"`
		Inviter     inviterView        `json:"inviter"`
		ExpiresAt   time.Time          `json:"expiresAt"`
		CreatedAt   time.Time          `json:"createdAt"`
		AcceptedAt  *time.Time         `json:"acceptedAt,omitempty"`
	}
	inviterView struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	lookupResponse struct {
		AccountName string    `json:"accountName"`
		InviterName string    `json:"inviterName"`
		Email       string    `json:"email"`
		Name        string    `json:"name,omitempty"`
		ExpiresAt   time.Time `json:"expiresAt"`
		HasAccount  bool      `json:"hasAccount"`
	}
	acceptRequest struct {
		Token    string `json:"token"`
		Name     string `json:"name,omitempty"`
		Password string `json:"password,omitempty"`
	}
	acceptResponse struct {
		Member       views.Member `json:"member"`
		AccessToken  string       `json:"accessToken"`
		RefreshToken string       `json:"refreshToken"`
		TokenType    string       `json:"tokenType"`
		ExpiresIn    int          `json:"expiresIn"`
	}
)

func (s *Service) view(inv team.Invitation) invitationView {
	v := invitationView{
		ID: inv.ID, Email: inv.Email, Name: inv.Name, Status: string(inv.StatusAt(s.Now.Now())), Admin: inv.Admin,
		Assignments: make([]views.Assignment, 0, len(inv.Assignments)), MemberID: inv.MemberID,
		Inviter: inviterView{ID: inv.InviterID, Name: inv.InviterName}, ExpiresAt: inv.ExpiresAt.UTC(), CreatedAt: inv.CreatedAt.UTC(),
	}
	for _, a := range inv.Assignments {
		v.Assignments = append(v.Assignments, views.AssignmentOf(a, s.Now.Now()))
	}
	if !inv.AcceptedAt.IsZero() {
		t := inv.AcceptedAt.UTC()
		v.AcceptedAt = &t
	}
	return v
}

// HandleCreate serves POST /v1/invitations.
func (s *Service) HandleCreate(w http.ResponseWriter, r *http.Request) error {
	var in createRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	as, err := views.ParseAssignments(in.Assignments)
	if err != nil {
		return err
	}
	inv, err := s.Create(r.Context(), auth.FromContext(r.Context()), CreateInput{Email: in.Email, Name: in.Name, Admin: in.Admin, Assignments: as})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/invitations/"+inv.ID)
	httpapi.WriteJSON(w, r, http.StatusCreated, s.view(inv))
	return nil
}

// HandleList serves GET /v1/invitations.
func (s *Service) HandleList(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	page, err := s.List(r.Context(), auth.FromContext(r.Context()), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, s.view))
	return nil
}

// HandleResend serves POST /v1/invitations/{id}/resend.
func (s *Service) HandleResend(w http.ResponseWriter, r *http.Request) error {
	inv, err := s.Resend(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), s.Auth.SourceIP(r))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, s.view(inv))
	return nil
}

// HandleRevoke serves DELETE /v1/invitations/{id}.
func (s *Service) HandleRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.Revoke(r.Context(), auth.FromContext(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// HandleLookup serves the public GET /v1/invitations/lookup?token=.
func (s *Service) HandleLookup(w http.ResponseWriter, r *http.Request) error {
	l, err := s.LookupToken(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	httpapi.WriteJSON(w, r, http.StatusOK, lookupResponse{
		AccountName: l.AccountName, InviterName: l.Invitation.InviterName, Email: l.Invitation.Email,
		Name: l.Invitation.Name, ExpiresAt: l.Invitation.ExpiresAt.UTC(), HasAccount: l.HasIdentity,
	})
	return nil
}

// HandleAccept serves the public POST /v1/invitations/accept.
func (s *Service) HandleAccept(w http.ResponseWriter, r *http.Request) error {
	var in acceptRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	res, err := s.Accept(r.Context(), AcceptInput{
		Token: in.Token, Name: in.Name, Password: in.Password, Authorization: r.Header.Get("Authorization"),
		SourceIP: s.Auth.SourceIP(r), RequestID: httpapi.RequestID(r.Context()),
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusOK, acceptResponse{
		Member: views.FromMember(res.Member), AccessToken: res.Tokens.AccessToken, RefreshToken: res.Tokens.RefreshToken,
		TokenType: "Bearer", ExpiresIn: int(res.Tokens.ExpiresIn / time.Second),
	})
	return nil
}

type (
	joinRequest struct {
		AccountID string `json:"accountId"`
		Email     string `json:"email"`
		Name      string `json:"name"`
		Password  string `json:"password"`
	}
	joinResponse struct {
		Status string `json:"status"`
	}
)

// HandleJoin serves the public POST /v1/join: 202 {"status":
// "verify_email"} for every email the account's settings let join.
func (s *Service) HandleJoin(w http.ResponseWriter, r *http.Request) error {
	var in joinRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	if err := s.Join(r.Context(), JoinInput{AccountID: in.AccountID, Email: in.Email, Name: in.Name, Password: in.Password, SourceIP: s.Auth.SourceIP(r), RequestID: httpapi.RequestID(r.Context())}); err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusAccepted, joinResponse{Status: "verify_email"})
	return nil
}

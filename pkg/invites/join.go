package invites

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Self-registration: an account that allows it lets people whose email is
// in its allowed domains join by themselves, with the account's default
// role at account scope (never administrator: the account settings refuse
// it). A new person must verify their email before signing in, like an
// owner after sign-up; a person with a Steward sign-in proves it with
// their password.

var (
	errJoinClosed    = httpapi.Errorf(http.StatusForbidden, "self_registration_closed", "This account does not let people join by themselves; ask for an invitation.")
	errJoinDomain    = httpapi.Errorf(http.StatusForbidden, "domain_not_allowed", "Your email's domain may not join this account by itself; ask for an invitation.")
	errJoinNoAccount = httpapi.Errorf(http.StatusNotFound, "not_found", "The account does not exist.")
)

// JoinInput is POST /v1/join.
type JoinInput struct {
	AccountID string
	Email     string
	Name      string
	Password  string
	SourceIP  string
	RequestID string
}

// Join registers a person in an account that allows self-registration.
// It answers whether the person must verify their email first.
func (s *Service) Join(ctx context.Context, in JoinInput) (verifyFirst bool, err error) {
	email, err := team.NormalizeEmail(in.Email)
	if err != nil {
		return false, httpapi.InvalidField("email", err.Error())
	}
	name, err := httpapi.CleanName("name", in.Name, 120, true)
	if err != nil {
		return false, err
	}
	acct, err := s.Store.GetAccount(ctx, in.AccountID)
	if errors.Is(err, team.ErrAccountNotFound) {
		return false, errJoinNoAccount
	}
	if err != nil {
		return false, err
	}
	reg := acct.Settings.SelfRegistration
	if !reg.Enabled || reg.DefaultRole == "" || reg.DefaultRole == authz.RoleAdministrator {
		return false, errJoinClosed
	}
	if !slices.Contains(reg.Domains, team.EmailDomain(email)) {
		return false, errJoinDomain
	}
	now := s.now()
	ident := team.Identity{ID: store.NewID("i"), Email: email, CreatedAt: now, UpdatedAt: now, Version: 1}
	newIdentity := true
	switch id, err := s.Store.IdentityIDByEmail(ctx, email); {
	case err == nil:
		existing, err := s.Store.GetIdentity(ctx, id)
		if err != nil {
			return false, err
		}
		if err := s.Auth.CheckPassword(ctx, existing, in.Password, in.SourceIP); err != nil {
			return false, err
		}
		ident, newIdentity = existing, false
	case errors.Is(err, team.ErrIdentityNotFound):
		if err := password.Validate(in.Password, email); err != nil {
			return false, httpapi.InvalidField("password", err.Error())
		}
		if ident.PasswordHash, err = password.Hash(in.Password, password.DefaultParams); err != nil {
			return false, err
		}
	default:
		return false, err
	}
	m := team.Member{
		ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: email, Name: name, Status: authz.StatusActive,
		Assignments: []authz.Assignment{{Role: reg.DefaultRole, Scope: authz.AccountScope}}, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	var verify *store.Token
	var tok string
	if !ident.EmailVerified {
		var hash string
		tok, hash = onetime.New()
		verify = &store.Token{Hash: hash, Kind: store.TokenVerifyEmail, AccountID: acct.ID, SubjectID: ident.ID, ExpiresAt: now.Add(auth.VerifyEmailTTL)}
	}
	ev := audit.Event{AccountID: acct.ID, ActorID: m.ID, ActorName: name, Action: "member.self_register", TargetType: "member", TargetID: m.ID, RequestID: in.RequestID,
		After: audit.Snapshot(map[string]any{"email": email, "role": reg.DefaultRole})}
	if err := s.Store.JoinAccount(ctx, m, ident, newIdentity, verify, ev); err != nil {
		switch {
		case errors.Is(err, team.ErrAlreadyMember):
			return false, errAlreadyMember
		case errors.Is(err, team.ErrEmailTaken):
			return false, httpapi.Errorf(http.StatusConflict, "retry", "This email got a sign-in meanwhile; try again.")
		case errors.Is(err, store.ErrRoleGone):
			// The default role was a custom role since deleted: closed
			// until an admin picks another.
			return false, errJoinClosed
		}
		return false, err
	}
	if verify != nil {
		return true, s.Auth.SendVerifyEmail(ctx, email, name, tok, verify.Hash)
	}
	return false, nil
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

// HandleJoin serves the public POST /v1/join.
func (s *Service) HandleJoin(w http.ResponseWriter, r *http.Request) error {
	var in joinRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	if err := httpapi.CheckID("accountId", in.AccountID); err != nil {
		return err
	}
	verify, err := s.Join(r.Context(), JoinInput{AccountID: in.AccountID, Email: in.Email, Name: in.Name, Password: in.Password, SourceIP: s.Auth.SourceIP(r), RequestID: httpapi.RequestID(r.Context())})
	if err != nil {
		return err
	}
	status := "joined"
	if verify {
		status = "verify_email"
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, joinResponse{Status: status})
	return nil
}

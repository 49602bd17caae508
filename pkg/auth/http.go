package auth

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/views"
)

// API request and response bodies.
type (
	signupRequest struct {
		AccountName string `json:"accountName"`
		Email       string `json:"email"`
		Name        string `json:"name"`
		Password    string `json:"password"`
		Preset      string `json:"preset,omitempty"`
	}
	verifyRequest struct {
		Token    string `json:"token,omitempty"`
		Email    string `json:"email,omitempty"`
		Password string `json:"password,omitempty"`
	}
	verifyResponse struct {
		Verified  bool   `json:"verified"`
		AccountID string `json:"accountId,omitempty"`
		MemberID  string `json:"memberId,omitempty"`
	}
	loginRequest struct {
		Email     string `json:"email"`
		Password  string `json:"password"`
		AccountID string `json:"accountId,omitempty"`
	}
	tokensResponse struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken,omitempty"`
		TokenType    string `json:"tokenType"`
		ExpiresIn    int    `json:"expiresIn"`
	}
	refreshRequest struct {
		RefreshToken string `json:"refreshToken"`
	}
	resetRequest struct {
		Email string `json:"email"`
	}
	resetConfirmRequest struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	meResponse struct {
		Member       views.Member     `json:"member"`
		Account      views.Account    `json:"account"`
		Impersonated bool             `json:"impersonated"`
		Impersonator *views.MemberRef `json:"impersonator,omitempty"`
	}
	accepted struct {
		Status string `json:"status"`
	}
)

func toTokens(t Tokens) tokensResponse {
	return tokensResponse{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer", ExpiresIn: int(t.ExpiresIn / time.Second)}
}

// HandleSignup serves POST /v1/signup: 202 {"status":"verification_sent"}
// whether or not the email has a sign-in (and whether or not its cap let
// an email go); the link in the email creates the account.
func (s *Service) HandleSignup(w http.ResponseWriter, r *http.Request) error {
	var in signupRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	if err := s.Signup(r.Context(), SignupInput{AccountName: in.AccountName, Email: in.Email, Name: in.Name, Password: in.Password, Preset: in.Preset, SourceIP: s.SourceIP(r), RequestID: httpapi.RequestID(r.Context())}); err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusAccepted, accepted{Status: "verification_sent"})
	return nil
}

// HandleVerifyEmail serves POST /v1/auth/verify-email: {token, password}
// confirms a link, {email} sends a new link.
func (s *Service) HandleVerifyEmail(w http.ResponseWriter, r *http.Request) error {
	var in verifyRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	v, resent, err := s.VerifyOrResend(r.Context(), VerifyInput{
		Token: in.Token, Email: in.Email, Password: in.Password, SourceIP: s.SourceIP(r), RequestID: httpapi.RequestID(r.Context()),
	})
	if err != nil {
		return err
	}
	if resent {
		httpapi.WriteJSON(w, r, http.StatusAccepted, accepted{Status: "If the address needs verifying, a new link is on its way."})
		return nil
	}
	httpapi.WriteJSON(w, r, http.StatusOK, verifyResponse{Verified: true, AccountID: v.AccountID, MemberID: v.MemberID})
	return nil
}

// HandleLogin serves POST /v1/auth/login.
func (s *Service) HandleLogin(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	t, err := s.Login(r.Context(), LoginInput{Email: in.Email, Password: in.Password, AccountID: in.AccountID, SourceIP: s.SourceIP(r), RequestID: httpapi.RequestID(r.Context())})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusOK, toTokens(t))
	return nil
}

// HandleRefresh serves POST /v1/auth/refresh.
func (s *Service) HandleRefresh(w http.ResponseWriter, r *http.Request) error {
	var in refreshRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	t, err := s.Refresh(r.Context(), in.RefreshToken)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusOK, toTokens(t))
	return nil
}

// HandleLogout serves POST /v1/auth/logout.
func (s *Service) HandleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.Logout(r.Context(), FromContext(r.Context())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// HandlePasswordReset serves POST /v1/auth/password-reset.
func (s *Service) HandlePasswordReset(w http.ResponseWriter, r *http.Request) error {
	var in resetRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	if err := s.RequestPasswordReset(r.Context(), in.Email, s.SourceIP(r), httpapi.RequestID(r.Context())); err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusAccepted, accepted{Status: "If the address has a Steward sign-in, a reset link is on its way."})
	return nil
}

// HandlePasswordResetConfirm serves POST /v1/auth/password-reset/confirm.
func (s *Service) HandlePasswordResetConfirm(w http.ResponseWriter, r *http.Request) error {
	var in resetConfirmRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	if err := s.ConfirmPasswordReset(r.Context(), in.Token, in.Password, httpapi.RequestID(r.Context())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// HandleMe serves GET /v1/me.
func (s *Service) HandleMe(w http.ResponseWriter, r *http.Request) error {
	me, err := s.Me(r.Context(), FromContext(r.Context()))
	if err != nil {
		return err
	}
	out := meResponse{Member: views.FromMember(me.Member), Account: views.FromAccount(me.Account), Impersonated: me.Impersonator != nil}
	if me.Impersonator != nil {
		ref := views.RefOf(*me.Impersonator)
		out.Impersonator = &ref
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
	return nil
}

// HandleImpersonate serves POST /v1/users/{id}/impersonate.
func (s *Service) HandleImpersonate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Impersonate(r.Context(), FromContext(r.Context()), r.PathValue("id"), httpapi.RequestID(r.Context()))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusOK, toTokens(t))
	return nil
}

// HandleJWKS serves GET /.well-known/jwks.json: the current and previous
// public keys.
func (s *Service) HandleJWKS(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpapi.WriteJSON(w, r, http.StatusOK, accesstoken.JWKS(s.Issuer.Keys))
	return nil
}

// HandleOpenIDConfiguration serves GET /.well-known/openid-configuration,
// which API Gateway's JWT authorizer reads to find the keys.
func (s *Service) HandleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpapi.WriteJSON(w, r, http.StatusOK, accesstoken.OpenIDConfiguration(s.Issuer.Issuer))
	return nil
}

package apitest

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

const goodPassword = "correct horse battery staple"

type tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"`
}

type signedUp struct {
	Email     string
	AccountID string
	MemberID  string
}

// signup creates an account with stores s1-s3, departments sales and
// purchase and suppliers sup1 and acme, and verifies its owner's email.
func (e *Env) signup(t testing.TB, email string) signedUp {
	t.Helper()
	u := e.signupBare(t, email)
	e.seedScopes(t, u.AccountID, u.MemberID)
	return u
}

// signupBare creates an account with no stores, departments or suppliers.
func (e *Env) signupBare(t testing.TB, email string) signedUp {
	t.Helper()
	account, member := e.signupConfirm(t, "Acme "+email, email, "Olive Owner")
	return signedUp{Email: email, AccountID: account, MemberID: member}
}

// verified is the answer of a confirmed link.
type verified struct {
	Verified  bool   `json:"verified"`
	AccountID string `json:"accountId"`
	MemberID  string `json:"memberId"`
}

// signupConfirm signs up (202, nothing created yet) and confirms the
// emailed link with the password, which creates the account; it answers
// the account's and its owner's ids.
func (e *Env) signupConfirm(t testing.TB, accountName, email, name string) (account, member string) {
	t.Helper()
	since := time.Now()
	r := e.Call(t, "POST", "/v1/signup", "", map[string]string{
		"accountName": accountName, "email": email, "name": name, "password": goodPassword,
	}).Want(t, http.StatusAccepted, "")
	if st := r.Map(t)["status"]; st != "verification_sent" {
		t.Fatalf("signup answered %s", r.Body)
	}
	tok := e.TokenFromEmail(t, email, "verify", since)
	var v verified
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &v)
	if !v.Verified || v.AccountID == "" || v.MemberID == "" {
		t.Fatalf("verify-email answered %+v", v)
	}
	return v.AccountID, v.MemberID
}

func (e *Env) login(t testing.TB, email, password, account string) tokens {
	t.Helper()
	body := map[string]string{"email": email, "password": password}
	if account != "" {
		body["accountId"] = account
	}
	var tk tokens
	e.Call(t, "POST", "/v1/auth/login", "", body).Want(t, http.StatusOK, "").JSON(t, &tk)
	if tk.AccessToken == "" || tk.RefreshToken == "" || tk.TokenType != "Bearer" || tk.ExpiresIn <= 0 {
		t.Fatalf("login answered %+v", tk)
	}
	return tk
}

func newEmail(prefix string) string { return strings.ToLower(testenv.NewID(prefix)) + "@example.com" }

func TestSignupVerifyLoginRefreshLogout(t *testing.T) {
	e := New(t)
	email := newEmail("owner")
	since := time.Now()
	e.Call(t, "POST", "/v1/signup", "", map[string]string{
		"accountName": "Acme", "email": "  " + strings.ToUpper(email) + " ", "name": "Olive Owner", "password": goodPassword,
	}).Want(t, http.StatusAccepted, "")

	// Nothing exists before the link is confirmed (sign-up answered 202,
	// not 201 with the account, since issue 13: the link creates it).
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword}).Want(t, http.StatusUnauthorized, "invalid_credentials")

	// Asking again sends a new link and kills the old one.
	first := e.TokenFromEmail(t, email, "verify", since)
	since2 := time.Now()
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"email": email}).Want(t, http.StatusAccepted, "")
	second := e.TokenFromEmail(t, email, "verify", since2, first)
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": first, "password": goodPassword}).Want(t, http.StatusBadRequest, "token_invalid")
	// The link needs the password chosen at sign-up.
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": second}).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": second, "password": "another long passphrase"}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": second, "password": goodPassword}).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": second, "password": goodPassword}).Want(t, http.StatusGone, "token_used")

	tk := e.login(t, email, goodPassword, "")
	me := e.Call(t, "GET", "/v1/me", tk.AccessToken, nil).Want(t, http.StatusOK, "").Map(t)
	member := me["member"].(map[string]any)
	if member["email"] != email || member["owner"] != true || me["impersonated"] != false {
		t.Fatalf("/v1/me = %v", me)
	}

	// Refresh rotates; the old refresh token stops working, and reusing it
	// revokes the session, new tokens included.
	var tk2 tokens
	e.Call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tk.RefreshToken}).Want(t, http.StatusOK, "").JSON(t, &tk2)
	if tk2.RefreshToken == tk.RefreshToken {
		t.Fatal("refresh token did not rotate")
	}
	e.Call(t, "GET", "/v1/me", tk2.AccessToken, nil).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tk.RefreshToken}).Want(t, http.StatusUnauthorized, "refresh_invalid")
	e.Call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tk2.RefreshToken}).Want(t, http.StatusUnauthorized, "refresh_invalid")
	e.Call(t, "GET", "/v1/me", tk2.AccessToken, nil).Want(t, http.StatusUnauthorized, "session_ended")

	// Logout ends the session at once.
	tk3 := e.login(t, email, goodPassword, "")
	e.Call(t, "POST", "/v1/auth/logout", tk3.AccessToken, nil).Want(t, http.StatusNoContent, "")
	e.Call(t, "GET", "/v1/me", tk3.AccessToken, nil).Want(t, http.StatusUnauthorized, "session_ended")
	e.Call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tk3.RefreshToken}).Want(t, http.StatusUnauthorized, "refresh_invalid")
}

func TestConcurrentRefreshOneWinner(t *testing.T) {
	e := New(t)
	u := e.signup(t, newEmail("race"))
	tk := e.login(t, u.Email, goodPassword, "")
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- e.Call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tk.RefreshToken}).Status
		}()
	}
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		if c == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d refreshes with one token succeeded, want 1", ok)
	}
}

func TestLoginErrorsLookAlikeAndAreLimited(t *testing.T) {
	e := New(t)
	u := e.signup(t, newEmail("limit"))
	unknown := e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": newEmail("nobody"), "password": "whatever-password"}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	wrong := e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": u.Email, "password": "wrong-password-1"}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	strip := func(r *Response) map[string]any {
		m := r.Map(t)
		delete(m, "requestId")
		return m
	}
	if a, b := strip(unknown), strip(wrong); a["detail"] != b["detail"] || a["type"] != b["type"] {
		t.Fatalf("unknown email %v and wrong password %v answer differently", a, b)
	}
	for i := 1; i < 10; i++ { // one failure above already
		e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": u.Email, "password": "wrong-password-1"}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	r := e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": u.Email, "password": goodPassword}).Want(t, http.StatusTooManyRequests, "too_many_attempts")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
}

func TestLoginLimitedPerAddress(t *testing.T) {
	e := New(t, func(d *server.Deps) { d.Auth.Limits.PerAddress = 3 })
	u := e.signup(t, newEmail("addr"))
	addr := "X-Test-Client-Address"
	ip := fmt.Sprintf("203.0.113.%d", time.Now().UnixNano()%250)
	for i := range 3 {
		e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": newEmail(fmt.Sprint("spray", i)), "password": "wrong-password-1"}, addr, ip).Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	// A different email from the same address is refused too; from
	// another address it is not.
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": u.Email, "password": goodPassword}, addr, ip).Want(t, http.StatusTooManyRequests, "too_many_attempts")
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": u.Email, "password": goodPassword}, addr, ip+"1").Want(t, http.StatusOK, "")
}

func TestSeveralAccountsNeedAChoice(t *testing.T) {
	e := New(t)
	email := newEmail("multi")
	a := e.signup(t, email)
	// The same person creates a second account: sign-up answers as for a
	// fresh email (202; it answered 409 email_registered before issue 13:
	// account enumeration), and the emailed link goes ahead with the
	// existing sign-in's password only.
	since := time.Now()
	e.Call(t, "POST", "/v1/signup", "", map[string]string{"accountName": "Second", "email": email, "name": "Olive", "password": "not-the-password"}).Want(t, http.StatusAccepted, "")
	tok := e.TokenFromEmail(t, email, "already have a Steward sign-in", since)
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": "not-the-password"}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	var body struct {
		Account struct{ ID string } `json:"account"`
	}
	var v verified
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &v)
	body.Account.ID = v.AccountID
	r := e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword}).Want(t, http.StatusConflict, "account_required")
	accounts, _ := r.Map(t)["accounts"].([]any)
	if len(accounts) != 2 {
		t.Fatalf("409 lists %v, want both accounts", r.Map(t)["accounts"])
	}
	for _, acct := range []string{a.AccountID, body.Account.ID} {
		tk := e.login(t, email, goodPassword, acct)
		me := e.Call(t, "GET", "/v1/me", tk.AccessToken, nil).Want(t, http.StatusOK, "").Map(t)
		if me["account"].(map[string]any)["id"] != acct {
			t.Fatalf("signed into %v, want %s", me["account"], acct)
		}
	}
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword, "accountId": "a_other"}).Want(t, http.StatusForbidden, "not_a_member")
}

func TestPasswordResetEndsSessions(t *testing.T) {
	e := New(t)
	u := e.signup(t, newEmail("reset"))
	tk := e.login(t, u.Email, goodPassword, "")
	// Same answer for an unknown address.
	e.Call(t, "POST", "/v1/auth/password-reset", "", map[string]string{"email": newEmail("ghost")}).Want(t, http.StatusAccepted, "")
	since := time.Now()
	e.Call(t, "POST", "/v1/auth/password-reset", "", map[string]string{"email": u.Email}).Want(t, http.StatusAccepted, "")
	tok := e.TokenFromEmail(t, u.Email, "reset", since)
	e.Call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "password123"}).Want(t, http.StatusBadRequest, "invalid_field")
	newPassword := "a much better passphrase"
	e.Call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": newPassword}).Want(t, http.StatusNoContent, "")
	e.Call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": newPassword}).Want(t, http.StatusGone, "token_used")
	e.Call(t, "GET", "/v1/me", tk.AccessToken, nil).Want(t, http.StatusUnauthorized, "session_ended")
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": u.Email, "password": goodPassword}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	e.login(t, u.Email, newPassword, "")
}

func TestImpersonation(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("imp-owner"))
	// A second, non-admin member with a sign-in of their own.
	staff := e.signup(t, newEmail("imp-staff"))
	ident, _, err := e.Store.IdentityWithMemberships(context.Background(), mustIdentity(t, e, staff.Email))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m := team.Member{
		ID: store.NewID("m"), AccountID: owner.AccountID, IdentityID: ident.ID, Email: staff.Email, Name: "Sam Staff",
		Status: rbac.StatusActive, Assignments: []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}},
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := e.Store.AddMember(context.Background(), m, audit.Event{AccountID: owner.AccountID, ActorID: owner.MemberID, Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
		t.Fatal(err)
	}

	ownerTk := e.login(t, owner.Email, goodPassword, "")
	var imp tokens
	e.Call(t, "POST", "/v1/users/"+m.ID+"/impersonate", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
	if imp.RefreshToken != "" || imp.ExpiresIn > 3600 {
		t.Fatalf("impersonation tokens %+v: want no refresh token and at most an hour", imp)
	}
	me := e.Call(t, "GET", "/v1/me", imp.AccessToken, nil).Want(t, http.StatusOK, "").Map(t)
	if me["impersonated"] != true || me["member"].(map[string]any)["id"] != m.ID || me["impersonator"].(map[string]any)["id"] != owner.MemberID {
		t.Fatalf("/v1/me while impersonating = %v", me)
	}
	// The token carries both identities.
	claims := parseWithJWKS(t, e, imp.AccessToken)
	if claims["sub"] != m.ID || claims["act"].(map[string]any)["sub"] != owner.MemberID {
		t.Fatalf("claims %v", claims)
	}
	// An impersonated session cannot impersonate.
	e.Call(t, "POST", "/v1/users/"+owner.MemberID+"/impersonate", imp.AccessToken, nil).Want(t, http.StatusForbidden, "impersonation_forbidden")
	// A non-admin cannot impersonate; nobody impersonates an admin; an
	// unknown member is 404.
	staffTk := e.login(t, staff.Email, goodPassword, owner.AccountID)
	e.Call(t, "POST", "/v1/users/"+owner.MemberID+"/impersonate", staffTk.AccessToken, nil).Want(t, http.StatusForbidden, "admin_only")
	e.Call(t, "POST", "/v1/users/m_nobody/impersonate", ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "not_found")
	// Another account's member is not found either.
	e.Call(t, "POST", "/v1/users/"+staff.MemberID+"/impersonate", ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "not_found")

	// The audit log records both identities.
	page, err := e.Store.ListAudit(context.Background(), owner.AccountID, audit.Filter{Action: "session.impersonate"}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ActorID != m.ID || page.Items[0].ImpersonatorID != owner.MemberID {
		t.Fatalf("impersonation events %+v", page.Items)
	}
}

func mustIdentity(t *testing.T, e *Env, email string) string {
	t.Helper()
	id, err := e.Store.IdentityIDByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// parseWithJWKS validates an access token with a standard JWT library
// against the published JWKS, as API Gateway or a client would.
func parseWithJWKS(t *testing.T, e *Env, tok string) jwt.MapClaims {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid, Kty, Alg, Use, N, E string
		} `json:"keys"`
	}
	r := e.Call(t, "GET", "/.well-known/jwks.json", "", nil).Want(t, http.StatusOK, "")
	r.JSON(t, &set)
	var disc map[string]any
	e.Call(t, "GET", "/.well-known/openid-configuration", "", nil).Want(t, http.StatusOK, "").JSON(t, &disc)
	if disc["jwks_uri"] != e.Issuer+"/.well-known/jwks.json" || disc["issuer"] != e.Issuer {
		t.Fatalf("openid configuration %v", disc)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		ex, _ := base64.RawURLEncoding.DecodeString(k.E)
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		return keys[tk.Header["kid"].(string)], nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(e.Issuer), jwt.WithAudience(e.Audience))
	if err != nil {
		t.Fatalf("standard JWT validation against JWKS: %v", err)
	}
	return claims
}

func TestJWKSValidatesAccessToken(t *testing.T) {
	e := New(t)
	u := e.signup(t, newEmail("jwks"))
	tk := e.login(t, u.Email, goodPassword, "")
	claims := parseWithJWKS(t, e, tk.AccessToken)
	if claims["sub"] != u.MemberID || claims["acc"] != u.AccountID || claims["sid"] == "" {
		t.Fatalf("claims %v", claims)
	}
}

func TestAuthenticationRefusals(t *testing.T) {
	e := New(t)
	u := e.signup(t, newEmail("refuse"))
	tk := e.login(t, u.Email, goodPassword, "")
	for name, tc := range map[string]struct {
		header string
		code   string
	}{
		"no header":     {"", "unauthenticated"},
		"basic":         {"Basic dXNlcjpwYXNz", "unauthenticated"},
		"garbage":       {"Bearer not.a.token", "token_invalid"},
		"tampered":      {"Bearer " + tk.AccessToken[:len(tk.AccessToken)-4] + "AAAA", "token_invalid"},
		"empty bearer":  {"Bearer ", "unauthenticated"},
		"refresh token": {"Bearer " + tk.RefreshToken, "token_invalid"},
	} {
		r := e.Call(t, "GET", "/v1/me", "", nil, "Authorization", tc.header)
		if r.Status != http.StatusUnauthorized || r.Code() != tc.code || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
}

func TestAuthBadInputIs4xx(t *testing.T) {
	e := New(t)
	routes := []string{"/v1/signup", "/v1/auth/verify-email", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/password-reset", "/v1/auth/password-reset/confirm"}
	bodies := []string{
		``, `{`, `[]`, `"x"`, `{"unknown":1}`, `{"email":5}`, `{"email":"not-an-email","password":"x"}`,
		`{"token":"` + strings.Repeat("A", 5000) + `"}`, "{\"email\":\"a\x00b@example.com\"}", `{"refreshToken":"s_x.y"}`,
		`{"accountName":"` + strings.Repeat("n", 500) + `","email":"x@example.com","name":"n","password":"longenough1!"}`,
	}
	for _, path := range routes {
		for _, b := range bodies {
			r := e.Call(t, "POST", path, "", b)
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("POST %s %.60q: %d %s", path, b, r.Status, r.Body)
			}
		}
		big := `{"email":"` + strings.Repeat("a", 1<<20) + `"}`
		if r := e.Call(t, "POST", path, "", big); r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s oversized: %d", path, r.Status)
		}
	}
	// A route that takes no body refuses one.
	e.Call(t, "GET", "/v1/health", "", `{"x":1}`).Want(t, http.StatusBadRequest, "body_not_allowed")
}

// TestNoSecretsInLogs runs the flows above and then reads every log line:
// no password, token or token hash may appear.
func TestNoSecretsInLogs(t *testing.T) {
	e := New(t)
	email := newEmail("logs")
	since := time.Now()
	e.Call(t, "POST", "/v1/signup", "", map[string]string{"accountName": "Acme", "email": email, "name": "Olive", "password": goodPassword}).Want(t, http.StatusAccepted, "")
	verify := e.TokenFromEmail(t, email, "verify", since)
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": verify, "password": goodPassword}).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "wrong-password-x"}).Want(t, http.StatusUnauthorized, "")
	tk := e.login(t, email, goodPassword, "")
	var tk2 tokens
	e.Call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tk.RefreshToken}).Want(t, http.StatusOK, "").JSON(t, &tk2)
	e.Call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tk.RefreshToken}).Want(t, http.StatusUnauthorized, "")
	since = time.Now()
	e.Call(t, "POST", "/v1/auth/password-reset", "", map[string]string{"email": email}).Want(t, http.StatusAccepted, "")
	reset := e.TokenFromEmail(t, email, "reset", since)
	e.Call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": reset, "password": "another long passphrase"}).Want(t, http.StatusNoContent, "")

	logs := e.Logs.String()
	if !strings.Contains(logs, `"msg":"request"`) {
		t.Fatal("no access log captured")
	}
	secrets := []string{goodPassword, "wrong-password-x", "another long passphrase", verify, reset, tk.AccessToken, tk.RefreshToken, tk2.RefreshToken}
	for _, tok := range []string{verify, reset} {
		if h, err := hashOf(tok); err == nil {
			secrets = append(secrets, h)
		}
	}
	_, refreshSecret, _ := strings.Cut(tk.RefreshToken, ".")
	secrets = append(secrets, refreshSecret)
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("a secret (%d chars) appears in the logs", len(s))
		}
	}
	// The logs are JSON lines.
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("log line is not JSON: %s", line)
		}
	}
}

// seedScopes gives an account the stores s1, s2 and s3, the departments
// sales and purchase and the suppliers sup1 and acme, which assignments
// in tests name (they must exist).
func (e *Env) seedScopes(t testing.TB, account, owner string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{"s1", "s2", "s3"} {
		if _, err := e.Store.PutStore(ctx, account, team.Store{ID: id, Name: "Store " + id}, audit.Event{AccountID: account, ActorID: owner, Action: "store.put", TargetType: "store", TargetID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"sales", "purchase"} {
		if _, err := e.Store.PutDepartment(ctx, account, team.Department{ID: id, Name: id, Kind: team.DepartmentKind(id)}, audit.Event{AccountID: account, ActorID: owner, Action: "department.put", TargetType: "department", TargetID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"sup1", "acme"} {
		if _, err := e.Store.PutSupplier(ctx, account, team.Supplier{ID: id, Name: "Supplier " + id}, audit.Event{AccountID: account, ActorID: owner, Action: "supplier.put", TargetType: "supplier", TargetID: id}); err != nil {
			t.Fatal(err)
		}
	}
}

// shiftedClock is a clock that tests move forward; it drives the auth
// service and the token issuer and verifier together.
type shiftedClock struct{ shift atomic.Int64 }

func (c *shiftedClock) Now() time.Time          { return time.Now().Add(time.Duration(c.shift.Load())) }
func (c *shiftedClock) Advance(d time.Duration) { c.shift.Add(int64(d)) }

func withClock(c *shiftedClock) func(*server.Deps) {
	return func(d *server.Deps) {
		d.Auth.Now = c.Now
		d.Auth.Issuer.Now = c.Now
		d.Auth.Verifier.Now = c.Now
	}
}

func (e *Env) refresh(t *testing.T, refresh string) *Response {
	t.Helper()
	return e.Call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": refresh})
}

// A session refreshed far more than 50 times keeps working (the 51st
// refresh used to answer refresh_invalid), its item stays bounded, and a
// token replaced several rotations ago still counts as reuse and revokes
// the session.
func TestSessionRefreshesManyTimes(t *testing.T) {
	e := New(t)
	u := e.signup(t, newEmail("refresh"))
	tk := e.login(t, u.Email, goodPassword, "")
	var old []string
	for i := range 120 {
		var next tokens
		e.refresh(t, tk.RefreshToken).Want(t, http.StatusOK, "").JSON(t, &next)
		if next.RefreshToken == tk.RefreshToken || next.ExpiresIn <= 0 {
			t.Fatalf("refresh %d answered %+v", i+1, next)
		}
		old = append(old, tk.RefreshToken)
		tk = next
	}
	e.Call(t, "GET", "/v1/me", tk.AccessToken, nil).Want(t, http.StatusOK, "")
	sid, _, _ := strings.Cut(tk.RefreshToken, ".")
	sess, err := e.Store.GetSession(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Refreshes != 120 || sess.Replaced < store.KeptReplacedHashes || sess.Replaced > store.MaxReplacedHashes {
		t.Fatalf("after 120 refreshes the session counts %d and remembers %d replaced hashes, want 120 and %d..%d",
			sess.Refreshes, sess.Replaced, store.KeptReplacedHashes, store.MaxReplacedHashes)
	}
	// A token replaced 5 rotations ago is reuse: the session ends.
	e.refresh(t, old[len(old)-5]).Want(t, http.StatusUnauthorized, "refresh_invalid")
	e.refresh(t, tk.RefreshToken).Want(t, http.StatusUnauthorized, "refresh_invalid")
	e.Call(t, "GET", "/v1/me", tk.AccessToken, nil).Want(t, http.StatusUnauthorized, "session_ended")
}

// A session refreshed in time lives its absolute life and no longer.
func TestSessionAbsoluteLimit(t *testing.T) {
	clk := &shiftedClock{}
	e := New(t, withClock(clk))
	u := e.signup(t, newEmail("absolute"))
	tk := e.login(t, u.Email, goodPassword, "")
	// Refresh every 6 days (inside the 7-day idle limit) up to day 29.
	for _, d := range []time.Duration{6, 6, 6, 6, 5} {
		clk.Advance(d * 24 * time.Hour)
		var next tokens
		e.refresh(t, tk.RefreshToken).Want(t, http.StatusOK, "").JSON(t, &next)
		tk = next
	}
	e.Call(t, "GET", "/v1/me", tk.AccessToken, nil).Want(t, http.StatusOK, "")
	// Day 29 plus 23h59m: a minute left; the access token says so.
	clk.Advance(24*time.Hour - time.Minute)
	var last tokens
	e.refresh(t, tk.RefreshToken).Want(t, http.StatusOK, "").JSON(t, &last)
	if last.ExpiresIn > 60 {
		t.Fatalf("a minute before the session's end the access token lasts %ds", last.ExpiresIn)
	}
	clk.Advance(2 * time.Minute)
	e.refresh(t, last.RefreshToken).Want(t, http.StatusUnauthorized, "refresh_invalid")
}

// A session not refreshed for the idle limit ends; refreshing moves the
// limit.
func TestSessionIdleLimit(t *testing.T) {
	clk := &shiftedClock{}
	e := New(t, withClock(clk), func(d *server.Deps) { d.Auth.SessionIdle = 48 * time.Hour })
	u := e.signup(t, newEmail("idle"))
	tk := e.login(t, u.Email, goodPassword, "")
	clk.Advance(47 * time.Hour)
	var next tokens
	e.refresh(t, tk.RefreshToken).Want(t, http.StatusOK, "").JSON(t, &next)
	clk.Advance(47 * time.Hour) // 94 hours after sign-in, 47 idle
	e.refresh(t, next.RefreshToken).Want(t, http.StatusOK, "").JSON(t, &next)
	clk.Advance(49 * time.Hour)
	e.refresh(t, next.RefreshToken).Want(t, http.StatusUnauthorized, "refresh_invalid")
	// Its last access token has long expired too.
	e.Call(t, "GET", "/v1/me", next.AccessToken, nil).Want(t, http.StatusUnauthorized, "")
}

// Past the per-email limit across addresses, an address that failed gets
// a small allowance, and the right password from an address that has not
// failed (or failed little) still signs in.
func TestLoginEmailUnderAttackStillSignsIn(t *testing.T) {
	e := New(t, func(d *server.Deps) {
		d.Auth.Limits = auth.Limits{PerPair: 10, PerEmail: 4, PerPairUnderAttack: 2, PerAddress: 300}
	})
	u := e.signup(t, newEmail("attacked"))
	login := func(addr, pw string) *Response {
		return e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": u.Email, "password": pw}, "X-Test-Client-Address", addr)
	}
	var addrs []string
	for range 4 {
		a := NewTestAddress()
		addrs = append(addrs, a)
		login(a, "wrong-password-1").Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	// The email is past 4 failures: the first address may fail once more
	// (2 per pair), then it is refused.
	login(addrs[0], "wrong-password-1").Want(t, http.StatusUnauthorized, "invalid_credentials")
	r := login(addrs[0], goodPassword).Want(t, http.StatusTooManyRequests, "too_many_attempts")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// The person signs in from an address that failed once, and from a
	// fresh one.
	login(addrs[1], goodPassword).Want(t, http.StatusOK, "")
	login(NewTestAddress(), goodPassword).Want(t, http.StatusOK, "")
}

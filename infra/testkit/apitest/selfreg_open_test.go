package apitest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// Open self-registration (any email domain) and the first registrant's
// role (seed 003: senior managers are the client users who first register
// a client account via the storefront).

// setSelfReg patches the account's self-registration as token and
// answers the response.
func (e *Env) setSelfReg(t *testing.T, token string, sr map[string]any) *Response {
	t.Helper()
	etag := e.Call(t, "GET", "/v1/account", token, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	return e.Call(t, "PATCH", "/v1/account", token, map[string]any{"settings": map[string]any{"selfRegistration": sr}}, "If-Match", etag)
}

// otherDomain is a fresh address outside example.com.
func otherDomain(prefix string) string {
	return strings.Replace(newEmail(prefix), "@example.com", "@buyer-"+prefix+".example.org", 1)
}

// selfRegister joins account as email and confirms the emailed link,
// answering the new member's id.
func (e *Env) selfRegister(t *testing.T, account, email string) string {
	t.Helper()
	since := time.Now()
	e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": account, "email": email, "name": "Joiner", "password": goodPassword}).Want(t, http.StatusAccepted, "")
	tok := e.TokenFromEmail(t, email, "verify", since)
	var v verified
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &v)
	return v.MemberID
}

// roleOf reads a member's one assignment as "role@scope".
func (e *Env) roleOf(t *testing.T, token, id string) string {
	t.Helper()
	var m memberView
	e.Call(t, "GET", "/v1/users/"+id, token, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if len(m.Assignments) != 1 {
		t.Fatalf("member %s: assignments %+v", id, m.Assignments)
	}
	return m.Assignments[0].Role + "@" + m.Assignments[0].Scope
}

func TestSelfRegistrationOpenAndFirstRegistrant(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("open-owner"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken

	// Validation: open takes no domains; the first registrant's role must
	// be a role of the account, given account-wide, not administrator.
	e.setSelfReg(t, tk, map[string]any{"enabled": true, "open": true, "domains": []string{"example.com"}, "defaultRole": "team_member"}).Want(t, http.StatusBadRequest, "invalid_field")
	e.setSelfReg(t, tk, map[string]any{"enabled": true, "open": true, "defaultRole": "team_member", "firstRegistrantRole": "no_such_role"}).Want(t, http.StatusBadRequest, "invalid_field")
	e.setSelfReg(t, tk, map[string]any{"enabled": true, "open": true, "defaultRole": "team_member", "firstRegistrantRole": "administrator"}).Want(t, http.StatusBadRequest, "invalid_field")
	e.setSelfReg(t, tk, map[string]any{"enabled": true, "open": true, "defaultRole": "team_member", "firstRegistrantRole": "supplier"}).Want(t, http.StatusBadRequest, "invalid_field")
	// Only who holds policies.manage changes them: full access does not.
	_, fullTk := e.acctMember(t, owner, []rbac.Assignment{at("full_access", "account")})
	e.setSelfReg(t, fullTk, map[string]any{"open": true}).Want(t, http.StatusForbidden, "forbidden")
	e.setSelfReg(t, fullTk, map[string]any{"firstRegistrantRole": "senior_manager"}).Want(t, http.StatusForbidden, "forbidden")

	var acct struct {
		Settings struct {
			SelfRegistration struct {
				Enabled             bool     `json:"enabled"`
				Open                bool     `json:"open"`
				Domains             []string `json:"domains"`
				DefaultRole         string   `json:"defaultRole"`
				FirstRegistrantRole string   `json:"firstRegistrantRole"`
			} `json:"selfRegistration"`
		} `json:"settings"`
	}
	e.setSelfReg(t, tk, map[string]any{"enabled": true, "open": true, "defaultRole": "team_member", "firstRegistrantRole": "senior_manager"}).Want(t, http.StatusOK, "").JSON(t, &acct)
	if sr := acct.Settings.SelfRegistration; !sr.Enabled || !sr.Open || len(sr.Domains) != 0 || sr.DefaultRole != "team_member" || sr.FirstRegistrantRole != "senior_manager" {
		t.Fatalf("settings after the patch: %+v", sr)
	}

	// Any domain may join, confirmed by email as ever; the first gets the
	// first registrant's role, the next the default role.
	first := otherDomain("first")
	since := time.Now()
	e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": first, "name": "First", "password": goodPassword}).Want(t, http.StatusAccepted, "")
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": first, "password": goodPassword}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	tok := e.TokenFromEmail(t, first, "verify", since)
	var v verified
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &v)
	if got := e.roleOf(t, tk, v.MemberID); got != "senior_manager@account" {
		t.Errorf("first registrant: %s, want senior_manager@account", got)
	}
	second := e.selfRegister(t, owner.AccountID, otherDomain("second"))
	if got := e.roleOf(t, tk, second); got != "team_member@account" {
		t.Errorf("second registrant: %s, want team_member@account", got)
	}
	// The place is taken once and for all, whatever the domain.
	third := e.selfRegister(t, owner.AccountID, newEmail("third"))
	if got := e.roleOf(t, tk, third); got != "team_member@account" {
		t.Errorf("third registrant: %s, want team_member@account", got)
	}

	// Closing it again with domains: open off, domains back.
	e.setSelfReg(t, tk, map[string]any{"open": false}).Want(t, http.StatusBadRequest, "invalid_field")
	e.setSelfReg(t, tk, map[string]any{"open": false, "domains": []string{"example.com"}}).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": otherDomain("late"), "name": "Late", "password": goodPassword}).Want(t, http.StatusForbidden, "domain_not_allowed")
}

// Many people confirming their links at once: exactly one becomes the
// first registrant; every other joins with the default role.
func TestSelfRegistrationConcurrentFirstJoins(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("race-owner"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken
	e.setSelfReg(t, tk, map[string]any{"enabled": true, "open": true, "defaultRole": "team_member", "firstRegistrantRole": "senior_manager"}).Want(t, http.StatusOK, "")

	const n = 12
	toks := make([]string, n)
	for i := range toks {
		email := otherDomain("race")
		since := time.Now()
		e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": email, "name": "Racer", "password": goodPassword}).Want(t, http.StatusAccepted, "")
		toks[i] = e.TokenFromEmail(t, email, "verify", since)
	}
	ids := make([]string, n)
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": toks[i], "password": goodPassword})
			statuses[i] = r.Status
			var v verified
			if r.Status == http.StatusOK {
				r.JSON(t, &v)
				ids[i] = v.MemberID
			}
		}()
	}
	close(start)
	wg.Wait()
	firsts := 0
	for i, id := range ids {
		if statuses[i] != http.StatusOK {
			t.Errorf("confirmation %d: %d", i, statuses[i])
			continue
		}
		switch got := e.roleOf(t, tk, id); got {
		case "senior_manager@account":
			firsts++
		case "team_member@account":
		default:
			t.Errorf("registrant %d: %s", i, got)
		}
	}
	if firsts != 1 {
		t.Fatalf("%d registrants got the first registrant's role, want exactly 1", firsts)
	}
}

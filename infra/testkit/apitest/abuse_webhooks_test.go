package apitest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/rbac"
)

// Abuse cases of webhooks: endpoints are the administrators' (a critical
// permission, webhooks.manage), never changed through impersonation,
// invisible to other tenants, and never pointed at internal addresses.

// whEndpoint registers an endpoint as token and returns its id and secret.
func (e *Env) whEndpoint(t *testing.T, token string) (id, secret string) {
	t.Helper()
	var wh struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	e.Call(t, "POST", "/v1/webhooks", token, map[string]any{"url": "http://127.0.0.1:9/abuse"}).Want(t, http.StatusCreated, "").JSON(t, &wh)
	return wh.ID, wh.Secret
}

// whStillThere checks that the owner still reads the endpoint, unchanged
// in what matters.
func (e *Env) whStillThere(t *testing.T, token, id string) {
	t.Helper()
	r := e.Call(t, "GET", "/v1/webhooks/"+id, token, nil).Want(t, http.StatusOK, "")
	if strings.Contains(string(r.Body), "whsec_") {
		t.Errorf("GET answers the secret: %s", r.Body)
	}
}

// whOtherTenant makes account A with an endpoint and the owner of account
// B.
func (e *Env) whOtherTenant(t *testing.T, prefix string) (aTk, id, bTk string) {
	t.Helper()
	_, aTk = e.acctOwner(t, prefix+"-a")
	id, _ = e.whEndpoint(t, aTk)
	_, bTk = e.acctOwner(t, prefix+"-b")
	return aTk, id, bTk
}

var _ = abuse(
	abuseCase{
		rule: "webhooks are the administrators'", name: "full access creates an endpoint", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			owner, ownerTk := e.acctOwner(t, "wh-fa-create")
			_, tk := e.acctMember(t, owner, []rbac.Assignment{{Role: "full_access", Scope: rbac.AccountScope}})
			r := e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": "http://127.0.0.1:9/mine"})
			var list struct {
				Items []any `json:"items"`
			}
			e.Call(t, "GET", "/v1/webhooks", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &list)
			if len(list.Items) != 0 {
				t.Errorf("refused create left %d endpoints", len(list.Items))
			}
			return r
		},
		status: http.StatusForbidden, code: "forbidden",
	},
	abuseCase{
		rule: "webhooks are the administrators'", name: "full access lists endpoints", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			owner, ownerTk := e.acctOwner(t, "wh-fa-list")
			e.whEndpoint(t, ownerTk)
			_, tk := e.acctMember(t, owner, []rbac.Assignment{{Role: "full_access", Scope: rbac.AccountScope}})
			return e.Call(t, "GET", "/v1/webhooks", tk, nil)
		},
		status: http.StatusForbidden, code: "forbidden",
	},
	abuseCase{
		rule: "webhooks are the administrators'", name: "impersonating admin creates an endpoint", who: "impersonator",
		do: func(t *testing.T, e *Env) *Response {
			_, _, _, imp := e.impersonating(t)
			return e.Call(t, "POST", "/v1/webhooks", imp, map[string]any{"url": "http://127.0.0.1:9/imp"})
		},
		status: http.StatusForbidden, code: "impersonation_forbidden",
	},
	abuseCase{
		rule: "webhooks are the administrators'", name: "no token", who: "stranger",
		do: func(t *testing.T, e *Env) *Response {
			return e.Call(t, "POST", "/v1/webhooks", "", map[string]any{"url": "http://127.0.0.1:9/anon"})
		},
		status: http.StatusUnauthorized,
	},
	abuseCase{
		rule: "another tenant's endpoint does not exist", name: "read", who: "other tenant",
		do: func(t *testing.T, e *Env) *Response {
			_, id, bTk := e.whOtherTenant(t, "wh-iso-read")
			return e.Call(t, "GET", "/v1/webhooks/"+id, bTk, nil)
		},
		status: http.StatusNotFound, code: "not_found",
	},
	abuseCase{
		rule: "another tenant's endpoint does not exist", name: "deliveries", who: "other tenant",
		do: func(t *testing.T, e *Env) *Response {
			_, id, bTk := e.whOtherTenant(t, "wh-iso-dlv")
			return e.Call(t, "GET", "/v1/webhooks/"+id+"/deliveries", bTk, nil)
		},
		status: http.StatusNotFound, code: "not_found",
	},
	abuseCase{
		rule: "another tenant's endpoint does not exist", name: "replay", who: "other tenant",
		do: func(t *testing.T, e *Env) *Response {
			_, id, bTk := e.whOtherTenant(t, "wh-iso-replay")
			return e.Call(t, "POST", "/v1/webhooks/"+id+"/replay", bTk, map[string]any{"since": sweepSince})
		},
		status: http.StatusNotFound, code: "not_found",
	},
	abuseCase{
		rule: "another tenant's endpoint does not exist", name: "delete", who: "other tenant",
		do: func(t *testing.T, e *Env) *Response {
			aTk, id, bTk := e.whOtherTenant(t, "wh-iso-del")
			r := e.Call(t, "DELETE", "/v1/webhooks/"+id, bTk, nil)
			e.whStillThere(t, aTk, id)
			return r
		},
		status: http.StatusNotFound, code: "not_found",
	},
	abuseCase{
		rule: "another tenant's endpoint does not exist", name: "rotate its secret", who: "other tenant",
		do: func(t *testing.T, e *Env) *Response {
			aTk, id, bTk := e.whOtherTenant(t, "wh-iso-rot")
			r := e.Call(t, "POST", "/v1/webhooks/"+id+"/rotate-secret", bTk, nil)
			e.whStillThere(t, aTk, id)
			return r
		},
		status: http.StatusNotFound, code: "not_found",
	},
	abuseCase{
		rule: "endpoints are public addresses", name: "cloud metadata", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			_, tk := e.acctOwner(t, "wh-ssrf-meta")
			return e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": "http://169.254.169.254/latest/meta-data/"})
		},
		status: http.StatusBadRequest, code: "invalid_field",
	},
	abuseCase{
		rule: "endpoints are public addresses", name: "private network", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			_, tk := e.acctOwner(t, "wh-ssrf-10")
			return e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": "http://10.0.0.1/"})
		},
		status: http.StatusBadRequest, code: "invalid_field",
	},
	abuseCase{
		rule: "endpoints are public addresses", name: "credentials in the URL", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			_, tk := e.acctOwner(t, "wh-ssrf-user")
			return e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": "http://user:pw@127.0.0.1:9/"})
		},
		status: http.StatusBadRequest, code: "invalid_field",
	},
)

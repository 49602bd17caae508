package apitest

import (
	"net/http"
	"testing"
)

// TestPortalLinkKeyCannotBecomeAnAdministrator (review of issue 18): an
// API key holding only users.view must not mint a portal link for a member
// whose rights exceed the key's (here the owner): the link opens a full,
// non-impersonated session, so a read-only key would become the owner,
// past the impersonation rules (rbac.CheckImpersonation refuses an
// administrator as target, and an API key as actor) and past the
// NoImpersonation routes. The mint is refused: a key mints only for a
// member whose every right it holds, never for an administrator.
func TestPortalLinkKeyCannotBecomeAnAdministrator(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("portal-esc-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	viewer := e.createKey(t, ownerTk.AccessToken, map[string]any{"name": "Read-only backend", "permissions": []string{"users.view"}})
	e.Call(t, "POST", "/v1/portal/sessions", viewer.Secret, map[string]any{"userId": owner.MemberID}).Want(t, http.StatusForbidden, "exceeds_key_rights")
}

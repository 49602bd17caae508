package portal

import (
	"net/http"
	"net/url"

	"github.com/a-h/templ"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/team"
)

// Acting as a member ("log in as"): an administrator opens, from a
// member's page, a portal session as that member (auth.ImpersonatePortal:
// the API's rule, RoleSet.CheckImpersonation, at most an hour, audited as
// session.impersonate). Every page then shows a banner naming both with a
// button that stops; every change is refused while acting (action), so
// the administrator sees what the member sees and can do nothing in the
// member's name. Stopping gives the administrator a fresh session of its
// own in place of the one it left; signing out ends both.

func init() { memberHooks = append(memberHooks, (*Service).memberImpersonation) }

// memberImpersonation is the member page's "act as" form, shown when the
// caller may act as m (the same decision as the API's impersonation).
func (s *Service) memberImpersonation(r *http.Request, q *req, m team.Member, _ fieldErrors) (templ.Component, error) {
	if q.P.Impersonated() || m.IdentityID == "" || q.P.Roles.CheckImpersonation(q.P.Member.Authz(q.P.At), m.Authz(q.P.At)) != nil {
		return nil, nil
	}
	return impersonatePart(csrfToken(q.cookie, "session"), m.ID, memberTitle(m)), nil
}

// HandleImpersonate serves POST /portal/members/{id}/impersonate: the
// session cookie becomes the new session's and the team page shows what
// the member sees.
func (s *Service) HandleImpersonate(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, _ url.Values) {
		m, ok := s.loadMember(w, r, q)
		if !ok {
			return
		}
		sess, err := s.Auth.ImpersonatePortal(r.Context(), q.P, m.ID, httpapi.RequestID(r.Context()))
		if err != nil {
			s.refuse(w, r, q, "You cannot act as this member", err)
			return
		}
		s.setCookie(w, s.SessionCookie(), sess.Cookie, sess.ExpiresAt)
		redirectSigned(w, r, sess.Cookie, sess.ReturnTo, "You are acting as this member until you stop, for an hour at most.")
	})(w, r)
}

// HandleStopImpersonation serves POST /portal/impersonation/stop: the
// impersonated session ends and the administrator is back on the member's
// page in a session of its own; when the administrator's session ended
// meanwhile (a sign-out elsewhere, a password reset) it says so.
func (s *Service) HandleStopImpersonation(w http.ResponseWriter, r *http.Request) error {
	return s.sessionAction(func(w http.ResponseWriter, r *http.Request, q *req, _ url.Values) {
		sess, err := s.Auth.StopImpersonatingPortal(r.Context(), q.P, q.ret, httpapi.RequestID(r.Context()))
		switch {
		case err == nil:
			s.setCookie(w, s.SessionCookie(), sess.Cookie, sess.ExpiresAt)
			redirectSigned(w, r, sess.Cookie, sess.ReturnTo, "You stopped acting as "+memberTitle(q.P.Member)+".")
		case statusFor(err) == http.StatusUnauthorized:
			// The acting session ended; the administrator's own had too,
			// or a stop sent twice (a double click) already replaced it:
			// the cookie is left alone (the other answer's fresh cookie
			// stays) and the portal's pages tell which.
			writeMessage(w, r, http.StatusOK, anonymous("Stopped acting"), "You stopped acting as "+memberTitle(q.P.Member)+".", "/portal/team", "Back to the portal (or sign in again)")
		default:
			s.refuse(w, r, q, "Nothing to stop", err)
		}
	})(w, r)
}

package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/access"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// The access page: the access requests to decide and the member's own
// (pkg/access, as GET /v1/access-requests?mine=...), a form to request
// access, and the member's delegation while away (pkg/approvals, as
// /v1/me/delegation).

func init() {
	registerSection(35, section{nav: "access", href: "/portal/access", label: "Access", may: func(p *auth.Principal) bool { return p.Member.ID != "" }})
}

// dateTimeLayout is the value of a datetime-local control (read as UTC).
const dateTimeLayout = "2006-01-02T15:04"

func parseWhen(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{dateTimeLayout, "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func whenValue(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateTimeLayout)
}

// accessDeciding is the member the caller decides r for ("" for
// themselves); ok is false when the caller is not asked for anyone.
func accessDeciding(p *auth.Principal, r team.AccessRequest, delegators []string) (string, bool) {
	if r.Status != team.AccessPending {
		return "", false
	}
	for _, a := range r.Asked {
		if a.MemberID == p.Member.ID {
			return "", true
		}
	}
	if r.RequesterID == p.Member.ID {
		return "", false
	}
	for _, a := range r.Asked {
		if slices.Contains(delegators, a.MemberID) {
			return a.MemberID, true
		}
	}
	return "", false
}

func (s *Service) accessData(r *http.Request, q *req) (accessData, error) {
	ctx := r.Context()
	labels, order, err := s.scopeLabels(ctx, q.P.AccountID())
	if err != nil {
		return accessData{}, err
	}
	d := accessData{Errors: fieldErrors{}, DelegationErrors: fieldErrors{}, MayRequest: !q.P.Member.Owner}
	del := s.delegatorsOf(r, q.P)
	row := func(ar team.AccessRequest) accessRow {
		x := accessRow{ID: ar.ID, Requester: orText(ar.RequesterName, ar.RequesterEmail), Role: s.roleName(q.P, ar.Role), Scope: scopeLabel(labels, ar.Scope),
			Reason: ar.Reason, Status: string(ar.Status), Until: dateText(ar.ExpiresAt), DecideBy: dateText(ar.DecideBy)}
		if who, ok := accessDeciding(q.P, ar, del); ok {
			x.Decide, x.OnBehalfOf = true, who
			if who != "" {
				x.OnBehalfName = s.memberName(r, q.P.AccountID(), who)
			}
		}
		x.Cancel = ar.Status == team.AccessPending && ar.RequesterID == q.P.Member.ID
		return x
	}
	dec, err := s.Access.List(ctx, q.P, access.ListFilter{Mine: "decide"}, approvalsPageSize, "")
	if err != nil {
		return d, err
	}
	for _, ar := range dec.Items {
		d.Decide = append(d.Decide, row(ar))
	}
	mine, err := s.Access.List(ctx, q.P, access.ListFilter{Mine: "requested"}, approvalsPageSize, "")
	if err != nil {
		return d, err
	}
	for _, ar := range mine.Items {
		d.Mine = append(d.Mine, row(ar))
	}
	for _, role := range q.P.Roles.Roles() {
		d.Roles = append(d.Roles, roleOption{ID: role.ID, Name: role.Name})
	}
	for _, sc := range order {
		d.Scopes = append(d.Scopes, scopeOption{Value: sc.String(), Label: scopeLabel(labels, sc)})
	}
	// The delegation.
	if dl, err := s.Approvals.GetMyDelegation(ctx, q.P); err == nil {
		d.Delegation = &delegationRow{Delegate: s.memberName(r, q.P.AccountID(), dl.DelegateID), From: dateText(dl.From), Until: dateText(dl.Until), Note: dl.Note, Active: dl.ActiveAt(time.Now())}
		d.DelegateID, d.From, d.Until, d.Note = dl.DelegateID, whenValue(dl.From), whenValue(dl.Until), dl.Note
	} else if statusFor(err) >= 500 {
		return d, err
	}
	// The delegates offered: the active members the member may list
	// (members.List, as GET /v1/users); without that, a member id.
	if page, err := s.Members.List(ctx, q.P, members.Filter{Status: rbac.StatusActive}, 100, ""); err == nil {
		for _, m := range page.Items {
			if m.ID == q.P.Member.ID {
				continue
			}
			d.Delegates = append(d.Delegates, option{Value: m.ID, Label: orText(m.Name, m.Email)})
		}
		d.PickDelegate = true
	}
	return d, nil
}

// HandleAccess serves GET /portal/access.
func (s *Service) HandleAccess(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		d, err := s.accessData(r, q)
		if err != nil {
			s.refuseView(w, r, q, "Access", err)
			return
		}
		l := q.chrome("Access", "access")
		writePage(w, r, http.StatusOK, accessPage(l, d))
	})(w, r)
}

// writeAccessForm shows the access page again with a form's errors.
func (s *Service) writeAccessForm(w http.ResponseWriter, r *http.Request, q *req, err error, fill func(d *accessData, errs fieldErrors, msg string)) {
	errs, msg, ok := problemOf(err, nil)
	if !ok || statusFor(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	d, derr := s.accessData(r, q)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	fill(&d, errs, msg)
	l := q.chrome("Access", "access")
	l.Error = msg
	writePage(w, r, statusFor(err), accessPage(l, d))
}

// HandleAccessRequest serves POST /portal/access/requests:
// access.Service.Request, as POST /v1/access-requests.
func (s *Service) HandleAccessRequest(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		in := access.RequestInput{Role: form.Get("role"), Scope: form.Get("scope"), Reason: form.Get("reason")}
		if v := strings.TrimSpace(form.Get("expiresAt")); v != "" {
			t, ok := parseWhen(v)
			if !ok {
				s.writeAccessForm(w, r, q, fault.InvalidField("expiresAt", "must be a date and time"), func(d *accessData, errs fieldErrors, _ string) {
					d.Errors, d.Role, d.Scope, d.Reason = errs, in.Role, in.Scope, in.Reason
				})
				return
			}
			in.ExpiresAt = &t
		}
		ar, err := s.Access.Request(r.Context(), q.P, in)
		if err != nil {
			s.writeAccessForm(w, r, q, err, func(d *accessData, errs fieldErrors, _ string) {
				d.Errors, d.Role, d.Scope, d.Reason, d.ExpiresAt = errs, in.Role, in.Scope, in.Reason, form.Get("expiresAt")
			})
			return
		}
		q.redirect(w, r, "/portal/access", "You asked for "+s.roleName(q.P, ar.Role)+".")
	})(w, r)
}

// HandleAccessDecision serves POST /portal/access/requests/{id}/decision:
// access.Service.Decide, as POST /v1/access-requests/{id}/decision
// (decision, comment, an earlier expiresAt, onBehalfOf).
func (s *Service) HandleAccessDecision(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		in := access.DecideInput{Principal: q.P, RequestID: r.PathValue("id"), Decision: form.Get("decision"), Comment: form.Get("comment"), OnBehalfOf: form.Get("onBehalfOf")}
		if v := strings.TrimSpace(form.Get("expiresAt")); v != "" {
			t, ok := parseWhen(v)
			if !ok {
				s.refuseAccess(w, r, q, "The decision was not recorded", fault.InvalidField("expiresAt", "must be a date and time"))
				return
			}
			in.ExpiresAt = &t
		}
		res, err := s.Access.Decide(r.Context(), in)
		if err != nil {
			s.refuseAccess(w, r, q, "The decision was not recorded", err)
			return
		}
		what := "denied"
		if res.Approved {
			what = "approved"
		}
		q.redirect(w, r, "/portal/access", "You "+what+" the request of "+orText(res.Request.RequesterName, res.Request.RequesterEmail)+".")
	})(w, r)
}

func (s *Service) refuseAccess(w http.ResponseWriter, r *http.Request, q *req, title string, err error) {
	errs, msg, ok := problemOf(err, nil)
	if !ok || statusFor(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	l := q.chrome(title, "access")
	l.Error = msg
	for f, m := range errs {
		l.Error = msg + " " + f + ": " + m
	}
	writeMessage(w, r, statusFor(err), l, "Nothing was changed.", "/portal/access", "Back to access")
}

// HandleAccessCancelPage serves GET /portal/access/requests/{id}/cancel:
// the confirmation.
func (s *Service) HandleAccessCancelPage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		ar, err := s.Access.Get(r.Context(), q.P, r.PathValue("id"))
		if err != nil {
			s.refuseView(w, r, q, "Cancel the access request", err)
			return
		}
		d := confirmData{Question: "Withdraw your request for " + s.roleName(q.P, ar.Role) + "?", Action: "/portal/access/requests/" + ar.ID + "/cancel", Button: "Withdraw the request", Cancel: "/portal/access"}
		writePage(w, r, http.StatusOK, confirmPage(q.chrome("Cancel the access request", "access"), d))
	})(w, r)
}

// HandleAccessCancel serves POST /portal/access/requests/{id}/cancel
// (confirmed): access.Service.Cancel, as POST
// /v1/access-requests/{id}/cancel.
func (s *Service) HandleAccessCancel(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		id := r.PathValue("id")
		if form.Get("confirm") != "yes" {
			q.redirect(w, r, "/portal/access/requests/"+url.PathEscape(id)+"/cancel", "")
			return
		}
		if _, err := s.Access.Cancel(r.Context(), q.P, id); err != nil {
			s.refuseAccess(w, r, q, "The request was not withdrawn", err)
			return
		}
		q.redirect(w, r, "/portal/access", "Your access request was withdrawn.")
	})(w, r)
}

// HandleDelegation serves POST /portal/access/delegation:
// approvals.Service.PutMyDelegation, as PUT /v1/me/delegation.
func (s *Service) HandleDelegation(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		in := approvals.DelegationInput{DelegateID: strings.TrimSpace(form.Get("delegateId")), Note: form.Get("note")}
		var err error
		if v := form.Get("from"); v != "" {
			var ok bool
			if in.From, ok = parseWhen(v); !ok {
				err = fault.InvalidField("from", "must be a date and time")
			}
		}
		if v := form.Get("until"); v != "" && err == nil {
			var ok bool
			if in.Until, ok = parseWhen(v); !ok {
				err = fault.InvalidField("until", "must be a date and time")
			}
		}
		if err == nil {
			_, _, err = s.Approvals.PutMyDelegation(r.Context(), q.P, in)
		}
		if err != nil {
			s.writeAccessForm(w, r, q, err, func(d *accessData, errs fieldErrors, msg string) {
				d.DelegationErrors, d.DelegateID, d.From, d.Until, d.Note = errs, in.DelegateID, form.Get("from"), form.Get("until"), in.Note
				if len(errs) == 0 {
					// A refusal of the whole (window, delegate): next to the form.
					d.DelegationErrors["delegation"] = msg
				}
			})
			return
		}
		q.redirect(w, r, "/portal/access", "Your delegation was saved.")
	})(w, r)
}

// HandleDelegationDeletePage serves GET /portal/access/delegation/delete:
// the confirmation.
func (s *Service) HandleDelegationDeletePage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		d := confirmData{Question: "End your delegation? Your delegate stops deciding for you.", Action: "/portal/access/delegation/delete", Button: "End the delegation", Cancel: "/portal/access"}
		writePage(w, r, http.StatusOK, confirmPage(q.chrome("End the delegation", "access"), d))
	})(w, r)
}

// HandleDelegationDelete serves POST /portal/access/delegation/delete
// (confirmed): approvals.Service.DeleteMyDelegation, as DELETE
// /v1/me/delegation.
func (s *Service) HandleDelegationDelete(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		if form.Get("confirm") != "yes" {
			q.redirect(w, r, "/portal/access/delegation/delete", "")
			return
		}
		if err := s.Approvals.DeleteMyDelegation(r.Context(), q.P); err != nil {
			s.refuseAccess(w, r, q, "The delegation was not ended", err)
			return
		}
		q.redirect(w, r, "/portal/access", "Your delegation ended.")
	})(w, r)
}

package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/rbac"
)

// The approvals section: the requests waiting for the member (and for
// the members they stand in for), their own requests, a request's page,
// and the approval policies. Every list, decision, cancellation and
// policy change is pkg/approvals' operation, as the API's.

func init() {
	registerSection(30, section{nav: "approvals", href: "/portal/approvals", label: "Approvals", may: func(p *auth.Principal) bool { return p.Member.ID != "" }})
}

// approvalsPageSize is the number of requests read for each list.
const approvalsPageSize = 50

// mayManagePolicies: the API's rule for PUT /v1/approval-policies.
func mayManagePolicies(p *auth.Principal) bool {
	return p.Decide("policies.manage", rbac.Resource{Account: p.AccountID()}).Allowed
}

// deciding is the member the caller decides r for: "" for their own
// vote, a delegator's id when only a member they stand in for is awaited
// at r's level; ok is false when nobody the caller may act for is.
func deciding(p *auth.Principal, r documents.ApprovalRequest, delegators []string) (string, bool) {
	if r.Status != documents.RequestPending {
		return "", false
	}
	if slices.Contains(r.Awaiting, p.Member.ID) {
		return "", true
	}
	if r.RequesterID == p.Member.ID {
		return "", false
	}
	for _, id := range r.Awaiting {
		if slices.Contains(delegators, id) {
			return id, true
		}
	}
	return "", false
}

func (s *Service) delegatorsOf(r *http.Request, p *auth.Principal) []string {
	if p.Member.ID == "" {
		return nil
	}
	ids, err := s.Store.Delegators(r.Context(), p.AccountID(), p.Member.ID, time.Now())
	if err != nil {
		return nil
	}
	return ids
}

func (s *Service) memberName(r *http.Request, account, id string) string {
	if m, err := s.Store.GetMember(r.Context(), account, id); err == nil {
		if m.Name != "" {
			return m.Name
		}
		return m.Email
	}
	return id
}

func docTypeText(t rbac.DocType) string {
	return strings.ReplaceAll(string(t), "_", " ")
}

func moneyText(amount float64, currency string) string {
	return strconv.FormatFloat(amount, 'f', 2, 64) + " " + currency
}

func (s *Service) requestRow(r *http.Request, p *auth.Principal, ar documents.ApprovalRequest, del []string) approvalRow {
	row := approvalRow{ID: ar.ID, Title: ar.DocTitle, DocType: docTypeText(ar.DocType), Amount: moneyText(ar.Amount, ar.Currency),
		Requester: orText(ar.RequesterName, ar.RequesterEmail), Status: string(ar.Status), Created: dateText(ar.CreatedAt), Level: strconv.Itoa(ar.Level)}
	if row.Title == "" {
		row.Title = ar.DocID
	}
	if who, ok := deciding(p, ar, del); ok {
		row.Decide = true
		row.OnBehalfOf = who
		if who != "" {
			row.OnBehalfName = s.memberName(r, p.AccountID(), who)
		}
	}
	row.Cancel = ar.Status == documents.RequestPending && (ar.RequesterID == p.Member.ID || p.Authz.IsAdmin())
	return row
}

func orText(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// HandleApprovals serves GET /portal/approvals: the requests waiting for
// the member (approvals.ListRequests with mine=decide, as GET
// /v1/approval-requests?mine=decide) and the member's own requests
// (mine=requested).
func (s *Service) HandleApprovals(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		ctx := r.Context()
		l := q.chrome("Approvals", "approvals")
		d := approvalsData{MayManage: mayManagePolicies(q.P)}
		del := s.delegatorsOf(r, q.P)
		waiting, err := s.Approvals.ListRequests(ctx, q.P, approvals.ListFilter{Mine: "decide"}, approvalsPageSize, "")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, ar := range waiting.Items {
			d.Waiting = append(d.Waiting, s.requestRow(r, q.P, ar, del))
		}
		mine, err := s.Approvals.ListRequests(ctx, q.P, approvals.ListFilter{Mine: "requested"}, approvalsPageSize, "")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, ar := range mine.Items {
			d.Mine = append(d.Mine, s.requestRow(r, q.P, ar, del))
		}
		writePage(w, r, http.StatusOK, approvalsPage(l, d))
	})(w, r)
}

// HandleApprovalRequest serves GET /portal/approvals/requests/{id}: the
// request as GET /v1/approval-requests/{id} shows it (its document, its
// levels, its decisions), with the decision form when the member is
// awaited.
func (s *Service) HandleApprovalRequest(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		l := q.chrome("Approval request", "approvals")
		d, status, err := s.requestDetail(r, q)
		if err != nil {
			s.refuseView(w, r, q, "Approval request", err)
			return
		}
		writePage(w, r, status, approvalRequestPage(l, d))
	})(w, r)
}

// refuseView answers a refused read with its message.
func (s *Service) refuseView(w http.ResponseWriter, r *http.Request, q *req, title string, err error) {
	_, msg, ok := problemOf(err, nil)
	if !ok || statusFor(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	l := q.chrome(title, "approvals")
	l.Error = msg
	writeMessage(w, r, statusFor(err), l, "", "/portal/approvals", "Back to approvals")
}

func (s *Service) requestDetail(r *http.Request, q *req) (approvalDetail, int, error) {
	ar, ds, err := s.Approvals.GetRequest(r.Context(), q.P, r.PathValue("id"))
	if err != nil {
		return approvalDetail{}, 0, err
	}
	d := approvalDetail{approvalRow: s.requestRow(r, q.P, ar, s.delegatorsOf(r, q.P)), DocID: ar.DocID, Store: ar.Store, Department: ar.Department, Supplier: ar.Supplier, Note: ar.Note}
	if doc, err := s.Approvals.GetDocument(r.Context(), q.P, string(ar.DocType), ar.DocID); err == nil {
		d.Summary, d.DueDate, d.URL = doc.Summary, doc.DueDate, doc.URL
	}
	if ar.External != nil {
		d.External = orText(ar.External.Name, ar.External.Email)
	}
	for i, lv := range ar.Levels {
		d.Levels = append(d.Levels, levelRow{Level: strconv.Itoa(i + 1), MinAmount: strconv.FormatFloat(lv.MinAmount, 'f', 2, 64), Who: s.levelWho(q.P, lv), Required: strconv.Itoa(lv.Required), Scope: lv.Scope})
	}
	for _, a := range ar.Asked {
		d.Asked = append(d.Asked, askedRow{Level: strconv.Itoa(a.Level), Name: orText(a.Name, a.Email), External: a.MemberID == "", Escalated: a.Escalated})
	}
	for _, x := range ds {
		row := decisionRow{Level: strconv.Itoa(x.Level), Name: orText(x.Name, x.Email), Decision: x.Outcome, Comment: x.Comment, At: dateText(x.DecidedAt), ByLink: x.ByLink}
		if x.DelegateID != "" {
			row.Name = orText(x.DelegateName, x.DelegateEmail) + " for " + orText(x.Name, x.Email)
		}
		d.Decisions = append(d.Decisions, row)
	}
	return d, http.StatusOK, nil
}

func (s *Service) levelWho(p *auth.Principal, lv documents.ApprovalLevel) string {
	var parts []string
	if lv.Role != "" {
		parts = append(parts, "Role: "+s.roleName(p, lv.Role))
	}
	if lv.Permission != "" {
		parts = append(parts, "Permission: "+lv.Permission)
	}
	return strings.Join(parts, ", ")
}

// HandleApprovalDecision serves POST
// /portal/approvals/requests/{id}/decision: approvals.Service.Decide, as
// POST /v1/approval-requests/{id}/decision (decision, comment,
// onBehalfOf).
func (s *Service) HandleApprovalDecision(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		id := r.PathValue("id")
		res, err := s.Approvals.Decide(r.Context(), approvals.DecideInput{Principal: q.P, RequestID: id, Decision: form.Get("decision"), Comment: form.Get("comment"), OnBehalfOf: form.Get("onBehalfOf")})
		if err != nil {
			s.refuseApproval(w, r, q, "The decision was not recorded", err)
			return
		}
		what := "approved"
		if form.Get("decision") == "deny" {
			what = "denied"
		}
		title := orText(res.Request.DocTitle, res.Request.DocID)
		q.redirect(w, r, "/portal/approvals", "You "+what+" "+title+".")
	})(w, r)
}

func (s *Service) refuseApproval(w http.ResponseWriter, r *http.Request, q *req, title string, err error) {
	_, msg, ok := problemOf(err, nil)
	if !ok || statusFor(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	l := q.chrome(title, "approvals")
	l.Error = msg
	writeMessage(w, r, statusFor(err), l, "Nothing was changed.", "/portal/approvals", "Back to approvals")
}

// HandleApprovalCancelPage serves GET
// /portal/approvals/requests/{id}/cancel: the confirmation.
func (s *Service) HandleApprovalCancelPage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		id := r.PathValue("id")
		ar, _, err := s.Approvals.GetRequest(r.Context(), q.P, id)
		if err != nil {
			s.refuseView(w, r, q, "Cancel the request", err)
			return
		}
		d := confirmData{Question: "Cancel the approval request for " + orText(ar.DocTitle, ar.DocID) + "? The document goes back to draft and nobody can decide it any more.",
			Action: "/portal/approvals/requests/" + ar.ID + "/cancel", Button: "Cancel the request", Cancel: "/portal/approvals/requests/" + ar.ID}
		writePage(w, r, http.StatusOK, confirmPage(q.chrome("Cancel the request", "approvals"), d))
	})(w, r)
}

// HandleApprovalCancel serves POST /portal/approvals/requests/{id}/cancel
// (confirmed): approvals.Service.Cancel, as POST
// /v1/approval-requests/{id}/cancel.
func (s *Service) HandleApprovalCancel(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		id := r.PathValue("id")
		if form.Get("confirm") != "yes" {
			q.redirect(w, r, "/portal/approvals/requests/"+url.PathEscape(id)+"/cancel", "")
			return
		}
		ar, err := s.Approvals.Cancel(r.Context(), q.P, id)
		if err != nil {
			s.refuseApproval(w, r, q, "The request was not cancelled", err)
			return
		}
		q.redirect(w, r, "/portal/approvals", "The request for "+orText(ar.DocTitle, ar.DocID)+" was cancelled.")
	})(w, r)
}

// HandleApprovalPolicies serves GET /portal/approvals/policies: every
// document type's policy (approvals.GetPolicy, as GET
// /v1/approval-policies/{docType}).
func (s *Service) HandleApprovalPolicies(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		l := q.chrome("Approval policies", "approvals")
		d := policiesData{MayManage: mayManagePolicies(q.P)}
		for _, t := range rbac.DocTypes() {
			pol, err := s.Approvals.GetPolicy(r.Context(), q.P, string(t))
			if err != nil {
				if statusFor(err) >= 500 {
					s.fail(w, r, err)
					return
				}
				continue
			}
			row := policyRow{DocType: string(t), Label: docTypeText(t), Enabled: pol.Enabled, Levels: strconv.Itoa(len(pol.Levels)), Expires: strconv.Itoa(pol.ExpiresAfterHours)}
			d.Policies = append(d.Policies, row)
		}
		writePage(w, r, http.StatusOK, policiesPage(l, d))
	})(w, r)
}

// HandleApprovalPolicy serves GET /portal/approvals/policies/{id}: one
// document type's policy, as a form for those who hold policies.manage.
func (s *Service) HandleApprovalPolicy(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		typ := r.PathValue("id")
		pol, err := s.Approvals.GetPolicy(r.Context(), q.P, typ)
		if err != nil {
			s.refuseView(w, r, q, "Approval policy", err)
			return
		}
		d := s.policyForm(q.P, pol)
		l := q.chrome("Approval policy: "+docTypeText(pol.DocType), "approvals")
		writePage(w, r, http.StatusOK, policyPage(l, d))
	})(w, r)
}

// policyForm fills the policy's form (one more empty level to add).
func (s *Service) policyForm(p *auth.Principal, pol documents.ApprovalPolicy) policyData {
	d := policyData{DocType: string(pol.DocType), Version: strconv.FormatInt(pol.Version, 10), Enabled: pol.Enabled, SelfApproval: pol.SelfApproval,
		ExternalAllowed: pol.ExternalAllowed, ExternalDomains: strings.Join(pol.ExternalDomains, ", "), ExpiresAfterHours: strconv.Itoa(pol.ExpiresAfterHours),
		MayManage: mayManagePolicies(p), Errors: fieldErrors{}}
	if pol.ExpiresAfterHours == 0 {
		d.ExpiresAfterHours = ""
	}
	for _, lv := range pol.Levels {
		d.Levels = append(d.Levels, levelForm{MinAmount: strconv.FormatFloat(lv.MinAmount, 'f', -1, 64), Required: strconv.Itoa(lv.Required), Role: lv.Role,
			Permission: lv.Permission, Scope: lv.Scope, Remind: intText(lv.RemindAfterHours), Escalate: intText(lv.EscalateAfterHours), EscalateTo: lv.EscalateTo})
	}
	for _, role := range p.Roles.Roles() {
		d.Roles = append(d.Roles, roleOption{ID: role.ID, Name: role.Name})
	}
	if d.MayManage && len(d.Levels) < approvals.MaxLevels {
		d.Levels = append(d.Levels, levelForm{Scope: documents.ApprovalScopeDocument, New: true})
	}
	for i := range d.Levels {
		d.Levels[i].Index = i
	}
	return d
}

func intText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// levelField is the name of a level's control, the API's field path
// (levels[0].minAmount), so that its errors land next to it.
func levelField(i int, name string) string { return fault.Indexed("levels", i) + "." + name }

// HandleApprovalPolicySubmit serves POST /portal/approvals/policies/{id}:
// approvals.Service.PutPolicy, as PUT /v1/approval-policies/{docType}
// (with the read version as If-Match).
func (s *Service) HandleApprovalPolicySubmit(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		typ := r.PathValue("id")
		errs := fieldErrors{}
		num := func(name string, float bool) float64 {
			v := strings.TrimSpace(form.Get(name))
			if v == "" {
				return 0
			}
			var n float64
			var err error
			if float {
				n, err = strconv.ParseFloat(v, 64)
			} else {
				var k int
				k, err = strconv.Atoi(v)
				n = float64(k)
			}
			if err != nil {
				errs[name] = "must be a number"
			}
			return n
		}
		in := approvals.PolicyInput{Enabled: form.Get("enabled") == "on", SelfApproval: form.Get("selfApproval") == "on", ExternalAllowed: form.Get("externalAllowed") == "on"}
		in.ExpiresAfterHours = int(num("expiresAfterHours", false))
		in.ExternalDomains = strings.FieldsFunc(form.Get("externalDomains"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })
		var kept []int
		for i := 0; i <= approvals.MaxLevels; i++ {
			if !form.Has(levelField(i, "required")) || form.Get(levelField(i, "remove")) == "on" {
				continue
			}
			if form.Get(levelField(i, "new")) == "yes" && strings.TrimSpace(form.Get(levelField(i, "required"))) == "" && strings.TrimSpace(form.Get(levelField(i, "minAmount"))) == "" {
				continue
			}
			lv := documents.ApprovalLevel{MinAmount: num(levelField(i, "minAmount"), true), Required: int(num(levelField(i, "required"), false)),
				Role: form.Get(levelField(i, "role")), Permission: strings.TrimSpace(form.Get(levelField(i, "permission"))), Scope: form.Get(levelField(i, "scope")),
				RemindAfterHours: int(num(levelField(i, "remindAfterHours"), false)), EscalateAfterHours: int(num(levelField(i, "escalateAfterHours"), false)),
				EscalateTo: strings.TrimSpace(form.Get(levelField(i, "escalateTo")))}
			in.Levels = append(in.Levels, lv)
			kept = append(kept, i)
		}
		errs = renumber(errs, kept)
		version, _ := strconv.ParseInt(form.Get("version"), 10, 64)
		var err error
		var pol documents.ApprovalPolicy
		if len(errs) == 0 {
			pol, err = s.Approvals.PutPolicy(r.Context(), q.P, typ, version, in)
			if err == nil {
				q.redirect(w, r, "/portal/approvals/policies/"+url.PathEscape(string(pol.DocType)), "The policy was saved.")
				return
			}
		}
		// Show the form again as submitted, the errors next to the fields.
		cur, gerr := s.Approvals.GetPolicy(r.Context(), q.P, typ)
		if gerr != nil {
			s.refuseApproval(w, r, q, "The policy was not saved", gerr)
			return
		}
		msg := "Check the fields marked below."
		status := http.StatusUnprocessableEntity
		if err != nil {
			var e *fault.Error
			if !errors.As(err, &e) || statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
			status = statusFor(err)
			msg = e.Detail
			for _, f := range e.Fields {
				errs[policyControl(f.Field)] = f.Detail
			}
			if len(e.Fields) > 0 && e.Kind == fault.Invalid {
				msg = "Check the fields marked below."
			}
		}
		sub := cur
		sub.Enabled, sub.SelfApproval, sub.ExternalAllowed, sub.ExternalDomains, sub.ExpiresAfterHours, sub.Levels = in.Enabled, in.SelfApproval, in.ExternalAllowed, in.ExternalDomains, in.ExpiresAfterHours, in.Levels
		d := s.policyForm(q.P, sub)
		d.Version = form.Get("version")
		d.ExpiresAfterHours = form.Get("expiresAfterHours")
		d.Errors = errs
		l := q.chrome("Approval policy: "+docTypeText(cur.DocType), "approvals")
		l.Error = msg
		writePage(w, r, status, policyPage(l, d))
	})(w, r)
}

// policyControl names the form control of an API field path: the
// external approvers' fields are flattened.
func policyControl(field string) string {
	switch {
	case field == "externalApprovers.allowed":
		return "externalAllowed"
	case strings.HasPrefix(field, "externalApprovers.domains"):
		return "externalDomains"
	}
	return field
}

// renumber moves the parse errors of the form's level rows to the rows'
// positions among the kept ones (the form is shown again with those only,
// numbered as the service numbers them).
func renumber(errs fieldErrors, kept []int) fieldErrors {
	out := fieldErrors{}
	for k, v := range errs {
		for pos, i := range kept {
			if pre := fault.Indexed("levels", i) + "."; strings.HasPrefix(k, pre) {
				k = levelField(pos, strings.TrimPrefix(k, pre))
				break
			}
		}
		out[k] = v
	}
	return out
}

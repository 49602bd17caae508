package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/accounts"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
)

// The audit section: the audit log through accounts.Handler ListAudit (as
// GET /v1/audit), shown to holders of audit.view at account scope.

func init() {
	registerSection(40, section{nav: "audit", href: "/portal/audit", label: "Audit log", may: func(p *auth.Principal) bool {
		return accounts.MayAudit(p)
	}})
}

// auditPageSize is the number of events read for one audit page.
const auditPageSize = 50

// auditTimeLayout is the layout of the form's datetime-local inputs
// (taken as UTC).
const auditTimeLayout = "2006-01-02T15:04"

// auditFields maps the API's parameters to the filter form's controls.
var auditFields = map[string]string{"targetType": "target", "targetId": "target"}

// auditQuery turns the filter form into GET /v1/audit's parameters; a
// time that is not one is a field error.
func auditQuery(f auditFilter) (url.Values, fieldErrors) {
	v, errs := url.Values{}, fieldErrors{}
	for _, x := range [][2]string{{"actor", f.Actor}, {"target", f.Target}, {"action", f.Action}} {
		if x[1] != "" {
			v.Set(x[0], x[1])
		}
	}
	for _, x := range [][2]string{{"from", f.From}, {"to", f.To}} {
		if x[1] == "" {
			continue
		}
		t, err := time.Parse(auditTimeLayout, x[1])
		if err != nil {
			if t, err = time.Parse(time.RFC3339, x[1]); err != nil {
				errs[x[0]] = "must be a date and time, e.g. 2026-01-31T09:00"
				continue
			}
		}
		v.Set(x[0], t.UTC().Format(time.RFC3339))
	}
	return v, errs
}

// HandleAudit serves GET /portal/audit?actor=&target=&action=&from=&to=
// &cursor=: one page of the audit log, newest first.
func (s *Service) HandleAudit(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		qs := r.URL.Query()
		d := auditData{Filter: auditFilter{
			Actor: strings.TrimSpace(qs.Get("actor")), Target: strings.TrimSpace(qs.Get("target")), Action: strings.TrimSpace(qs.Get("action")),
			From: strings.TrimSpace(qs.Get("from")), To: strings.TrimSpace(qs.Get("to")),
		}}
		l := q.chrome("Audit log", "audit")
		if !accounts.MayAudit(q.P) {
			writeMessage(w, r, http.StatusForbidden, q.chrome("Not allowed", ""), "Viewing the audit log needs audit.view.", "/portal/team", "Back to the team")
			return
		}
		params, errs := auditQuery(d.Filter)
		if len(errs) > 0 {
			d.Errors, l.Error = errs, "Check the filters marked below."
			writePage(w, r, http.StatusBadRequest, auditPage(l, d))
			return
		}
		page, err := s.Accounts.ListAudit(r.Context(), q.P, func() (accounts.AuditQuery, error) {
			f, err := accounts.ParseAuditFilter(params)
			return accounts.AuditQuery{Filter: f, Limit: auditPageSize, Cursor: qs.Get("cursor")}, err
		})
		if err != nil {
			errs, msg, ok := problemOf(err, auditFields)
			if !ok || statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
			if e, isFault := err.(*fault.Error); isFault && e.Kind == fault.Invalid && len(errs) == 0 {
				errs = fieldErrors{"cursor": e.Detail}
			}
			d.Errors, l.Error = errs, msg
			writePage(w, r, statusFor(err), auditPage(l, d))
			return
		}
		for _, ev := range page.Items {
			row := auditRow{Time: ev.Time.UTC().Format("2006-01-02 15:04:05 UTC"), Actor: ev.ActorName, ActorID: ev.ActorID, Action: ev.Action, Target: ev.TargetType + ":" + ev.TargetID}
			if row.Actor == "" {
				row.Actor = ev.ActorID
			}
			if ev.ImpersonatorID != "" {
				row.Impersonator = page.Impersonators[ev.ImpersonatorID]
				if row.Impersonator == "" {
					row.Impersonator = ev.ImpersonatorID
				}
			}
			d.Events = append(d.Events, row)
		}
		if page.Next != "" {
			v := url.Values{"cursor": {page.Next}}
			for _, x := range [][2]string{{"actor", d.Filter.Actor}, {"target", d.Filter.Target}, {"action", d.Filter.Action}, {"from", d.Filter.From}, {"to", d.Filter.To}} {
				if x[1] != "" {
					v.Set(x[0], x[1])
				}
			}
			d.NextHref = "/portal/audit?" + v.Encode()
		}
		writePage(w, r, http.StatusOK, auditPage(l, d))
	})(w, r)
}

type (
	auditFilter struct{ Actor, Target, Action, From, To string }
	auditData   struct {
		Filter   auditFilter
		Errors   fieldErrors
		Events   []auditRow
		NextHref string
	}
	auditRow struct{ Time, Actor, ActorID, Impersonator, Action, Target string }
)

package accounts

import (
	"context"
	"errors"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/team"
)

// ActivityPrefix namespaces the actions of host-app activity records in
// the audit log: Steward's own actions never begin with it.
const ActivityPrefix = "app."

// permActivityForOthers is what an API key needs, at account scope, to
// record activity on behalf of a member: it names members of the account.
const permActivityForOthers = "users.view"

// Limits of an activity record's fields.
const (
	maxActivityAction  = 64
	maxActivityType    = 40
	maxActivityID      = 128
	maxActivitySummary = 500
)

var (
	errActivityForOther = fault.New(fault.Forbidden, "forbidden", "A member records its own activity only: leave userId out or name yourself.")
	errActivityNoPerm   = fault.New(fault.Forbidden, "forbidden", "Recording activity on behalf of a member needs users.view at account scope.")
	errActivityNoMember = fault.InvalidField("userId", "is not a member of this account")
)

// ActivityTarget is what a host-app activity record acted on.
type ActivityTarget struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// ActivityInput is the body of POST /v1/activity.
type ActivityInput struct {
	Action  string          `json:"action"`
	Target  *ActivityTarget `json:"target"`
	Summary string          `json:"summary"`
	UserID  string          `json:"userId"`
}

// activityAfter is the After snapshot of an activity record: its summary
// and, when an API key recorded it for a member, the key.
type activityAfter struct {
	Summary    string     `json:"summary,omitempty"`
	RecordedBy *actorJSON `json:"recordedBy,omitempty"`
}

// validActivityAction is ^[a-z0-9][a-z0-9_.]{0,63}$: with ActivityPrefix
// it stays a valid action filter of GET /v1/audit (validAuditAction).
func validActivityAction(s string) bool {
	return lengthIn(s, 1, maxActivityAction) && auditActionTail.all(s) && s[0] != '_' && s[0] != '.'
}

// Validate checks the input and returns it cleaned (the summary trimmed).
// Every bad field is named.
func (in ActivityInput) Validate() (ActivityInput, error) {
	var fields []fault.Field
	bad := func(field, detail string) { fields = append(fields, fault.Field{Field: field, Detail: detail}) }
	if !validActivityAction(in.Action) {
		bad("action", "must be 1 to 64 lowercase letters, digits, '_' or '.', starting with a letter or digit")
	}
	if t := in.Target; t != nil {
		if !headTail(t.Type, 1, maxActivityType, lowerClass, lowerDigitUnderscore) {
			bad("target.type", "must be 1 to 40 lowercase letters, digits or '_', starting with a letter")
		}
		if !lengthIn(t.ID, 1, maxActivityID) || !auditIDClass.all(t.ID) {
			bad("target.id", "must be 1 to 128 letters, digits, '.', '_', ':', '@' or '-'")
		}
	}
	summary, err := httpapi.CleanName("summary", in.Summary, maxActivitySummary, false)
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			fields = append(fields, fe.Fields...)
		}
	}
	in.Summary = summary
	if in.UserID != "" {
		if err := httpapi.CheckID("userId", in.UserID); err != nil {
			var fe *fault.Error
			if errors.As(err, &fe) {
				fields = append(fields, fe.Fields...)
			}
		}
	}
	if len(fields) > 0 {
		e := fault.InvalidField(fields[0].Field, fields[0].Detail).WithFields(fields...)
		return in, e
	}
	return in, nil
}

// RecordActivity writes a host-app activity record (POST /v1/activity) to
// the audit log and returns its event. A member records its own (userId
// absent or itself); an impersonated session records it with the
// impersonator, like every other event. An API key records for the member
// userId names (required), a member of its account of any status but
// deleted, and needs users.view at account scope; the event's actor is
// that member and its After names the key (recordedBy).
func (h *Handler) RecordActivity(ctx context.Context, p *auth.Principal, read func(body any) error) (audit.Event, error) {
	if p.IsAPIKey() && !allowed(p, permActivityForOthers, accountResource(p)) {
		return audit.Event{}, errActivityNoPerm
	}
	var in ActivityInput
	if err := read(&in); err != nil {
		return audit.Event{}, err
	}
	in, err := in.Validate()
	if err != nil {
		return audit.Event{}, err
	}
	var tt, tid string
	if in.Target != nil {
		tt, tid = in.Target.Type, in.Target.ID
	}
	ev := p.Event(ctx, ActivityPrefix+in.Action, tt, tid)
	after := activityAfter{Summary: in.Summary}
	member := p.Member.ID
	switch {
	case p.IsAPIKey():
		if in.UserID == "" {
			return audit.Event{}, fault.InvalidField("userId", "is required when an API key records activity")
		}
		m, err := h.Store.GetMember(ctx, p.AccountID(), in.UserID)
		if errors.Is(err, team.ErrMemberNotFound) {
			return audit.Event{}, errActivityNoMember
		}
		if err != nil {
			return audit.Event{}, err
		}
		after.RecordedBy = &actorJSON{ID: p.Member.ID, Name: p.Member.Name}
		member, ev.ActorID, ev.ActorName = m.ID, m.ID, m.Name
	case in.UserID != "" && in.UserID != p.Member.ID:
		return audit.Event{}, errActivityForOther
	}
	if after != (activityAfter{}) {
		ev.After = snapshot(after)
	}
	written, err := p.Acting(h.Store).RecordActivity(ctx, ev, member)
	if errors.Is(err, team.ErrMemberNotFound) {
		return audit.Event{}, errActivityNoMember
	}
	return written, err
}

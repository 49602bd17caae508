package approvals

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/workflow"
)

// A level's timers (the workflow's Tick step): they count from the
// level's start, which the level's first Tick records on the request.
// Reminder n (n >= 1) is due remindAfterHours after the start, then
// every remindAfterHours but at most one a day (24 policy hours); the
// escalation is due escalateAfterHours after the start; the level expires
// the request's timeout after it. Policy hours last Service.Hour.

// minReminderHours is the least time between two reminders, in policy
// hours: at most one reminder a day.
const minReminderHours = 24

// reminderDue is when reminder n of level l, started at start, is due.
func reminderDue(l documents.ApprovalLevel, start time.Time, hour time.Duration, n int) time.Time {
	first := start.Add(time.Duration(l.RemindAfterHours) * hour)
	every := time.Duration(max(l.RemindAfterHours, minReminderHours)) * hour
	return first.Add(time.Duration(n-1) * every)
}

// remindersDue is how many reminders of level l, started at start, are
// due at now.
func remindersDue(l documents.ApprovalLevel, start time.Time, hour time.Duration, now time.Time) int {
	if l.RemindAfterHours <= 0 {
		return 0
	}
	first := reminderDue(l, start, hour, 1)
	if now.Before(first) {
		return 0
	}
	every := time.Duration(max(l.RemindAfterHours, minReminderHours)) * hour
	return 1 + int(now.Sub(first)/every)
}

// escalationRule is the rule of the approvers level of r escalates to,
// and whether they must also be administrators: the administrators
// (admin flag, owner, or the administrator role account-wide) allowed to
// approve the document account-wide, the members holding a role (in the
// level's scope), or the next level's rule (the administrators at the
// last level).
func escalationRule(r documents.ApprovalRequest, level int) (documents.ApprovalLevel, bool) {
	l := r.Levels[level-1]
	admins := documents.ApprovalLevel{Required: l.Required, Scope: documents.ApprovalScopeAccount}
	switch l.EscalateTo {
	case documents.EscalateToAdmins, "":
		return admins, true
	case documents.EscalateToNextLevel:
		if level < len(r.Levels) {
			next := r.Levels[level]
			return documents.ApprovalLevel{MinAmount: next.MinAmount, Permission: next.Permission, Role: next.Role, Required: l.Required, Scope: next.Scope}, false
		}
		return admins, true
	}
	return documents.ApprovalLevel{Role: l.EscalateTo, Required: l.Required, Scope: l.Scope}, false
}

// escalationAllows reports whether the member is one the escalation of
// level of r asks (see escalationRule).
func escalationAllows(rs *rbac.RoleSet, m rbac.Member, r documents.ApprovalRequest, level int) bool {
	rule, admins := escalationRule(r, level)
	if !mayApprove(rs, m, r, rule) {
		return false
	}
	return !admins || rs.Compile(m).IsAdmin()
}

// escalatedAsk reports whether the member may decide at level of r by
// its escalation: asked by it, and still allowed under its rule.
func escalatedAsk(rs *rbac.RoleSet, m rbac.Member, r documents.ApprovalRequest, level int) bool {
	if r.EscalatedLevel != level || level < 1 || level > len(r.Levels) {
		return false
	}
	if !slices.ContainsFunc(r.Asked, func(a documents.Approver) bool {
		return a.Level == level && a.Escalated && a.MemberID == m.ID
	}) {
		return false
	}
	return escalationAllows(rs, m, r, level)
}

// mayDecide reports whether the member may decide at level of r: under
// the level's rule, or as an approver its escalation asked.
func mayDecide(rs *rbac.RoleSet, m rbac.Member, r documents.ApprovalRequest, level int) bool {
	return mayApprove(rs, m, r, r.Levels[level-1]) || escalatedAsk(rs, m, r, level)
}

// waitFor is the Tick result that waits until at (at least a second).
func waitFor(action workflow.Action, now, at time.Time, batches [][]string) workflow.StepOutput {
	secs := int((at.Sub(now) + time.Second - 1) / time.Second)
	return workflow.StepOutput{Action: action, Seconds: max(1, secs), Batches: batches}
}

// Tick decides what is due at the level (see the timers above): the
// expiry (ActionExpire), the escalation (recorded here: ActionEscalate
// with the approvers it added), a reminder (recorded here: ActionRemind
// with the approvers who have not decided), or nothing (ActionWait); and
// how long the level then waits, until its next timer. The level's first
// Tick records its start. A request no longer pending, or past the
// level, waits a second (the await then finishes a cancelled request) or
// expires (a no-op on a request that ended).
func (st Steps) Tick(ctx context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	r, err := st.load(ctx, in)
	if err != nil {
		return workflow.StepOutput{}, err
	}
	now := st.Now.Now()
	switch {
	case r.Status == documents.RequestCancelled:
		return workflow.StepOutput{Action: workflow.ActionWait, Seconds: 1}, nil
	case r.Status != documents.RequestPending || in.Level > len(r.Levels) || r.Level > in.Level:
		return workflow.StepOutput{Action: workflow.ActionExpire, Seconds: 1}, nil
	}
	if r.TimerLevel != in.Level {
		if err := st.Store.StartLevelTimers(ctx, r.AccountID, r.ID, in.Level, now); err != nil {
			return workflow.StepOutput{}, workflow.Transient(err)
		}
		if r, err = st.load(ctx, in); err != nil {
			return workflow.StepOutput{}, err
		}
		if r.TimerLevel != in.Level {
			// Ended meanwhile: as above.
			return workflow.StepOutput{Action: workflow.ActionWait, Seconds: 1}, nil
		}
	}
	l := r.Levels[in.Level-1]
	hour := st.hour()
	start := r.LevelStartedAt
	expiry := start.Add(timeoutOf(r))
	if !now.Before(expiry) {
		return workflow.StepOutput{Action: workflow.ActionExpire, Seconds: 1}, nil
	}
	// The level's approvers are stored by its await; a Tick before it
	// (the level's first) has nothing to do yet but wait.
	stored := r.Level == in.Level && r.TaskToken != ""
	escalation := time.Time{}
	if l.EscalateAfterHours > 0 && r.EscalatedLevel != in.Level {
		escalation = start.Add(time.Duration(l.EscalateAfterHours) * hour)
	}
	if stored && !escalation.IsZero() && !now.Before(escalation) {
		added, err := st.escalate(ctx, r, in.Level)
		if err != nil {
			return workflow.StepOutput{}, err
		}
		// No read after the write: a failure now would make the
		// workflow retry a Tick that finds the level escalated, and
		// its emails would not go out.
		r.EscalatedLevel = in.Level
		return waitFor(workflow.ActionEscalate, now, st.nextTimer(r, in.Level, now, expiry), batched(added)), nil
	}
	if n := remindersDue(l, start, hour, now); stored && n > r.Reminders {
		ids, err := st.stillAwaited(ctx, r, in.Level)
		if err != nil {
			return workflow.StepOutput{}, workflow.Transient(err)
		}
		ok, err := st.Store.RecordReminder(ctx, r.AccountID, r.ID, in.Level, r.Reminders, n)
		if err != nil {
			return workflow.StepOutput{}, workflow.Transient(err)
		}
		if ok {
			r.Reminders = n
			return waitFor(workflow.ActionRemind, now, st.nextTimer(r, in.Level, now, expiry), batched(ids)), nil
		}
		if r, err = st.load(ctx, in); err != nil {
			return workflow.StepOutput{}, err
		}
	}
	return waitFor(workflow.ActionWait, now, st.nextTimer(r, in.Level, now, expiry), nil), nil
}

// nextTimer is when the level's next timer is due after now: its next
// reminder, its escalation, or its expiry, the earliest. A timer due
// already (the level's first Tick runs before its await) is due a second
// from now.
func (st Steps) nextTimer(r documents.ApprovalRequest, level int, now, expiry time.Time) time.Time {
	l := r.Levels[level-1]
	hour := st.hour()
	next := expiry
	if l.EscalateAfterHours > 0 && r.EscalatedLevel != level {
		next = minTime(next, r.LevelStartedAt.Add(time.Duration(l.EscalateAfterHours)*hour))
	}
	if l.RemindAfterHours > 0 {
		next = minTime(next, reminderDue(l, r.LevelStartedAt, hour, r.Reminders+1))
	}
	if soon := now.Add(time.Second); next.Before(soon) {
		return soon
	}
	return next
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// batched splits ids into the workflow's notify batches.
func batched(ids []string) [][]string {
	var out [][]string
	for b := range slices.Chunk(ids, workflow.NotifyBatchSize) {
		out = append(out, b)
	}
	return out
}

// stillAwaited lists the notify ids of the level's approvers who have
// not decided: the external approver, and the members still active (read
// now; Notify checks again when it sends).
func (st Steps) stillAwaited(ctx context.Context, r documents.ApprovalRequest, level int) ([]string, error) {
	decided := map[string]bool{}
	if r.DecidedBy != "" || r.Approvals > 0 {
		var err error
		if decided, _, err = st.decidedAt(ctx, r, level); err != nil {
			return nil, err
		}
	}
	var waiting []documents.Approver
	var members []string
	for _, a := range r.Asked {
		if a.Level == level && !decided[a.Key()] {
			waiting = append(waiting, a)
			if a.MemberID != "" {
				members = append(members, a.MemberID)
			}
		}
	}
	active, err := st.Store.ActiveMembers(ctx, r.AccountID, members)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, a := range waiting {
		if a.MemberID == "" || active[a.MemberID] {
			ids = append(ids, notifyID(a))
		}
	}
	return ids, nil
}

// escalateTries is how many times escalate records the escalation over
// the request read again when it changed meanwhile, before it leaves it
// to the workflow's retry of the Tick.
const escalateTries = 3

// escalate records the escalation of level of r: the members its rule
// allows who are not asked at the level yet are asked now (escalated),
// await the level, and get the approval email (the Notify batches the
// Tick returns). It returns their ids (none when the level was escalated
// already, or ended). The asked list is written at the version of the
// request it was built from: when the request changed meanwhile (a
// decision, a hand-over), it is read again and the escalation built
// again over it and the members as they are then (a leaver handed over
// is not asked again; the Tick is idempotent).
func (st Steps) escalate(ctx context.Context, r documents.ApprovalRequest, level int) ([]string, error) {
	for try := 1; ; try++ {
		targets, err := st.membersFor(ctx, r, level, func(rs *rbac.RoleSet, m rbac.Member) bool { return escalationAllows(rs, m, r, level) })
		if err != nil {
			return nil, workflow.Transient(err)
		}
		if len(targets) == 0 && try == 1 {
			st.log().WarnContext(ctx, "approvals: nobody to escalate the level to", "request", r.ID, "level", level, "escalateTo", r.Levels[level-1].EscalateTo)
		}
		all, added := escalationAsks(r, level, targets, st.Now.Now())
		ev := workflowEvent(r, "approval.escalated")
		ev.After = audit.Snapshot(map[string]any{
			"request":    requestSummary(r, documents.RequestPending),
			"escalation": map[string]any{"level": level, "escalateTo": r.Levels[level-1].EscalateTo, "added": len(added)},
		})
		switch err := st.Store.EscalateLevel(ctx, r, level, all, added, ev); {
		case errors.Is(err, store.ErrAlreadyEscalated), errors.Is(err, documents.ErrRequestNotPending):
			return nil, nil
		case errors.Is(err, store.ErrRequestChanged) && try < escalateTries:
			fresh, err := st.Store.GetApprovalRequest(ctx, r.AccountID, r.ID)
			if errors.Is(err, documents.ErrRequestNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, workflow.Transient(err)
			}
			r = fresh
		case err != nil:
			return nil, workflow.Transient(err)
		default:
			return added, nil
		}
	}
}

// escalationAsks is the asked list of r with the escalation of level's
// targets who are not asked at the level yet (asked at now, escalated),
// and the member ids it adds.
func escalationAsks(r documents.ApprovalRequest, level int, targets []documents.Approver, now time.Time) ([]documents.Approver, []string) {
	asked := map[string]bool{}
	for _, a := range r.Asked {
		if a.Level == level {
			asked[a.Key()] = true
		}
	}
	all := slices.Clone(r.Asked)
	var added []string
	for _, a := range targets {
		if asked[a.Key()] {
			continue
		}
		a.AskedAt, a.Escalated = now, true
		all = append(all, a)
		added = append(added, a.MemberID)
	}
	return all, added
}

// reminderEmailKey is the outbox key of reminder n of level to approver:
// a retried batch sends no reminder twice.
func reminderEmailKey(request string, level, n int, approver string) string {
	return "approval-reminder/" + request + "/" + strconv.Itoa(level) + "/" + strconv.Itoa(n) + "/" + approver
}

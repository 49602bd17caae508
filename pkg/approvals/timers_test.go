package approvals

import (
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/documents"
)

// Reminders: the first remindAfterHours after the level's start, then
// every remindAfterHours but at most one a day.
func TestRemindersDue(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	h := time.Hour
	for _, c := range []struct {
		remind int
		after  time.Duration
		want   int
	}{
		{0, 100 * h, 0},
		{2, 1 * h, 0},
		{2, 2 * h, 1},
		{2, 25 * h, 1},
		{2, 26 * h, 2}, // daily, not every 2 hours
		{2, 74 * h, 4},
		{30, 59 * h, 1},
		{30, 60 * h, 2}, // every 30 hours: more than a day apart
	} {
		l := documents.ApprovalLevel{RemindAfterHours: c.remind}
		if got := remindersDue(l, start, h, start.Add(c.after)); got != c.want {
			t.Errorf("remind after %d h, at +%s: %d due, want %d", c.remind, c.after, got, c.want)
		}
		if c.want > 0 && remindersDue(l, start, h, reminderDue(l, start, h, c.want)) != c.want {
			t.Errorf("reminder %d is not due at its own time", c.want)
		}
	}
}

// The next timer: the earliest of the next reminder, the escalation (not
// yet done) and the expiry, at least a second away.
func TestNextTimer(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	st := Steps{Service: &Service{Hour: time.Second}}
	r := documents.ApprovalRequest{
		Levels:         []documents.ApprovalLevel{{RemindAfterHours: 2, EscalateAfterHours: 5, EscalateTo: "admins"}},
		TimeoutSeconds: 60, TimerLevel: 1, LevelStartedAt: start,
	}
	expiry := start.Add(60 * time.Second)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	if got := st.nextTimer(r, 1, start, expiry); !got.Equal(at(2)) {
		t.Errorf("first: %s", got.Sub(start))
	}
	r.Reminders = 1
	if got := st.nextTimer(r, 1, at(2), expiry); !got.Equal(at(5)) {
		t.Errorf("after the reminder: %s", got.Sub(start))
	}
	r.EscalatedLevel = 1
	if got := st.nextTimer(r, 1, at(5), expiry); !got.Equal(at(26)) {
		t.Errorf("after the escalation: %s", got.Sub(start))
	}
	if got := st.nextTimer(r, 1, at(59), expiry); !got.Equal(at(60)) {
		t.Errorf("at the end: %s", got.Sub(start))
	}
	r.Reminders = 0
	if got := st.nextTimer(r, 1, at(30), expiry); !got.Equal(at(31)) {
		t.Errorf("a timer due already: %s, want a second from now", got.Sub(start))
	}
}

// Where a level escalates: administrators, a role in the level's scope,
// or the next level's rule (administrators at the last level).
func TestEscalationRule(t *testing.T) {
	r := documents.ApprovalRequest{Levels: []documents.ApprovalLevel{
		{Role: "manager", Required: 2, Scope: documents.ApprovalScopeDocument, EscalateTo: documents.EscalateToNextLevel},
		{Role: "senior_manager", Required: 1, Scope: documents.ApprovalScopeAccount, EscalateTo: documents.EscalateToNextLevel},
	}}
	if rule, admins := escalationRule(r, 1); admins || rule.Role != "senior_manager" || rule.Scope != documents.ApprovalScopeAccount || rule.Required != 2 {
		t.Errorf("next level: %+v admins %v", rule, admins)
	}
	if rule, admins := escalationRule(r, 2); !admins || rule.Role != "" || rule.Scope != documents.ApprovalScopeAccount {
		t.Errorf("next level of the last: %+v admins %v", rule, admins)
	}
	r.Levels[0].EscalateTo = "finance"
	if rule, admins := escalationRule(r, 1); admins || rule.Role != "finance" || rule.Scope != documents.ApprovalScopeDocument {
		t.Errorf("role: %+v admins %v", rule, admins)
	}
	r.Levels[0].EscalateTo = documents.EscalateToAdmins
	if _, admins := escalationRule(r, 1); !admins {
		t.Error("admins")
	}
}

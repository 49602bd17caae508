package accounts

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// problem asserts err is a problem with the status, code and first field.
func problem(t *testing.T, err error, status int, code, field string) {
	t.Helper()
	var e *httpapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a problem", err)
	}
	if httpapi.Status(e.Kind) != status || e.Code != code {
		t.Fatalf("problem %d %s (%s), want %d %s", httpapi.Status(e.Kind), e.Code, e.Detail, status, code)
	}
	if field != "" && (len(e.Fields) == 0 || e.Fields[0].Field != field) {
		t.Fatalf("problem fields %+v, want %s", e.Fields, field)
	}
}

func ptr[T any](v T) *T { return &v }

func principal(m rbac.Member) *rbac.Principal { return rbac.BuiltIns().Compile(m) }

var (
	admin = principal(rbac.Member{ID: "m1", Account: "a1", Status: rbac.StatusActive, Admin: true})
	// manager is a manager account-wide who may also change settings.
	manager = rbac.Member{ID: "m2", Account: "a1", Status: rbac.StatusActive,
		Assignments: []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.AccountScope}, {Role: "settings_only", Scope: rbac.AccountScope}}}
)

func account() team.Account {
	return team.Account{ID: "a1", Name: "Acme", OwnerID: "m1", Settings: team.DefaultSettings(), Version: 3}
}

func TestApplyPatchGood(t *testing.T) {
	a, err := ApplyPatch(account(), AccountPatch{
		Name: ptr("  Acme Ltd  "),
		Settings: &SettingsPatch{
			InvitationTTLHours: ptr(48), TimeZone: ptr("Europe/Berlin"), AlertHour: ptr(0),
			ExternalApproverDomains: &[]string{"Example.COM ", "example.com", "sub.example.co.uk", "xn--bcher-kva.example"},
			SelfRegistration:        &SelfRegistrationPatch{Enabled: ptr(true), Domains: &[]string{"acme.test"}, DefaultRole: ptr(rbac.RoleTeamMember)},
		},
	}, rbac.BuiltIns(), admin)
	if err != nil {
		t.Fatal(err)
	}
	s := a.Settings
	if a.Name != "Acme Ltd" || s.InvitationTTL != 48*time.Hour || s.TimeZone != "Europe/Berlin" || s.AlertHour != 0 ||
		!slices.Equal(s.ExternalApproverDomains, []string{"example.com", "sub.example.co.uk", "xn--bcher-kva.example"}) ||
		!s.SelfRegistration.Enabled || s.SelfRegistration.DefaultRole != rbac.RoleTeamMember || a.Version != 3 || a.OwnerID != "m1" {
		t.Fatalf("patched %+v", a)
	}
	// Absent fields stay; an empty patch changes nothing.
	b, err := ApplyPatch(a, AccountPatch{Settings: &SettingsPatch{AlertHour: ptr(9)}}, rbac.BuiltIns(), admin)
	if err != nil || b.Name != "Acme Ltd" || b.Settings.TimeZone != "Europe/Berlin" || b.Settings.AlertHour != 9 {
		t.Fatalf("partial patch %+v, %v", b, err)
	}
	if c, err := ApplyPatch(a, AccountPatch{}, rbac.BuiltIns(), admin); err != nil || c.Name != a.Name {
		t.Fatalf("empty patch %+v, %v", c, err)
	}
}

func TestApplyPatchBad(t *testing.T) {
	many := make([]string, MaxDomains+1)
	for i := range many {
		many[i] = "d" + strings.Repeat("x", i%5) + ".example"
	}
	for _, c := range []struct {
		name  string
		patch AccountPatch
		field string
	}{
		{"empty name", AccountPatch{Name: ptr("  ")}, "name"},
		{"long name", AccountPatch{Name: ptr(strings.Repeat("n", MaxNameLen+1))}, "name"},
		{"ttl 0", AccountPatch{Settings: &SettingsPatch{InvitationTTLHours: ptr(0)}}, "settings.invitationTtlHours"},
		{"ttl 721", AccountPatch{Settings: &SettingsPatch{InvitationTTLHours: ptr(721)}}, "settings.invitationTtlHours"},
		{"bad zone", AccountPatch{Settings: &SettingsPatch{TimeZone: ptr("Mars/Olympus")}}, "settings.timeZone"},
		{"local zone", AccountPatch{Settings: &SettingsPatch{TimeZone: ptr("Local")}}, "settings.timeZone"},
		{"path zone", AccountPatch{Settings: &SettingsPatch{TimeZone: ptr("../../etc/passwd")}}, "settings.timeZone"},
		{"empty zone", AccountPatch{Settings: &SettingsPatch{TimeZone: ptr("")}}, "settings.timeZone"},
		{"hour 25", AccountPatch{Settings: &SettingsPatch{AlertHour: ptr(25)}}, "settings.alertHour"},
		{"hour -1", AccountPatch{Settings: &SettingsPatch{AlertHour: ptr(-1)}}, "settings.alertHour"},
		{"audit retention 29", AccountPatch{Settings: &SettingsPatch{AuditRetentionDays: ptr(29)}}, "settings.auditRetentionDays"},
		{"audit retention 3651", AccountPatch{Settings: &SettingsPatch{AuditRetentionDays: ptr(3651)}}, "settings.auditRetentionDays"},
		{"document retention 0", AccountPatch{Settings: &SettingsPatch{DocumentRetentionDays: ptr(0)}}, "settings.documentRetentionDays"},
		{"document retention 3651", AccountPatch{Settings: &SettingsPatch{DocumentRetentionDays: ptr(3651)}}, "settings.documentRetentionDays"},
		{"bad domain", AccountPatch{Settings: &SettingsPatch{ExternalApproverDomains: &[]string{"ok.com", "not a domain"}}}, "settings.externalApproverDomains[1]"},
		{"single label", AccountPatch{Settings: &SettingsPatch{ExternalApproverDomains: &[]string{"localhost"}}}, "settings.externalApproverDomains[0]"},
		{"email not domain", AccountPatch{Settings: &SettingsPatch{ExternalApproverDomains: &[]string{"a@b.com"}}}, "settings.externalApproverDomains[0]"},
		{"numeric tld", AccountPatch{Settings: &SettingsPatch{ExternalApproverDomains: &[]string{"10.0.0.1"}}}, "settings.externalApproverDomains[0]"},
		{"hyphen edge", AccountPatch{Settings: &SettingsPatch{ExternalApproverDomains: &[]string{"-a.com"}}}, "settings.externalApproverDomains[0]"},
		{"too many", AccountPatch{Settings: &SettingsPatch{ExternalApproverDomains: &many}}, "settings.externalApproverDomains"},
		{"self domain", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{Domains: &[]string{"x"}}}}, "settings.selfRegistration.domains[0]"},
		{"unknown role", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{DefaultRole: ptr("wizard")}}}, "settings.selfRegistration.defaultRole"},
		{"malformed role", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{DefaultRole: ptr("api-key")}}}, "settings.selfRegistration.defaultRole"},
		{"admin role", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{DefaultRole: ptr(rbac.RoleAdministrator)}}}, "settings.selfRegistration.defaultRole"},
		{"not account-wide", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{DefaultRole: ptr(rbac.RoleSupplier)}}}, "settings.selfRegistration.defaultRole"},
		{"enabled without domains", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{Enabled: ptr(true), DefaultRole: ptr(rbac.RoleTeamMember)}}}, "settings.selfRegistration.domains"},
		{"enabled without role", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{Enabled: ptr(true), Domains: &[]string{"acme.test"}}}}, "settings.selfRegistration.defaultRole"},
		{"open with domains", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{Enabled: ptr(true), Open: ptr(true), Domains: &[]string{"acme.test"}, DefaultRole: ptr(rbac.RoleTeamMember)}}}, "settings.selfRegistration.domains"},
		{"unknown first role", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{FirstRegistrantRole: ptr("wizard")}}}, "settings.selfRegistration.firstRegistrantRole"},
		{"admin first role", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{FirstRegistrantRole: ptr(rbac.RoleAdministrator)}}}, "settings.selfRegistration.firstRegistrantRole"},
		{"first role not account-wide", AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{FirstRegistrantRole: ptr(rbac.RoleSupplier)}}}, "settings.selfRegistration.firstRegistrantRole"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := account()
			_, err := ApplyPatch(before, c.patch, rbac.BuiltIns(), admin)
			problem(t, err, http.StatusBadRequest, "invalid_field", c.field)
		})
	}
}

// Open self-registration takes no domains; the first registrant's role
// is kept beside the default role, and "" removes it.
func TestApplyPatchOpenSelfRegistration(t *testing.T) {
	got, err := ApplyPatch(account(), AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{
		Enabled: ptr(true), Open: ptr(true), DefaultRole: ptr(rbac.RoleTeamMember), FirstRegistrantRole: ptr("senior_manager"),
	}}}, rbac.BuiltIns(), admin)
	if err != nil {
		t.Fatal(err)
	}
	sr := got.Settings.SelfRegistration
	if !sr.Enabled || !sr.Open || len(sr.Domains) != 0 || sr.DefaultRole != rbac.RoleTeamMember || sr.FirstRegistrantRole != "senior_manager" {
		t.Fatalf("self-registration = %+v", sr)
	}
	got, err = ApplyPatch(got, AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{FirstRegistrantRole: ptr("")}}}, rbac.BuiltIns(), admin)
	if err != nil || got.Settings.SelfRegistration.FirstRegistrantRole != "" {
		t.Fatalf("clearing the first registrant's role: %+v, %v", got.Settings.SelfRegistration, err)
	}
}

func TestApplyPatchRetention(t *testing.T) {
	got, err := ApplyPatch(account(), AccountPatch{Settings: &SettingsPatch{AuditRetentionDays: ptr(30), DocumentRetentionDays: ptr(3650)}}, rbac.BuiltIns(), admin)
	if err != nil {
		t.Fatal(err)
	}
	if got.Settings.AuditRetentionDays != 30 || got.Settings.DocumentRetentionDays != 3650 {
		t.Fatalf("settings = %+v", got.Settings)
	}
	if d := team.DefaultSettings(); d.AuditRetentionDays != team.DefaultAuditRetentionDays || d.DocumentRetentionDays != team.DefaultDocumentRetentionDays {
		t.Fatalf("defaults = %+v", d)
	}
}

func TestApplyPatchDoesNotAlias(t *testing.T) {
	a := account()
	a.Settings.ExternalApproverDomains = []string{"a.com", "b.com"}
	b, err := ApplyPatch(a, AccountPatch{Settings: &SettingsPatch{AlertHour: ptr(1)}}, rbac.BuiltIns(), admin)
	if err != nil {
		t.Fatal(err)
	}
	b.Settings.ExternalApproverDomains[0] = "changed.com"
	if a.Settings.ExternalApproverDomains[0] != "a.com" {
		t.Fatal("the patched account shares its domain list with the original")
	}
}

// The default role is a grant: nobody makes a role default that grants
// more than they hold account-wide.
func TestDefaultRoleCeiling(t *testing.T) {
	rs, err := rbac.NewRoleSet(rbac.Role{ID: "settings_only", Name: "Settings", Permissions: []string{"settings.manage"}})
	if err != nil {
		t.Fatal(err)
	}
	// A manager at account scope holds the team member's permissions but
	// not full access.
	if _, err := ApplyPatch(account(), AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{DefaultRole: ptr(rbac.RoleTeamMember)}}}, rs, rs.Compile(manager)); err != nil {
		t.Fatalf("team_member by a manager: %v", err)
	}
	_, err = ApplyPatch(account(), AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{DefaultRole: ptr(rbac.RoleFullAccess)}}}, rs, rs.Compile(manager))
	problem(t, err, http.StatusForbidden, "exceeds_own_rights", "")
	// An administrator may choose it; clearing the role is always fine
	// while self-registration is off.
	if _, err := ApplyPatch(account(), AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{DefaultRole: ptr(rbac.RoleFullAccess)}}}, rs, admin); err != nil {
		t.Fatalf("full_access by an admin: %v", err)
	}
	if _, err := ApplyPatch(account(), AccountPatch{Settings: &SettingsPatch{SelfRegistration: &SelfRegistrationPatch{DefaultRole: ptr("")}}}, rs, rs.Compile(manager)); err != nil {
		t.Fatalf("clearing the role: %v", err)
	}
}

func TestValidateID(t *testing.T) {
	for _, ok := range []string{"s1", "S-1_x", strings.Repeat("a", 64)} {
		if err := ValidateID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a#b", "a.b", "a:b", "ü", strings.Repeat("a", 65)} {
		problem(t, ValidateID(bad), http.StatusBadRequest, "invalid_field", "id")
	}
}

func TestStoreAndDepartmentBodies(t *testing.T) {
	st, err := StoreBody{Name: " Main ", Address: "1 High St", TimeZone: "America/New_York"}.Store("s1")
	if err != nil || st != (team.Store{ID: "s1", Name: "Main", Address: "1 High St", TimeZone: "America/New_York"}) {
		t.Fatalf("store %+v, %v", st, err)
	}
	_, err = StoreBody{Name: ""}.Store("s1")
	problem(t, err, http.StatusBadRequest, "invalid_field", "name")
	_, err = StoreBody{Name: "x", TimeZone: "Nowhere/City"}.Store("s1")
	problem(t, err, http.StatusBadRequest, "invalid_field", "timeZone")
	_, err = StoreBody{Name: "x", Address: "line\x00"}.Store("s1")
	problem(t, err, http.StatusBadRequest, "invalid_field", "address")
	_, err = StoreBody{Name: "x"}.Store("bad id")
	problem(t, err, http.StatusBadRequest, "invalid_field", "id")

	for _, k := range team.DepartmentKinds() {
		if d, err := (DepartmentBody{Name: "D", Kind: string(k)}).Department("d1"); err != nil || d.Kind != k {
			t.Fatalf("kind %s: %+v, %v", k, d, err)
		}
	}
	_, err = DepartmentBody{Name: "D", Kind: "marketing"}.Department("d1")
	problem(t, err, http.StatusBadRequest, "invalid_field", "kind")
	_, err = DepartmentBody{Name: "D"}.Department("d1")
	problem(t, err, http.StatusBadRequest, "invalid_field", "kind")
}

func TestParseAuditFilter(t *testing.T) {
	f, err := ParseAuditFilter(url.Values{
		"actor": {"m_1"}, "target": {"store:s1"}, "action": {"store.create"},
		"from": {"2025-01-01T00:00:00+02:00"}, "to": {"2025-01-02T00:00:00Z"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.ActorID != "m_1" || f.TargetType != "store" || f.TargetID != "s1" || f.Action != "store.create" ||
		!f.From.Equal(time.Date(2024, 12, 31, 22, 0, 0, 0, time.UTC)) || !f.To.Equal(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("filter %+v", f)
	}
	f, err = ParseAuditFilter(url.Values{"targetType": {"member"}, "targetId": {"m_2"}})
	if err != nil || f.TargetType != "member" || f.TargetID != "m_2" {
		t.Fatalf("filter %+v, %v", f, err)
	}
	if f, err := ParseAuditFilter(url.Values{}); err != nil || f.ActorID != "" || f.TargetID != "" || !f.From.IsZero() || !f.To.IsZero() {
		t.Fatalf("no filters: %+v, %v", f, err)
	}
	for _, c := range []struct {
		q     url.Values
		field string
	}{
		{url.Values{"actor": {"m#1"}}, "actor"},
		{url.Values{"target": {"store"}}, "target"},
		{url.Values{"target": {"Store:s1"}}, "target"},
		{url.Values{"target": {"store:"}}, "target"},
		{url.Values{"target": {"store:s1"}, "targetType": {"store"}}, "target"},
		{url.Values{"targetType": {"store"}}, "targetType"},
		{url.Values{"targetId": {"s1"}}, "targetType"},
		{url.Values{"targetType": {"store"}, "targetId": {"a#b"}}, "targetId"},
		{url.Values{"action": {"Store Create"}}, "action"},
		{url.Values{"from": {"yesterday"}}, "from"},
		{url.Values{"to": {"2025-01-01"}}, "to"},
		{url.Values{"from": {"2025-01-02T00:00:00Z"}, "to": {"2025-01-01T00:00:00Z"}}, "to"},
	} {
		_, err := ParseAuditFilter(c.q)
		problem(t, err, http.StatusBadRequest, "invalid_field", c.field)
	}
}

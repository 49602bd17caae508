package rbac

import (
	"strings"
	"testing"
)

// These tests feed broken data to the loaders that check the embedded
// catalogue and roles at start-up, to prove they catch each mistake.

const areasJSON = `"areas": [{"id": "reports", "name": "Reports"}, {"id": "locked", "name": "Locked"}, {"id": "admin", "name": "Admin"}]`

// testPerms returns a small catalogue's permission list plus extra
// entries.
func testCatalogue(extra string) string {
	perms := `{"key": "reports.view", "area": "reports", "kind": "view", "description": "d"},
	 {"key": "presets.edit_shared", "area": "reports", "kind": "edit", "description": "d", "dependsOn": ["reports.view"]},
	 {"key": "locked.edit", "area": "locked", "kind": "manage", "description": "d"}`
	if extra != "" {
		perms += ", " + extra
	}
	docs := `{"type": "purchase_order", "view": "reports.view", "edit": "presets.edit_shared"},
	 {"type": "sales_order", "view": "reports.view", "edit": "presets.edit_shared"},
	 {"type": "write_off", "view": "reports.view", "edit": "presets.edit_shared"},
	 {"type": "bom", "view": "reports.view", "edit": "presets.edit_shared"},
	 {"type": "purchase_rate", "view": "reports.view", "edit": "presets.edit_shared"},
	 {"type": "invoice", "view": "reports.view", "edit": "presets.edit_shared"},
	 {"type": "bill", "view": "reports.view", "edit": "presets.edit_shared"}`
	return `{` + areasJSON + `, "permissions": [` + perms + `], "documentTypes": [` + docs + `]}`
}

func TestLoadCatalogueChecks(t *testing.T) {
	if _, err := loadCatalogue([]byte(testCatalogue(""))); err != nil {
		t.Fatalf("valid test catalogue: %v", err)
	}
	tests := []struct {
		name, extra, want string
	}{
		{"unknown dependency", `{"key": "a.b", "area": "reports", "kind": "view", "description": "d", "dependsOn": ["x.y"]}`, "depends on unknown"},
		{"self dependency", `{"key": "a.b", "area": "reports", "kind": "view", "description": "d", "dependsOn": ["a.b"]}`, "depends on itself"},
		{"cycle", `{"key": "a.b", "area": "reports", "kind": "view", "description": "d", "dependsOn": ["a.c"]},
		           {"key": "a.c", "area": "reports", "kind": "view", "description": "d", "dependsOn": ["a.b"]}`, "cycle"},
		{"normal depends on critical", `{"key": "a.b", "area": "admin", "kind": "manage", "tier": "critical", "description": "d"},
		           {"key": "a.c", "area": "reports", "kind": "view", "description": "d", "dependsOn": ["a.b"]}`, "depends on critical"},
		{"duplicate key", `{"key": "reports.view", "area": "reports", "kind": "view", "description": "d"}`, "listed twice"},
		{"bad key", `{"key": "Reports", "area": "reports", "kind": "view", "description": "d"}`, "invalid permission key"},
		{"unknown area", `{"key": "a.b", "area": "nowhere", "kind": "view", "description": "d"}`, "unknown area"},
		{"unknown kind", `{"key": "a.b", "area": "reports", "kind": "read", "description": "d"}`, "unknown kind"},
		{"unknown tier", `{"key": "a.b", "area": "reports", "kind": "view", "tier": "gold", "description": "d"}`, "unknown tier"},
		{"no description", `{"key": "a.b", "area": "reports", "kind": "view"}`, "no description"},
		{"unknown field", `{"key": "a.b", "area": "reports", "kind": "view", "description": "d", "colour": "red"}`, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadCatalogue([]byte(testCatalogue(tt.extra)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	bad := strings.Replace(testCatalogue(""), `"edit": "presets.edit_shared"}`, `"edit": "reports.view"}`, 1)
	if _, err := loadCatalogue([]byte(bad)); err == nil || !strings.Contains(err.Error(), "kind view, want edit") {
		t.Errorf("doc type edit mapped to a view permission: err = %v", err)
	}
}

func TestLoadBuiltinsChecks(t *testing.T) {
	adminRole := `{"id": "administrator", "name": "A", "description": "d", "admin": true, "scopeKinds": ["account"],
	  "permissions": ["*"]}`
	role := func(body string) []byte {
		return []byte(`{"roles": [` + adminRole + `, ` + body + `]}`)
	}
	if _, err := loadBuiltins(role(`{"id": "kpis", "name": "K", "description": "d", "permissions": ["reports.view"], "scopeKinds": ["account"]}`)); err != nil {
		t.Fatalf("valid roles: %v", err)
	}
	tests := []struct {
		name, body, want string
	}{
		{"preset without reports is flagged", `{"id": "presets", "name": "P", "description": "d", "permissions": ["presets.edit_shared"], "scopeKinds": ["account"]}`, "presets.edit_shared needs [reports.view]"},
		{"unknown permission", `{"id": "x_role", "name": "X", "description": "d", "permissions": ["orders.delete"], "scopeKinds": ["account"]}`, "unknown permission"},
		{"critical outside admin", `{"id": "x_role", "name": "X", "description": "d", "permissions": ["billing.manage"], "scopeKinds": ["account"]}`, "critical"},
		{"owner-only", `{"id": "x_role", "name": "X", "description": "d", "permissions": ["documents.sign"], "scopeKinds": ["account"]}`, "owner-only"},
		{"no scope kinds", `{"id": "x_role", "name": "X", "description": "d", "permissions": ["reports.view"]}`, "no scope kinds"},
		{"bad scope kind", `{"id": "x_role", "name": "X", "description": "d", "permissions": ["reports.view"], "scopeKinds": ["region"]}`, "region"},
		{"duplicate id", adminRole, "listed twice"},
		{"empty", `{"id": "x_role", "name": "X", "description": "d", "permissions": ["*"], "exclude": ["*"], "scopeKinds": ["account"]}`, "unknown excluded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadBuiltins(role(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

package apikeys

import (
	"strings"
	"testing"
)

func TestValidatePermissions(t *testing.T) {
	got, err := validatePermissions([]string{"users.view", "orders.edit", "orders.view"})
	if err != nil || strings.Join(got, ",") != "orders.view,orders.edit,users.view" {
		t.Fatalf("validatePermissions = %v %v, want catalogue order", got, err)
	}
	for _, bad := range [][]string{
		nil, {}, {"nope"}, {"no.such_permission"}, {"billing.manage"}, {"users.impersonate"}, {"account.close"},
		{"orders.view", "orders.view"}, {"orders.edit"}, {""},
	} {
		if _, err := validatePermissions(bad); err == nil {
			t.Errorf("validatePermissions(%q) accepted", bad)
		}
	}
}

func TestParseScopes(t *testing.T) {
	if got, err := parseScopes(nil); err != nil || len(got) != 1 || !got[0].IsAccount() {
		t.Fatalf("parseScopes(nil) = %v %v, want account", got, err)
	}
	if got, err := parseScopes([]string{"store:s1", "department:sales"}); err != nil || len(got) != 2 {
		t.Fatalf("parseScopes = %v %v", got, err)
	}
	for _, bad := range [][]string{{}, {"galaxy:1"}, {"store:"}, {"store:s1", "store:s1"}, {"account", "store:s1"}, {"account:x"}} {
		if _, err := parseScopes(bad); err == nil {
			t.Errorf("parseScopes(%q) accepted", bad)
		}
	}
}

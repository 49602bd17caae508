package config

import (
	"testing"
	"time"
)

func TestSessionLimits(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := Parse(env(nil))
	if err != nil || c.SessionLifetime != 0 || c.SessionIdle != 0 {
		t.Fatalf("defaults: %+v, %v; want zero (the auth defaults)", c, err)
	}
	c, err = Parse(env(map[string]string{"STEWARD_SESSION_LIFETIME": "14d", "STEWARD_SESSION_IDLE": "36h"}))
	if err != nil || c.SessionLifetime != 14*24*time.Hour || c.SessionIdle != 36*time.Hour {
		t.Fatalf("14d and 36h: %v, %v, %v", c.SessionLifetime, c.SessionIdle, err)
	}
	for _, bad := range []string{"soon", "-1h", "0", "10s", "xd"} {
		if _, err := Parse(env(map[string]string{"STEWARD_SESSION_IDLE": bad})); err == nil {
			t.Errorf("STEWARD_SESSION_IDLE=%q accepted", bad)
		}
	}
}

func TestAccountRateLimit(t *testing.T) {
	for raw, want := range map[string]int{"": 0, "off": -1, "250": 250} {
		c, err := Parse(func(k string) string {
			if k == "STEWARD_ACCOUNT_RATE_LIMIT" {
				return raw
			}
			return ""
		})
		if err != nil || c.AccountRateLimit != want {
			t.Errorf("STEWARD_ACCOUNT_RATE_LIMIT=%q: %d, %v; want %d", raw, c.AccountRateLimit, err, want)
		}
	}
	for _, bad := range []string{"0", "-3", "fast"} {
		if _, err := Parse(func(k string) string {
			if k == "STEWARD_ACCOUNT_RATE_LIMIT" {
				return bad
			}
			return ""
		}); err == nil {
			t.Errorf("STEWARD_ACCOUNT_RATE_LIMIT=%q accepted", bad)
		}
	}
}

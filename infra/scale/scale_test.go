package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
)

// The tool's own logic, without a scale run: presets, verdicts and the
// table.

func TestPresetsAreValid(t *testing.T) {
	for name, s := range Presets {
		if err := s.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	full := Presets["full"]
	// The sizes.
	if full.Members != 5000 || full.Stores != 200 || full.Roles != 100 || full.Documents != 10000 || full.SmallAccounts != 1000 ||
		full.Decided != 300 || full.RoleHolders != 1000 || full.Approvers != 500 || full.Memberships != 120 || full.Checks != 50 || full.Invitations != 200 {
		t.Errorf("full preset %+v is not the issue's sizes", full)
	}
}

func TestValidateRefuses(t *testing.T) {
	base := Presets["small"]
	for name, change := range map[string]func(*Sizes){
		"too many roles":          func(s *Sizes) { s.Roles = 101 },
		"too few roles":           func(s *Sizes) { s.Roles = 3 },
		"holders beyond members":  func(s *Sizes) { s.RoleHolders = s.Members },
		"decided beyond docs":     func(s *Sizes) { s.Decided = s.Documents + 1 },
		"memberships beyond accs": func(s *Sizes) { s.Memberships = s.SmallAccounts + 1 },
		"no invitations":          func(s *Sizes) { s.Invitations = 0 },
	} {
		s := base
		change(&s)
		if s.Validate() == nil {
			t.Errorf("%s: %+v accepted", name, s)
		}
	}
}

func TestOverlayKeepsZeroes(t *testing.T) {
	got := overlay(Presets["full"], Sizes{Members: 700, Invitations: 20})
	want := Presets["full"]
	want.Members, want.Invitations = 700, 20
	if got != want {
		t.Errorf("overlay = %+v, want %+v", got, want)
	}
}

func TestJudgeChecks(t *testing.T) {
	const limit = 10 * time.Second
	cases := []struct {
		name     string
		n, ok    int
		slowest  time.Duration
		read     float64
		pass     bool
		contains string
	}{
		{"within budget", 50, 50, time.Second, 100, true, "2.0 read units per check"},
		{"a failed check", 50, 49, time.Second, 100, false, "49 of 50"},
		{"too slow", 50, 50, 11 * time.Second, 100, false, "over the 10.0s timeout"},
		{"over budget", 50, 50, time.Second, 151, false, "over the budget of 3.0"},
		{"nothing checked", 0, 0, 0, 0, false, "0 of 0"},
	}
	for _, c := range cases {
		pass, reason := judgeChecks(c.n, c.ok, c.slowest, limit, testenv.Usage{Read: c.read}, 3)
		if pass != c.pass || !strings.Contains(reason, c.contains) {
			t.Errorf("%s: %v %q, want %v and %q", c.name, pass, reason, c.pass, c.contains)
		}
	}
}

func TestJudgeWithinAndCount(t *testing.T) {
	if pass, reason := judgeWithin(409, 204, time.Millisecond, time.Second, `{"code":"too_many_members"}`); pass || !strings.Contains(reason, "too_many_members") {
		t.Errorf("a 409 for a 204: %v %q", pass, reason)
	}
	if pass, _ := judgeWithin(200, 200, 2*time.Second, time.Second, ""); pass {
		t.Error("an answer over the limit passed")
	}
	if pass, _ := judgeWithin(200, 200, time.Second, time.Second, ""); !pass {
		t.Error("an answer at the limit failed")
	}
	if pass, reason := judgeCount("approvers emailed", 499, 500, time.Second, time.Minute); pass || reason != "499 of 500 approvers emailed in 1.00s" {
		t.Errorf("count short: %v %q", pass, reason)
	}
	if pass, _ := judgeCount("x", 500, 500, 2*time.Minute, time.Minute); pass {
		t.Error("a count over the limit passed")
	}
}

func TestJudgeInvitations(t *testing.T) {
	if pass, _ := judgeInvitations(Statuses{201: 200}, 200, time.Second, time.Minute); !pass {
		t.Error("200 created failed")
	}
	pass, reason := judgeInvitations(Statuses{201: 190, 409: 4, 503: 5, 0: 1}, 200, time.Second, time.Minute)
	if pass || !strings.Contains(reason, "5xx or transport 6, 409 4") || !strings.Contains(reason, "201 x190, 409 x4, 503 x5, transport error x1") {
		t.Errorf("mixed answers: %v %q", pass, reason)
	}
}

func TestPrintTable(t *testing.T) {
	var b strings.Builder
	PrintTable(&b, []Result{
		{Name: "50 checks", Criterion: "c1", Pass: true, Reason: "fine", Wall: 1500 * time.Millisecond, Units: testenv.Usage{Read: 100}, Ops: 50},
		{Name: "delete a role", Criterion: "c2", Reason: "status 409\nin 3ms", Wall: 3 * time.Millisecond, Units: testenv.Usage{Read: 37.5, Write: 0}, Ops: 1},
	})
	got := b.String()
	for _, want := range []string{
		"flow           result  wall   read units  write units  per operation\n",
		"50 checks      PASS    1.50s  100         0            2/0 per op (50 ops)\n",
		"delete a role  FAIL    3ms    37.5        0            -\n",
		"FAIL delete a role\n  criterion: c2\n  status 409 in 3ms\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if Failed([]Result{{Pass: true}, {}, {}}) != 2 {
		t.Error("Failed miscounts")
	}
}

func TestBareEmail(t *testing.T) {
	for in, want := range map[string]string{"a@b.example": "a@b.example", "Ann <a@b.example>": "a@b.example", "<x@y>": "x@y"} {
		if got := bareEmail(in); got != want {
			t.Errorf("bareEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

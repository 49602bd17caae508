package apitest

import (
	"sort"
	"testing"
)

// abuseCase is one rule of the trust suite as data: who misuses Steward,
// the sequence they run (do), and the refusal Steward must answer with.
// do performs the whole sequence on a fresh account of its own and returns
// the last response, the one that must be refused; anything it asserts on
// the way (nothing changed, no email sent) it asserts itself.
//
// The suite sits beside the privilege matrix: the matrix asks "may this
// role call this route", the abuse suite asks "can this person talk their
// way around a rule" (a requester approving their own document, an admin
// acting through impersonation, a stranger flooding a public route,
// another tenant, a demoted actor finishing an old request).
//
// Each area registers its cases from its own file with
//
//	var _ = abuse(abuseCase{...}, ...)
//
// so the table grows without one file that every change edits.
type abuseCase struct {
	// rule is the rule the case proves, in a few words ("one person,
	// one vote"); name tells the case apart within its rule.
	rule, name string
	// who is the misuser: requester, member, impersonator, stranger,
	// other tenant, demoted actor, admin.
	who string
	// do runs the sequence and returns the response that must be refused.
	do func(t *testing.T, e *Env) *Response
	// status and code are the expected refusal; code may be "" when the
	// status alone is the contract (a 404 that hides an object).
	status int
	code   string
}

var abuseCases []abuseCase

// abuse registers cases; it returns a value so files can call it at package
// level.
func abuse(cs ...abuseCase) bool {
	abuseCases = append(abuseCases, cs...)
	return true
}

// TestAbuseSuite runs every registered case on one API.
func TestAbuseSuite(t *testing.T) {
	if len(abuseCases) == 0 {
		t.Fatal("no abuse cases registered")
	}
	cases := append([]abuseCase(nil), abuseCases...)
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].rule < cases[j].rule })
	e := New(t)
	for _, c := range cases {
		t.Run(c.rule+"/"+c.who+"/"+c.name, func(t *testing.T) {
			r := c.do(t, e)
			if r == nil {
				t.Fatal("the case returned no response")
			}
			r.Want(t, c.status, c.code)
		})
	}
}

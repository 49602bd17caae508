package stack

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
)

// nagFindings returns the unsuppressed cdk-nag AWS Solutions findings
// (errors and warnings) of a stack synthesized with nag=true.
func nagFindings(s *synthesized) []string {
	ann := assertions.Annotations_FromStack(s.stack)
	match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	var out []string
	for _, m := range *ann.FindError(jsii.String("*"), match) {
		out = append(out, fmt.Sprintf("error %s: %v", *m.Id, firstLine(m.Entry.Data)))
	}
	for _, m := range *ann.FindWarning(jsii.String("*"), match) {
		out = append(out, fmt.Sprintf("warning %s: %v", *m.Id, firstLine(m.Entry.Data)))
	}
	sort.Strings(out)
	return out
}

// firstLine shortens a finding to its rule and first sentence.
func firstLine(v any) string {
	s := fmt.Sprint(v)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return s
}

// TestNagAwsSolutions fails on any cdk-nag AWS Solutions finding that is
// neither fixed nor suppressed with a reason (nag.go), in the default
// stack (no gateway authorizer) and with the JWT authorizer configured.
func TestNagAwsSolutions(t *testing.T) {
	s := defaultStack(t)
	if f := nagFindings(s); len(f) > 0 {
		t.Errorf("%d unsuppressed cdk-nag findings:\n%s", len(f), strings.Join(f, "\n"))
	}
	withJWT := synth(t, map[string]any{
		ContextNag:         true,
		ContextJWTIssuer:   "https://auth.example.com",
		ContextJWTAudience: "steward",
	}, func(p *StewardStackProps) {
		p.Routes = append(slices.Clone(routes.Table), routes.Route{Method: "GET", Path: "/v1/test-private", Function: routes.FunctionHealth, Operation: "testPrivate"})
	})
	if f := nagFindings(withJWT); len(f) > 0 {
		t.Errorf("with a JWT authorizer, %d unsuppressed cdk-nag findings:\n%s", len(f), strings.Join(f, "\n"))
	}
	// Suppressions carry reasons: every one is recorded in the template
	// metadata with a non-trivial reason.
	for id, r := range s.res {
		md, _ := r["Metadata"].(map[string]any)
		nag, _ := md["cdk_nag"].(map[string]any)
		for _, rule := range asList(nag["rules_to_suppress"]) {
			rm := rule.(map[string]any)
			if reason, _ := rm["reason"].(string); len(reason) < 40 {
				t.Errorf("%s: suppression of %v has no real reason: %q", id, rm["id"], reason)
			}
		}
	}
}

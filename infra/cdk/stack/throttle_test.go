package stack

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/routes"
)

// Every public route has its own throttle, lower than the stage's; no
// authenticated route has one (they share the stage's default); the
// stage is deployed after the routes its settings name.
func TestPublicRoutesHaveTheirOwnThrottle(t *testing.T) {
	s := defaultStack(t)
	stageID := s.onlyOfType(t, "AWS::ApiGatewayV2::Stage")
	settings, _ := props(s.res[stageID])["RouteSettings"].(map[string]any)
	routeIDs := map[string]string{} // route key -> logical id
	for id, r := range s.ofType("AWS::ApiGatewayV2::Route") {
		routeIDs[props(r)["RouteKey"].(string)] = id
	}
	deps := map[string]bool{}
	for _, d := range asList(s.res[stageID]["DependsOn"]) {
		deps[d.(string)] = true
	}
	public := 0
	for _, r := range routes.Table {
		got, ok := settings[r.Pattern()]
		if !r.Public {
			if ok {
				t.Errorf("%s is authenticated but has route settings %v", r.Pattern(), got)
			}
			continue
		}
		public++
		equal(t, r.Pattern()+" throttle", got, map[string]any{
			"ThrottlingRateLimit":  DefaultPublicThrottleRateLimit,
			"ThrottlingBurstLimit": DefaultPublicThrottleBurstLimit,
		})
		if id := routeIDs[r.Pattern()]; id == "" || !deps[id] {
			t.Errorf("the stage does not depend on route %s (%q): CloudFormation could not find its route key", r.Pattern(), id)
		}
	}
	if public == 0 || len(settings) != public {
		t.Errorf("route settings for %d keys, %d public routes", len(settings), public)
	}
	if DefaultPublicThrottleRateLimit >= DefaultThrottleRateLimit || DefaultPublicThrottleBurstLimit >= DefaultThrottleBurstLimit {
		t.Errorf("public throttle %v/%v is not below the stage's %v/%v", DefaultPublicThrottleRateLimit, DefaultPublicThrottleBurstLimit, DefaultThrottleRateLimit, DefaultThrottleBurstLimit)
	}
}

// The context keys set the public routes' throttle; one above the
// stage's is refused.
func TestPublicThrottleFromContext(t *testing.T) {
	s := synth(t, map[string]any{ContextPublicThrottleRateLimit: "5", ContextPublicThrottleBurstLimit: 7.0}, nil)
	settings := props(s.res[s.onlyOfType(t, "AWS::ApiGatewayV2::Stage")])["RouteSettings"].(map[string]any)
	equal(t, "login throttle", settings["POST /v1/auth/login"], map[string]any{"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 7})

	p := &StewardStackProps{AssetsDir: t.TempDir(), ThrottleRateLimit: 50, PublicThrottleRateLimit: 60}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), ContextPublicThrottleRateLimit) {
		t.Fatalf("public throttle above the stage's: Validate = %v", err)
	}
}

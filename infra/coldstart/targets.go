package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stewardhq/steward/infra/sizing"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/workflow"
)

// baselineName is the extra row of a no-op aws-lambda-go function
// (infra/coldstart/baseline): the floor of exec + Go runtime + runtime
// client, with none of Steward's init.
const baselineName = "(baseline)"

// target is one function to measure: its event and what its answer must
// be.
type target struct {
	// Name is the directory under functions/ (or baselineName).
	Name string
	// Pkg is the package to build, relative to the project root.
	Pkg string
	// Request describes the event ("GET /v1/health -> 200").
	Request string
	// Event is the invocation payload.
	Event []byte
	// MemoryMB and Timeout mirror the function's CDK settings
	// (infra/cdk/stack/functions.go): AWS_LAMBDA_FUNCTION_MEMORY_SIZE and
	// the invocation deadline.
	MemoryMB int
	Timeout  time.Duration
	// check verifies the answer.
	check func(answer) error
}

// settingsOf returns the function's Lambda memory (MB) and timeout, as
// the stack deploys them (infra/sizing).
func settingsOf(name string) (int, time.Duration) {
	s := sizing.For(name)
	return int(s.MemoryMB), time.Duration(s.TimeoutSeconds * float64(time.Second))
}

// publicProbes are the API functions whose cheap request is a public
// route answering 200; every other API function gets an authenticated
// GET without a token, which must answer 401 (init plus the handler's
// authentication, no DynamoDB item read).
var publicProbes = map[string]string{
	routes.FunctionHealth: "/v1/health",             // pings the table
	routes.FunctionAuth:   "/.well-known/jwks.json", // the signing keys' public half
}

// listFunctions returns the directories under root/functions that hold a
// main package, sorted.
func listFunctions(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// newTarget returns how to invoke the function in functions/<name>.
func newTarget(name string) (target, error) {
	mem, timeout := settingsOf(name)
	t := target{Name: name, Pkg: "./functions/" + name, MemoryMB: mem, Timeout: timeout}
	switch name {
	case routes.FunctionWorkflow:
		// A step input Dispatch rejects before any I/O: the handler
		// answers with a Steward.StepFailed error.
		t.Event = []byte(`{"step":"prepare"}`)
		t.Request = `{"step":"prepare"} -> ` + workflow.ErrorStepFailed
		t.check = wantError(workflow.ErrorStepFailed, "incomplete input")
		return t, nil
	case routes.FunctionAlertsJob:
		// The scheduled event over an empty table: one run, no account.
		t.Event = []byte(`{}`)
		t.Request = `{} -> {"accounts":0}`
		t.check = wantJobReport
		return t, nil
	}
	path, status := publicProbes[name], http.StatusOK
	if path == "" {
		for _, r := range routes.ForFunction(name) {
			if r.Method == http.MethodGet && !r.Public && len(r.Params()) == 0 {
				path, status = r.Path, http.StatusUnauthorized
				break
			}
		}
	}
	if path == "" {
		return target{}, fmt.Errorf("function %s: no route to probe (neither a public probe nor an authenticated GET without parameters in pkg/routes); teach infra/coldstart how to invoke it", name)
	}
	t.Event = apiEvent(http.MethodGet, path)
	t.Request = fmt.Sprintf("GET %s -> %d", path, status)
	t.check = wantStatus(status)
	return t, nil
}

// baselineTarget is the no-op function: it echoes its event.
func baselineTarget() target {
	return target{
		Name: baselineName, Pkg: "./infra/coldstart/baseline",
		Request: `{"ping":1} -> echo`, Event: []byte(`{"ping":1}`),
		MemoryMB: int(sizing.Default.MemoryMB), Timeout: time.Duration(sizing.Default.TimeoutSeconds * float64(time.Second)),
		check: func(a answer) error {
			if a.Kind != kindResponse || string(a.Body) != `{"ping":1}` {
				return fmt.Errorf("want the event echoed, got %s %s", a.Kind, clip(a.Body))
			}
			return nil
		},
	}
}

// apiEvent is an API Gateway HTTP API (payload 2.0) event without a
// token, shaped like events/health.json.
func apiEvent(method, path string) []byte {
	now := time.Now().UTC()
	ev := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: method + " " + path,
		RawPath:  path,
		Headers: map[string]string{
			"accept":            "application/json",
			"host":              "api.example.com",
			"user-agent":        "steward-coldstart",
			"x-forwarded-for":   "203.0.113.10",
			"x-forwarded-port":  "443",
			"x-forwarded-proto": "https",
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     method + " " + path,
			AccountID:    motoAccountID,
			Stage:        "$default",
			RequestID:    "coldstart-" + randomHex(6),
			APIID:        "coldstart",
			DomainName:   "api.example.com",
			DomainPrefix: "api",
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method, Path: path, Protocol: "HTTP/1.1",
				SourceIP: "203.0.113.10", UserAgent: "steward-coldstart",
			},
		},
	}
	b, _ := json.Marshal(ev) // plain data: cannot fail
	return b
}

// wantStatus checks an API Gateway response's status code.
func wantStatus(status int) func(answer) error {
	return func(a answer) error {
		if a.Kind != kindResponse {
			return fmt.Errorf("want a response, got %s %s: %s", a.Kind, a.ErrorType, clip(a.Body))
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(a.Body, &resp); err != nil {
			return fmt.Errorf("response is not an API Gateway v2 response: %v: %s", err, clip(a.Body))
		}
		if resp.StatusCode != status {
			return fmt.Errorf("want status %d, got %d: %s", status, resp.StatusCode, clip([]byte(resp.Body)))
		}
		return nil
	}
}

// wantError checks an invocation error's type and message.
func wantError(typ, msgPart string) func(answer) error {
	return func(a answer) error {
		var e struct {
			Message string `json:"errorMessage"`
		}
		_ = json.Unmarshal(a.Body, &e)
		if a.Kind != kindError || a.ErrorType != typ || !strings.Contains(e.Message, msgPart) {
			return fmt.Errorf("want error %s (%q), got %s %s: %s", typ, msgPart, a.Kind, a.ErrorType, clip(a.Body))
		}
		return nil
	}
}

// wantJobReport checks the alert job's report of a run over no account.
func wantJobReport(a answer) error {
	if a.Kind != kindResponse {
		return fmt.Errorf("want a run report, got %s %s: %s", a.Kind, a.ErrorType, clip(a.Body))
	}
	var rep struct {
		Accounts *int `json:"accounts"`
		Failed   int  `json:"failed"`
	}
	if err := json.Unmarshal(a.Body, &rep); err != nil || rep.Accounts == nil || *rep.Accounts != 0 || rep.Failed != 0 {
		return fmt.Errorf(`want a run report of 0 accounts, got %s`, clip(a.Body))
	}
	return nil
}

// clip shortens a payload for an error message.
func clip(b []byte) string {
	const limit = 300
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}

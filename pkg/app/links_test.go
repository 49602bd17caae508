package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Each function links only what it serves: its own services (no other
// service package, neither infra/localstack/app nor infra/localstack/server, which wire them all)
// and only the AWS clients it uses. What the linker does not see, the
// function does not initialise at its cold start.
func TestEachFunctionLinksOnlyWhatItServes(t *testing.T) {
	const mod = "github.com/stewardhq/steward/"
	// The packages one function may link and another not.
	services := []string{"access", "accounts", "alerts", "apikeys", "approvals", "auth", "health", "invites", "members", "openapi", "permissions", "portal", "webhooks", "workflow"}
	clients := []string{"secretsmanager", "sesv2", "sfn", "sqs"}
	// Every function with authenticated routes links auth, and with it
	// pkg/apikeys/apikey (the key itself, which authentication verifies).
	// Paths match exactly, so "apikeys" above is the key management
	// service alone, which only the apikeys function links.
	const authPkgs = "auth"
	want := map[string]string{
		"health": "health openapi",
		"auth":   authPkgs + " secretsmanager sesv2",
		// users sends the approval and access-request emails of an
		// offboarding's hand-over (approvals' and access's notify code;
		// workflow and sfn come with them). It also serves the admin
		// portal's pages (the portal package carries every section's
		// service: invites, accounts, permissions, webhooks and its queue).
		"users":       authPkgs + " secretsmanager sesv2 members approvals access workflow sfn invites portal accounts permissions webhooks sqs",
		"invites":     authPkgs + " secretsmanager sesv2 invites members",
		"apikeys":     authPkgs + " secretsmanager apikeys",
		"permissions": authPkgs + " secretsmanager permissions",
		"account":     authPkgs + " secretsmanager accounts",
		"alerts":      authPkgs + " secretsmanager alerts",
		// access requests run on the approval workflow: its function and
		// the step function serve both; it also serves the portal's
		// approvals and access pages (the portal package links every
		// section's service).
		"approvals": authPkgs + " secretsmanager approvals access workflow sfn portal invites members accounts permissions webhooks sqs",
		"workflow":  authPkgs + " sesv2 approvals access workflow sfn",
		"alertsjob": authPkgs + " sesv2 sqs alerts",
		// webhooks queues replays; the delivery function reads the cursor
		// key (verify-key secret) to open endpoint secrets and emails
		// administrators when it disables an endpoint.
		"webhooks":        authPkgs + " secretsmanager sqs webhooks",
		"webhookdelivery": authPkgs + " secretsmanager sesv2 sqs webhooks",
		// the event publisher schedules deliveries (pkg/webhooks, which
		// names principals: auth) on the queue; EventBridge is its own.
		"eventpublisher": authPkgs + " sqs webhooks",
	}
	dirs, err := os.ReadDir(filepath.Join("..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		fn := d.Name()
		w, ok := want[fn]
		if !ok {
			t.Errorf("functions/%s: say here what it may link", fn)
			continue
		}
		out, err := exec.Command("go", "list", "-deps", mod+"functions/"+fn).Output()
		if err != nil {
			t.Fatalf("go list -deps functions/%s: %v", fn, err)
		}
		deps := strings.Fields(string(out))
		var got []string
		for _, p := range services {
			if slices.Contains(deps, mod+"pkg/"+p) {
				got = append(got, p)
			}
		}
		for _, c := range clients {
			if slices.Contains(deps, "github.com/aws/aws-sdk-go-v2/service/"+c) {
				got = append(got, c)
			}
		}
		for _, p := range []string{"infra/localstack/app", "infra/localstack/server"} {
			if slices.Contains(deps, mod+p) {
				got = append(got, p)
			}
		}
		// The SDK's config package would initialise the SSO, STS and
		// sign-in clients of its credential chain at every cold start
		// (pkg/awsclient reads the environment instead).
		if slices.Contains(deps, "github.com/aws/aws-sdk-go-v2/config") {
			t.Errorf("functions/%s links github.com/aws/aws-sdk-go-v2/config", fn)
		}
		wantList := strings.Fields(w)
		slices.Sort(got)
		slices.Sort(wantList)
		if !slices.Equal(got, wantList) {
			t.Errorf("functions/%s links %v, want %v", fn, got, wantList)
		}
	}
}

// pkg/ holds only what ships: every package under it is linked into at
// least one Lambda function. Emulators, the local stack, the load
// generator and the test kits live under infra/ (a package only tests or
// local tools import belongs there too).
func TestPkgHoldsOnlyWhatShips(t *testing.T) {
	const mod = "github.com/stewardhq/steward/"
	out, err := exec.Command("go", "list", "-deps", mod+"functions/...").Output()
	if err != nil {
		t.Fatalf("go list -deps functions/...: %v", err)
	}
	shipped := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		shipped[p] = true
	}
	// Directories holding only tests (this one) ship nothing either way.
	out, err = exec.Command("go", "list", "-f", "{{if .GoFiles}}{{.ImportPath}}{{end}}", mod+"pkg/...").Output()
	if err != nil {
		t.Fatalf("go list pkg/...: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 20 {
		t.Fatalf("go list pkg/... found %d packages: %v", len(pkgs), pkgs)
	}
	// pkg/client ships to host apps: they import it, no function does.
	shipped[mod+"pkg/client"] = true
	for _, p := range pkgs {
		if !shipped[p] {
			t.Errorf("%s is in pkg/ but no function links it: move it under infra/", strings.TrimPrefix(p, mod))
		}
	}
}

package stack

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/routes"
)

// TestRoutesThatReplayGetTheDeliveryQueue: every route whose handler
// queues webhook deliveries is served by a function the stack gives the
// delivery queue's URL and sqs:SendMessage on that queue; without them
// the route answers 503 in AWS while it works locally, where one server
// holds every service. The routes are found in the code, not listed: a
// route's handler queues when it calls, directly or through functions of
// its package, a method of pkg/webhooks' Service that uses the Service's
// Queue (Replay). And a function's main reads the queue's URL from its
// configuration (WebhookQueueURL) exactly when the stack sets it.
func TestRoutesThatReplayGetTheDeliveryQueue(t *testing.T) {
	pkgDir := filepath.Join(repoRootForTest, "pkg")
	seeds := queueMethods(t, filepath.Join(pkgDir, "webhooks"))
	if !slices.Contains(seeds, "Replay") {
		t.Fatalf("pkg/webhooks: the Service methods using s.Queue are %v; Replay is not among them", seeds)
	}
	ops := queueOperations(t, pkgDir, seeds)
	// The analysis finds the two replay routes there are today (the API's
	// and the admin portal's); more is fine, fewer means it is broken.
	for _, op := range []string{"replayWebhook", "submitPortalWebhookReplay"} {
		if !ops[op] {
			t.Errorf("the analysis does not find that %s queues webhook deliveries (found %v)", op, sortedKeys(ops))
		}
	}

	s := defaultStack(t)
	queueID := s.childLogicalID(t, "WebhookDelivery")
	send := map[string]any{
		"Action":   "sqs:SendMessage",
		"Effect":   "Allow",
		"Resource": map[string]any{"Fn::GetAtt": []any{queueID, "Arn"}},
	}
	served := 0
	for _, r := range routes.Table {
		if !ops[r.Operation] {
			continue
		}
		served++
		fnID := s.functionLogicalID(t, r.Function)
		equal(t, r.Pattern()+" ("+r.Operation+") queues webhook deliveries: function "+r.Function+"'s "+EnvWebhookQueueURL,
			functionEnv(s, fnID)[EnvWebhookQueueURL], map[string]any{"Ref": queueID})
		if !slices.ContainsFunc(sqsStatements(s, fnID), func(st any) bool { return equalJSON(t, st, send) }) {
			t.Errorf("%s (%s) queues webhook deliveries, but function %s may not send to the delivery queue: its SQS statements are %v",
				r.Pattern(), r.Operation, r.Function, sqsStatements(s, fnID))
		}
	}
	if served < 2 {
		t.Errorf("%d routes of routes.Table queue webhook deliveries, want at least the API's and the portal's", served)
	}

	// The mains: a function reads the queue URL from its configuration if
	// and only if the stack gives it one.
	dirs, err := os.ReadDir(filepath.Join(repoRootForTest, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		reads := false
		files, err := filepath.Glob(filepath.Join(repoRootForTest, "functions", d.Name(), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			reads = reads || strings.Contains(string(b), "WebhookQueueURL")
		}
		_, gets := functionEnv(s, s.functionLogicalID(t, d.Name()))[EnvWebhookQueueURL]
		switch {
		case reads && !gets:
			t.Errorf("functions/%s reads WebhookQueueURL, but the stack does not set %s for it", d.Name(), EnvWebhookQueueURL)
		case gets && !reads:
			t.Errorf("the stack sets %s for %s, whose main never reads it (least privilege: drop it and its grant)", EnvWebhookQueueURL, d.Name())
		}
	}
}

// equalJSON reports whether a and b are the same JSON value.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return reflect.DeepEqual(normalize(t, a), normalize(t, b))
}

// parseDir parses the non-test Go files of one directory.
func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// queueMethods returns the methods of the Service type of the package in
// dir whose body uses the receiver's Queue field.
func queueMethods(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, f := range parseDir(t, dir) {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Body == nil || len(fd.Recv.List) != 1 || len(fd.Recv.List[0].Names) != 1 {
				continue
			}
			star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			if id, ok := star.X.(*ast.Ident); !ok || id.Name != "Service" {
				continue
			}
			recv := fd.Recv.List[0].Names[0].Name
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Queue" {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == recv {
						out = append(out, fd.Name.Name)
						return false
					}
				}
				return true
			})
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// queueOperations returns the operation ids bound by the Operations
// methods of the packages under pkgDir (one level) to a handler that
// reaches one of seeds: it calls a function or method of that name, or a
// function of its own package that does, and so on. Functions and
// methods are told apart by name only, which can only make more routes
// need the queue, never fewer. Bindings are the map literal entries of an
// Operations method ("operationId": s.Handler), as every service writes
// them (pkg/accounts adds its scope items' operations in a loop; none
// queues).
func queueOperations(t *testing.T, pkgDir string, seeds []string) map[string]bool {
	t.Helper()
	dirs, err := os.ReadDir(pkgDir)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files := parseDir(t, filepath.Join(pkgDir, d.Name()))
		calls := map[string]map[string]bool{} // function name -> names it calls
		var bindings []*ast.KeyValueExpr      // "operationId": recv.Handler
		for _, f := range files {
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				name := fd.Name.Name
				if calls[name] == nil {
					calls[name] = map[string]bool{}
				}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.CallExpr:
						switch fn := n.Fun.(type) {
						case *ast.SelectorExpr:
							calls[name][fn.Sel.Name] = true
						case *ast.Ident:
							calls[name][fn.Name] = true
						}
					case *ast.KeyValueExpr:
						if name == "Operations" && fd.Recv != nil {
							bindings = append(bindings, n)
						}
					}
					return true
				})
			}
		}
		reaches := map[string]bool{}
		for _, s := range seeds {
			reaches[s] = true
		}
		for changed := true; changed; {
			changed = false
			for fn, callees := range calls {
				if reaches[fn] {
					continue
				}
				for c := range callees {
					if reaches[c] {
						reaches[fn], changed = true, true
						break
					}
				}
			}
		}
		for _, kv := range bindings {
			lit, ok := kv.Key.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			sel, ok := kv.Value.(*ast.SelectorExpr)
			if !ok || !reaches[sel.Sel.Name] {
				continue
			}
			op, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			ops[op] = true
		}
	}
	return ops
}

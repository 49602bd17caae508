package httpapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
)

// pkgFiles parses every non-test Go file under pkg/, keyed by its path
// relative to pkg/.
func pkgFiles(t *testing.T) map[string]*ast.File {
	t.Helper()
	files := map[string]*ast.File{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		full, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		files[filepath.ToSlash(rel)] = full
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("found %d Go files under pkg/", len(files))
	}
	return files
}

func imports(f *ast.File, path string) bool {
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == path {
			return true
		}
	}
	return false
}

// transport lists the packages under pkg/ that are HTTP by nature: the
// problem table itself, the router, the route table, the functions'
// wiring, the AWS clients, the OpenAPI document and the API's Go client.
var transport = []string{"httpapi", "router", "routes", "app", "awsclient", "openapi", "client"}

func topPackage(rel string) string { return strings.SplitN(rel, "/", 2)[0] }

// httpFile reports whether a file of a domain package is one of its HTTP
// files: http.go (or http_*.go) decodes, calls one operation and encodes;
// page.go (page_*.go, and templ's output) renders HTML; operations.go binds
// the route table's operation ids to those handlers.
func httpFile(rel string) bool {
	base := filepath.Base(rel)
	return base == "http.go" || strings.HasPrefix(base, "http_") ||
		base == "page.go" || strings.HasPrefix(base, "page_") || strings.HasSuffix(base, "_templ.go") ||
		base == "operations.go"
}

// Domain packages keep net/http in their HTTP files: the service (every
// other file) takes typed inputs and returns typed results and
// *fault.Error values, so a workflow step, the alert job or a publisher
// calls the same operation the API does.
func TestDomainPackagesKeepHTTPInTheirHTTPFiles(t *testing.T) {
	for rel, f := range pkgFiles(t) {
		if slices.Contains(transport, topPackage(rel)) || httpFile(rel) {
			continue
		}
		if imports(f, "net/http") {
			t.Errorf("pkg/%s imports net/http: move the HTTP part to its package's http.go and return *fault.Error from the rest", rel)
		}
	}
}

// No problem is built outside the error table: outside pkg/httpapi nothing
// names httpapi.Problem or the problem media type, calls http.Error, or
// picks a status for an error. Domain packages return *fault.Error and
// pkg/httpapi's table decides the status.
func TestNoProblemOutsideTheTable(t *testing.T) {
	for rel, f := range pkgFiles(t) {
		if topPackage(rel) == "httpapi" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				id, ok := x.X.(*ast.Ident)
				if !ok {
					return true
				}
				switch {
				case id.Name == "httpapi" && (x.Sel.Name == "Problem" || x.Sel.Name == "ProblemContentType"):
					t.Errorf("pkg/%s: %s.%s outside pkg/httpapi builds a problem by hand", rel, id.Name, x.Sel.Name)
				case id.Name == "http" && x.Sel.Name == "Error":
					t.Errorf("pkg/%s: http.Error answers an error outside the problem table", rel)
				}
			case *ast.BasicLit:
				if x.Kind == token.STRING && strings.Contains(x.Value, "problem+json") {
					t.Errorf("pkg/%s: the problem media type outside pkg/httpapi", rel)
				}
			}
			return true
		})
	}
}

// Every kind of domain error has its row in the table, and the table's
// statuses are the ones documented for each kind.
func TestEveryKindHasItsStatus(t *testing.T) {
	want := map[fault.Kind]int{
		fault.Invalid: 400, fault.Unauthenticated: 401, fault.Forbidden: 403, fault.NotFound: 404,
		fault.MethodNotAllowed: 405, fault.Conflict: 409, fault.Gone: 410, fault.Stale: 412,
		fault.TooLarge: 413, fault.UnsupportedMedia: 415, fault.Unprocessable: 422,
		fault.PreconditionRequired: 428, fault.TooMany: 429, fault.Internal: 500, fault.Unavailable: 503,
	}
	for k := fault.Invalid; k <= fault.Unavailable; k++ {
		if got := httpapi.Status(k); got != want[k] {
			t.Errorf("kind %d: status %d, want %d", k, got, want[k])
		}
	}
	if got := httpapi.Status(fault.Kind(200)); got != 500 {
		t.Errorf("an unknown kind answers %d, want 500", got)
	}
}

package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newTestAPI(t *testing.T) *runtimeAPI {
	t.Helper()
	api, err := newRuntimeAPI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return api
}

func call(t *testing.T, method, url, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRuntimeAPIResponse(t *testing.T) {
	api := newTestAPI(t)
	base := "http://" + api.Addr + "/2018-06-01/runtime/"
	inv := api.Arm([]byte(`{"hello":"world"}`), 10*time.Second, "arn:aws:lambda:us-east-1:123456789012:function:f")

	resp, body := call(t, http.MethodGet, base+"invocation/next", "", nil)
	if resp.StatusCode != http.StatusOK || body != `{"hello":"world"}` {
		t.Fatalf("next: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Lambda-Runtime-Aws-Request-Id"); got != inv.ID {
		t.Errorf("request id %q, want %q", got, inv.ID)
	}
	if got := resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn"); got != inv.FunctionARN {
		t.Errorf("function arn %q", got)
	}
	if !strings.HasPrefix(resp.Header.Get("Lambda-Runtime-Trace-Id"), "Root=1-") {
		t.Errorf("trace id %q", resp.Header.Get("Lambda-Runtime-Trace-Id"))
	}
	ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if d := time.Until(time.UnixMilli(ms)); err != nil || d < 5*time.Second || d > 11*time.Second {
		t.Errorf("deadline %q (in %s)", resp.Header.Get("Lambda-Runtime-Deadline-Ms"), d)
	}
	select {
	case <-inv.next:
	default:
		t.Error("init time not reported")
	}

	if resp, _ := call(t, http.MethodPost, base+"invocation/not-the-id/response", `{}`, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("response for an unknown id: %d, want 400", resp.StatusCode)
	}
	if resp, _ := call(t, http.MethodPost, base+"invocation/"+inv.ID+"/response", `{"ok":true}`, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("response: %d, want 202", resp.StatusCode)
	}
	a := <-inv.result
	if a.Kind != kindResponse || string(a.Body) != `{"ok":true}` || a.At.IsZero() {
		t.Errorf("answer %+v", a)
	}
	if resp, _ := call(t, http.MethodPost, base+"invocation/"+inv.ID+"/response", `{}`, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("second response: %d, want 400", resp.StatusCode)
	}

	// The process's next GET /next waits: there is no second event.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"invocation/next", nil)
	if resp, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("second next: %v, want it to block", err)
	}
}

func TestRuntimeAPIErrors(t *testing.T) {
	api := newTestAPI(t)
	base := "http://" + api.Addr + "/2018-06-01/runtime/"

	inv := api.Arm([]byte(`{}`), time.Second, "arn")
	if resp, _ := call(t, http.MethodPost, base+"invocation/"+inv.ID+"/error", `{}`, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("error before next: %d, want 400", resp.StatusCode)
	}
	call(t, http.MethodGet, base+"invocation/next", "", nil)
	h := http.Header{"Lambda-Runtime-Function-Error-Type": {"Header.Type"}}
	resp, _ := call(t, http.MethodPost, base+"invocation/"+inv.ID+"/error", `{"errorMessage":"boom","errorType":"Steward.StepFailed"}`, h)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("error: %d", resp.StatusCode)
	}
	if a := <-inv.result; a.Kind != kindError || a.ErrorType != "Steward.StepFailed" {
		t.Errorf("answer %+v", a)
	}
	if err := wantError("Steward.StepFailed", "boom")(answer{Kind: kindError, ErrorType: "Steward.StepFailed", Body: []byte(`{"errorMessage":"boom"}`)}); err != nil {
		t.Error(err)
	}

	inv = api.Arm([]byte(`{}`), time.Second, "arn")
	resp, _ = call(t, http.MethodPost, base+"init/error", `{"errorMessage":"no config"}`, h)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("init error: %d", resp.StatusCode)
	}
	if a := <-inv.result; a.Kind != kindInitError || a.ErrorType != "Header.Type" {
		t.Errorf("answer %+v", a)
	}

	api.Disarm()
	if resp, _ := call(t, http.MethodPost, base+"init/error", `{}`, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("init error with nothing armed: %d, want 400", resp.StatusCode)
	}
}

// TestColdStartBaseline runs the no-op function built with aws-lambda-go
// against the fake: the real runtime client's side of the contract.
func TestColdStartBaseline(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "baseline")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./baseline")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	api := newTestAPI(t)
	tg := baselineTarget()
	env := lambdaEnv(tg, api.Addr, filepath.Dir(bin), &backend{})
	for range 3 {
		s, err := coldStart(context.Background(), api, tg, bin, env)
		if err != nil {
			t.Fatal(err)
		}
		if s.Init <= 0 || s.First < s.Init {
			t.Errorf("sample %+v", s)
		}
	}

	// A wrong answer fails the run and quotes the process's output.
	tg.check = wantStatus(http.StatusOK)
	if _, err := coldStart(context.Background(), api, tg, bin, env); err == nil || !strings.Contains(err.Error(), "want status 200, got 0") {
		t.Errorf("wrong answer: %v", err)
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 30; i++ {
		ds = append(ds, time.Duration(31-i)*time.Millisecond)
	}
	q, err := summarize(ds)
	if err != nil || q.P50 != 15.5 || q.P90 != 27 {
		t.Errorf("summarize 1..30 ms = %+v, %v; want p50 15.5, p90 27", q, err)
	}
	if q, _ := summarize(ds[:3]); q.P50 != 29 || q.P90 != 30 {
		t.Errorf("summarize 30,29,28 ms = %+v", q)
	}
}

func TestTargets(t *testing.T) {
	for name, want := range map[string]string{
		"health":    "GET /v1/health -> 200",
		"auth":      "GET /.well-known/jwks.json -> 200",
		"users":     "GET /v1/me -> 401",
		"workflow":  `{"step":"prepare"} -> Steward.StepFailed`,
		"alertsjob": `{} -> {"accounts":0}`,
	} {
		tg, err := newTarget(name)
		if err != nil || tg.Request != want {
			t.Errorf("newTarget(%s) = %q, %v; want %q", name, tg.Request, err, want)
		}
	}
	if _, err := newTarget("nosuch"); err == nil {
		t.Error("newTarget(nosuch): no error")
	}
}

func TestToMain(t *testing.T) {
	out := "steward log line\n" +
		"init internal/bytealg @0.005 ms, 0.002 ms clock, 0 bytes, 0 allocs\n" +
		"init github.com/x/y @10 ms, 2.5 ms clock, 100 bytes, 3 allocs\n" +
		"init os @4.5 ms, 0.1 ms clock, 0 bytes, 0 allocs\n"
	if d, err := toMain(out); err != nil || d != 12500*time.Microsecond {
		t.Errorf("toMain = %s, %v; want 12.5ms", d, err)
	}
	if _, err := toMain("no trace\n"); err == nil {
		t.Error("toMain without trace lines: no error")
	}
}

func TestPackageInits(t *testing.T) {
	out := "steward log line\n" +
		"init os @4.5 ms, 0.1 ms clock, 0 bytes, 0 allocs\n" +
		"init github.com/stewardhq/steward/pkg/x @10 ms, 2.5 ms clock, 100 bytes, 3 allocs\n" +
		"init github.com/aws/aws-sdk-go-v2/y @13 ms, 1.5 ms clock, 50 bytes, 2 allocs\n"
	got := packageInits(out)
	if len(got) != 3 || got["github.com/stewardhq/steward/pkg/x"] != (pkgInit{MS: 2.5, Bytes: 100, Allocs: 3}) {
		t.Fatalf("packageInits = %+v", got)
	}
	groups, top := summarizeInits([]sample{{Inits: got}, {Inits: got}})
	if len(groups) != 3 || groups[0] != (packageInit{Package: "steward", MS: 2.5, Bytes: 100, Allocs: 3}) || groups[1].Package != "aws" || groups[2].Package != "std" {
		t.Errorf("groups = %+v", groups)
	}
	if len(top) != 3 || top[0].Package != "github.com/stewardhq/steward/pkg/x" || top[2].Package != "os" {
		t.Errorf("top = %+v", top)
	}
}

// A connection that had its event gets no other: the late GET /next of a
// process being killed, handled after the next Arm, blocks, and the new
// process (its own connection) gets the new event.
func TestRuntimeAPIOneEventPerConnection(t *testing.T) {
	api := newTestAPI(t)
	next := "http://" + api.Addr + pathNext
	old := &http.Client{Transport: &http.Transport{}}
	defer old.CloseIdleConnections()
	api.Arm([]byte(`{"n":1}`), time.Second, "arn")
	resp, err := old.Get(next)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()

	inv := api.Arm([]byte(`{"n":2}`), time.Second, "arn")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
	if resp, err := old.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the old connection got an event: %d", resp.StatusCode)
	}
	fresh := &http.Client{Transport: &http.Transport{}}
	defer fresh.CloseIdleConnections()
	resp, err = fresh.Get(next)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"n":2}` || resp.Header.Get(headerRequestID) != inv.ID {
		t.Fatalf("the new connection got %s", body)
	}
}

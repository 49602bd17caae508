package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/awsclient/sfnclient"
)

// MotoAccountID is the account moto puts every resource in.
const MotoAccountID = "123456789012"

// MotoEmulator is moto's server with Step Functions execution on. Lambda
// tasks are not run: each takes the next queued result (QueueLambdaResults)
// or, with the queue empty, echoes its payload.
type MotoEmulator struct {
	// URL is the moto server's endpoint.
	URL string
	// SFN is a Step Functions client for URL (built by pkg/awsclient/sfnclient).
	SFN *sfn.Client
}

// Moto returns the moto server, starting it on first use; it fails the
// test if it cannot be had.
func Moto(t testing.TB) *MotoEmulator {
	t.Helper()
	u := motoEmu.mustURL(t)
	return &MotoEmulator{URL: u, SFN: sfnclient.New(awsConfig(t, awsclient.Endpoints{StepFunctions: u}), u)}
}

// RoleARN returns an IAM role ARN in moto's account for CreateStateMachine
// (moto checks its form, not its existence).
func (m *MotoEmulator) RoleARN(name string) string {
	return "arn:aws:iam::" + MotoAccountID + ":role/" + name
}

// Exclusive holds a lock until the test ends. Take it in tests that queue
// Lambda results or Reset: the result queue is one per server and region,
// and under infra/testrun every test process shares the server. The lock
// is one file for the machine (os.TempDir()/steward-moto.lock), so it also
// orders such tests of processes with their own servers; they are few.
func (m *MotoEmulator) Exclusive(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	unlock, err := emulator.LockFile(ctx, filepath.Join(os.TempDir(), "steward-moto.lock"))
	if err != nil {
		t.Fatalf("moto exclusive lock: %v", err)
	}
	t.Cleanup(unlock)
}

// QueueLambdaResults appends results to the queue Lambda tasks take their
// results from, in Region. Each result is marshalled to JSON
// (json.RawMessage passes through as is).
func (m *MotoEmulator) QueueLambdaResults(t testing.TB, results ...any) {
	t.Helper()
	body := struct {
		Results []string `json:"results"`
		Region  string   `json:"region"`
	}{Region: Region}
	for _, r := range results {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal lambda result: %v", err)
		}
		body.Results = append(body.Results, string(b))
	}
	m.post(t, "/moto-api/static/lambda-simple/response", body)
}

// Reset drops every resource in the moto server (state machines,
// executions, queued results) for every test using it; the execution
// settings stay. Hold Exclusive.
func (m *MotoEmulator) Reset(t testing.TB) {
	t.Helper()
	m.post(t, "/moto-api/reset", nil)
}

func (m *MotoEmulator) post(t testing.TB, path string, body any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("POST %s: %s: %s", path, resp.Status, b)
	}
}

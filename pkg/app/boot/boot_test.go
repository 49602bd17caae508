package boot

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/pkg/httpapi"
)

// The sample event of events/ runs through the Lambda adapter, and the
// API Gateway request id becomes the request id.
func TestLambdaHandlerUsesAPIGatewayRequestID(t *testing.T) {
	payload, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "health.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Header.Get(httpapi.RequestIDHeader) + " " + r.URL.Path))
	})
	out, err := LambdaHandler(h).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Body != "JKJaXmPLvHcESHA= /v1/health" {
		t.Fatalf("response %+v", resp)
	}
}

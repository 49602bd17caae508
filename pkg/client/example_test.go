package client_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/stewardhq/steward/pkg/client"
)

// A host app's integration: its backend asks Steward whether a member may
// act, and receives Steward's webhooks (README, "Typed clients").
func Example() {
	ctx := context.Background()
	memberID, storeID := "mem_123", "s1"

	c, err := client.New("https://api.example.com", os.Getenv("STEWARD_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	r, err := c.CheckPermissionWithResponse(ctx, client.CheckRequest{UserId: &memberID, Action: "stock.edit", Resource: client.CheckResource{Store: &storeID}})
	if err != nil {
		log.Fatal(err)
	}
	if r.JSON200 == nil { // an error answer: r.ApplicationproblemJSON400 ... (a client.Problem)
		log.Fatalf("check: %d %s", r.StatusCode(), r.Body)
	}
	log.Println("allowed:", r.JSON200.Allowed)

	http.HandleFunc("POST /steward/webhooks", func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil || client.VerifyWebhook(os.Getenv("STEWARD_WEBHOOK_SECRET"), req.Header, body) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent) // then handle body (JSON) once per webhook-id
	})
}

package apitest

import (
	"context"
	"net/http"
	"testing"

	"github.com/stewardhq/steward/pkg/client"
)

// The generated Go client (pkg/client) against the running API: a public
// route, a problem, sign-in, and authenticated reads and writes with
// headers (If-Match, ETag). Its requests go through this Env's client,
// which checks every response against the OpenAPI document.
func TestGeneratedGoClient(t *testing.T) {
	e := New(t)
	ctx := context.Background()
	owner := e.signupBare(t, newEmail("goclient"))

	anon, err := client.New(e.URL, "", client.WithHTTPClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	health, err := anon.GetHealthWithResponse(ctx)
	if err != nil || health.StatusCode() != http.StatusOK || health.JSON200.Status != client.HealthStatusOk {
		t.Fatalf("health: %v %+v", err, health)
	}
	wrong, err := anon.LoginWithResponse(ctx, client.LoginRequest{Email: owner.Email, Password: "not the password at all"})
	if err != nil || wrong.ApplicationproblemJSON401 == nil || wrong.ApplicationproblemJSON401.Code != "invalid_credentials" {
		t.Fatalf("wrong password: %v %d %s", err, wrong.StatusCode(), wrong.Body)
	}
	login, err := anon.LoginWithResponse(ctx, client.LoginRequest{Email: owner.Email, Password: goodPassword})
	if err != nil || login.JSON200 == nil {
		t.Fatalf("login: %v %d %s", err, login.StatusCode(), login.Body)
	}

	c, err := client.New(e.URL, login.JSON200.AccessToken, client.WithHTTPClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.GetMeWithResponse(ctx)
	if err != nil || me.JSON200 == nil || me.JSON200.Member.Email != owner.Email || me.JSON200.Account.Id != owner.AccountID || !me.JSON200.Member.Owner {
		t.Fatalf("me: %v %d %s", err, me.StatusCode(), me.Body)
	}
	created, err := c.PutStoreWithResponse(ctx, "berlin", nil, client.StoreRequest{Name: "Berlin"})
	if err != nil || created.JSON201 == nil || created.Headers201.ETag == "" {
		t.Fatalf("create store: %v %d %s", err, created.StatusCode(), created.Body)
	}
	stale := `"0"`
	conflict, err := c.PutStoreWithResponse(ctx, "berlin", &client.PutStoreParams{IfMatch: &stale}, client.StoreRequest{Name: "Berlin Mitte"})
	if err != nil || conflict.ApplicationproblemJSON412 == nil || conflict.ApplicationproblemJSON412.Code != "stale_version" {
		t.Fatalf("stale If-Match: %v %d %s", err, conflict.StatusCode(), conflict.Body)
	}
	etag := created.Headers201.ETag
	renamed, err := c.PutStoreWithResponse(ctx, "berlin", &client.PutStoreParams{IfMatch: &etag}, client.StoreRequest{Name: "Berlin Mitte"})
	if err != nil || renamed.JSON200 == nil || renamed.JSON200.Name != "Berlin Mitte" {
		t.Fatalf("rename store: %v %d %s", err, renamed.StatusCode(), renamed.Body)
	}
	stores, err := c.ListStoresWithResponse(ctx, nil)
	if err != nil || stores.JSON200 == nil || len(stores.JSON200.Items) != 1 || stores.JSON200.Items[0].Id != "berlin" {
		t.Fatalf("list stores: %v %d %s", err, stores.StatusCode(), stores.Body)
	}
}

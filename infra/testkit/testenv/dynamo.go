package testenv

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/store"
)

// Dynamo is DynamoDB Local with this test process's table.
type Dynamo struct {
	// URL is the DynamoDB Local endpoint.
	URL string
	// Client is a DynamoDB client for URL (built by pkg/awsclient).
	Client *dynamodb.Client
	// Table is the name of this process's table, created from
	// store.Definition. Every test of the process shares it.
	Table string
}

var dyn struct {
	once sync.Once
	val  *Dynamo
	err  error
}

// DynamoDB returns DynamoDB Local and this process's table, starting the
// emulator and creating the table ("steward-test-<random>", with
// store.EnsureTable) on first use. It fails the test if either cannot be
// done.
func DynamoDB(t testing.TB) *Dynamo {
	t.Helper()
	url := dynamoEmu.mustURL(t)
	dyn.once.Do(func() { // no t here: a Fatal inside Do would leave dyn empty
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cfg, err := awsclient.LoadConfig(ctx, Region, awsclient.Endpoints{DynamoDB: url})
		if err != nil {
			dyn.err = err
			return
		}
		d := &Dynamo{URL: url, Client: awsclient.DynamoDB(cfg, url), Table: NewID("steward-test")}
		if dyn.err = store.EnsureTable(ctx, d.Client, d.Table); dyn.err == nil {
			dyn.val = d
		}
	})
	if dyn.err != nil {
		t.Fatalf("create test table in %s: %v", url, dyn.err)
	}
	d := *dyn.val
	return &d
}

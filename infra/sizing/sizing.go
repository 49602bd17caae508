// Package sizing holds each Lambda function's memory and timeout: the CDK
// stack deploys them (context functionMemory may override the memory) and
// infra/coldstart measures with them. Plain Go, so the measuring tool does
// not compile the CDK.
package sizing

import "github.com/stewardhq/steward/pkg/routes"

// Function is the sizing of one Lambda function.
type Function struct {
	// MemoryMB is the memory size in MB (Lambda also scales CPU with it).
	MemoryMB float64
	// TimeoutSeconds is the function timeout. API Gateway HTTP APIs give up
	// after 30 s, so an API function never needs more.
	TimeoutSeconds float64
}

// Default applies to a function that has no entry in
// functionSettings: 256 MB (a request here is one or two DynamoDB round
// trips and about a millisecond of CPU: make bench measures 1.1 ms of
// server CPU per check) and 10 s.
var Default = Function{MemoryMB: 256, TimeoutSeconds: 10}

// functionSettings sizes the functions that differ from the default.
// health only asks DynamoDB to describe the table: the smallest size and a
// short timeout, so a hung dependency shows up as a failed check quickly.
var functionSettings = map[string]Function{
	routes.FunctionHealth: {MemoryMB: 128, TimeoutSeconds: 5},
	// auth (sign-up, sign-in, reset) and invites (accept, join) hash
	// passwords: argon2id with 19 MiB and 2 passes is about 30 ms of one
	// full core (go test -bench . ./pkg/password/). Lambda gives a full
	// vCPU at 1,769 MB and a share in proportion below; at 1,024 MB a
	// sign-in hashes in about 55 ms instead of about 210 ms at 256 MB, for
	// the same GB-seconds (four times the memory, a quarter of the time).
	routes.FunctionAuth:    {MemoryMB: 1024, TimeoutSeconds: 10},
	routes.FunctionInvites: {MemoryMB: 1024, TimeoutSeconds: 10},
	// users answers POST /v1/users/import: up to 1,000 member
	// transactions, 8 at a time (about 10 s for 1,000 rows on DynamoDB
	// Local); the timeout is the gateway's, less a second.
	routes.FunctionUsers: {MemoryMB: 256, TimeoutSeconds: 29},
	// The alert job's scheduled run only lists the accounts and enqueues
	// them (seconds for thousands); each task invocation plans and sends
	// one account, which the benchmark (pkg/alerts) measures at well under
	// a second and a few MB for 10,000 items. The timeout bounds one
	// account's run (the work queue hides a task twice as long).
	routes.FunctionAlertsJob: {MemoryMB: 512, TimeoutSeconds: 600},
	// The event publisher reads a stream batch of up to 100 audit items,
	// puts their events on the bus (ten per PutEvents) and looks up each
	// account's webhook endpoints (one Query) to enqueue their deliveries:
	// a few seconds at most; the minute leaves room for throttled retries
	// of EventBridge and SQS before the stream retries the batch.
	routes.FunctionEventPublisher: {MemoryMB: 256, TimeoutSeconds: 60},
	// A webhook delivery is one HTTP attempt with a 10 s timeout plus a
	// few table writes; 30 s bounds it (the queue hides a message six
	// times as long).
	routes.FunctionWebhookDelivery: {MemoryMB: 256, TimeoutSeconds: 30},
}

// For returns the sizing of the named function.
func For(function string) Function {
	if s, ok := functionSettings[function]; ok {
		return s
	}
	return Default
}

// Command workflow is the approval state machine's step Lambda: Step
// Functions invokes it for every step (prepare, await, expire, finalize)
// of pkg/workflow, which runs pkg/approvals' steps.
package main

import "github.com/stewardhq/steward/pkg/app"

func main() { app.StartWorkflowLambda() }

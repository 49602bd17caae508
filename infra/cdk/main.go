// Command cdk is Steward's AWS CDK app. cdk.json at the repository root
// runs it (`go run ./infra/cdk`) from the root; the stack itself is built
// by package stack from the CDK context (see stack.PropsFromContext).
//
// Run directly, without the CDK CLI, it reads the context of cdk.json itself
// and synthesizes into ./cdk.out under the repository root; under the CLI
// it writes where CDK_OUTDIR says.
//
// With context nag=true (`cdk synth -c nag=true`) it also runs cdk-nag's
// AWS Solutions checks: an unsuppressed finding is an error annotation,
// which fails the synth (the template tests always run them). The CDK
// CLI is pinned in infra/cdk/_cli/package.json.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/infra/cdk/stack"
)

func main() {
	defer jsii.Close()

	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	appProps := &awscdk.AppProps{}
	if os.Getenv("CDK_OUTDIR") == "" {
		// Not under the CDK CLI: write where the CLI would, and apply
		// cdk.json's context (defaults and feature flags) as the CLI
		// would, so both synthesize the same template.
		appProps.Outdir = jsii.String(filepath.Join(root, "cdk.out"))
		if os.Getenv("CDK_CONTEXT_JSON") == "" {
			ctx, err := stack.CDKJSONContext(filepath.Join(root, "cdk.json"))
			if err != nil && !os.IsNotExist(err) {
				fail(err)
			}
			if ctx != nil {
				appProps.Context = &ctx
			}
		}
	}
	app := awscdk.NewApp(appProps)

	props, err := stack.PropsFromContext(app, root)
	if err != nil {
		fail(err)
	}
	nag, err := stack.ContextBool(app, stack.ContextNag)
	if err != nil {
		fail(err)
	}
	if nag {
		stack.AddNagChecks(app)
	}
	if err := props.Validate(); err != nil {
		fail(err)
	}
	stack.NewStewardStack(app, stack.StackName(props.Stage), props)
	app.Synth(nil)
}

// repoRoot is the nearest directory, from the working directory up, that
// holds cdk.json; the working directory itself if none does.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "cdk.json")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return wd, nil
		}
		dir = parent
	}
}

// fail prints err and exits with status 1.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "steward cdk:", err)
	jsii.Close()
	os.Exit(1)
}

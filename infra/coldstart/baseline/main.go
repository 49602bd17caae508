// Command baseline is infra/coldstart's floor: a Lambda function with no
// init of its own that echoes its event, built like Steward's functions.
// Its cold start is exec, the Go runtime and aws-lambda-go's runtime
// client; the difference to a Steward function is Steward's init.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) { return ev, nil })
}

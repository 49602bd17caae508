// Command keys manages the access-token signing keys in AWS Secrets
// Manager: `make keys SECRET=<arn>` writes a first key set into the
// secret the CDK app created (and does nothing when it holds one);
// `make keys SECRET=<arn> ROTATE=1` makes a new current key and keeps the
// previous ones, so that tokens signed before the rotation stay valid
// until they expire. Functions read the secret at cold start: after a
// rotation, new cold starts sign with the new key, and every function
// still verifies the old one.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/stewardhq/steward/pkg/accesstoken"
)

func main() {
	secret := flag.String("secret", "", "ARN or name of the signing-key secret (stack output or console)")
	rotate := flag.Bool("rotate", false, "make a new current key, keeping the previous ones")
	flag.Parse()
	if err := run(context.Background(), *secret, *rotate); err != nil {
		fmt.Fprintln(os.Stderr, "keys:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, secret string, rotate bool) error {
	if secret == "" {
		return errors.New("give the secret: make keys SECRET=<arn>")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	var ks accesstoken.KeySet
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secret)})
	var notFound *types.ResourceNotFoundException
	existing := err == nil && json.Unmarshal([]byte(aws.ToString(out.SecretString)), &ks) == nil && ks.Validate() == nil
	switch {
	case err != nil && !errors.As(err, &notFound):
		return fmt.Errorf("read secret: %w", err)
	case existing && !rotate:
		if !ks.EnsureCursorKey() {
			fmt.Printf("the secret already holds a key set (current key %s); nothing to do\n", ks.Current.ID)
			return nil
		}
		fmt.Println("the key set had no cursor key (written by an older release): adding one")
	case existing:
		if err := ks.Rotate(); err != nil {
			return err
		}
		ks.EnsureCursorKey()
	default:
		if ks, err = accesstoken.NewKeySet(); err != nil {
			return err
		}
	}
	raw, err := json.Marshal(ks)
	if err != nil {
		return err
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(secret), SecretString: aws.String(string(raw))}); err != nil {
		return fmt.Errorf("write secret: %w", err)
	}
	fmt.Printf("current signing key is %s (%d previous kept)\n", ks.Current.ID, len(ks.Previous))
	return nil
}

// Command keys manages the access-token keys in AWS Secrets Manager, in
// the two secrets the CDK app created:
//
//   - SigningKeysSecret: the private key set (accesstoken.KeySet: the
//     current signing key, the previous ones, the cursor key), read only by
//     the functions that sign tokens (routes.SignsTokens);
//   - VerifyKeysSecret: its public keys and the cursor key
//     (accesstoken.PublicKeys), read by every other function.
//
// `make keys SECRET=<signing arn> VERIFY_SECRET=<verify arn>` writes a
// first key set (and does nothing to a secret that already holds the
// right value); `ROTATE=1` makes a new current key and keeps the previous
// ones, so that tokens signed before the rotation stay valid until they
// expire. The public keys are written before the private ones, so no
// function can sign with a key the verifying functions were not given.
// Functions read their secret at cold start.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/stewardhq/steward/pkg/accesstoken"
)

func main() {
	secret := flag.String("secret", "", "ARN or name of the signing-key secret (stack output SigningKeysSecret)")
	verify := flag.String("verify-secret", "", "ARN or name of the verify-key secret (stack output VerifyKeysSecret)")
	rotate := flag.Bool("rotate", false, "make a new current key, keeping the previous ones")
	flag.Parse()
	if err := checkArgs(*secret, *verify); err != nil {
		fmt.Fprintln(os.Stderr, "keys:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		err = run(ctx, secretsmanager.NewFromConfig(cfg), *secret, *verify, *rotate, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "keys:", err)
		os.Exit(1)
	}
}

func checkArgs(secret, verify string) error {
	if secret == "" || verify == "" {
		return errors.New("give both secrets (the stack outputs): make keys SECRET=<SigningKeysSecret> VERIFY_SECRET=<VerifyKeysSecret>")
	}
	if secret == verify {
		return errors.New("SECRET and VERIFY_SECRET name the same secret: the verifying functions would read the private keys")
	}
	return nil
}

// secrets is the part of Secrets Manager the command uses.
type secrets interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// read returns the secret's current string, "" when it has no value yet.
func read(ctx context.Context, sm secrets, id string) (string, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		// A secret created without a value has no version to read yet.
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read %s: %w", id, err)
	}
	return aws.ToString(out.SecretString), nil
}

func write(ctx context.Context, sm secrets, id string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(string(raw))}); err != nil {
		return fmt.Errorf("write %s: %w", id, err)
	}
	return nil
}

func run(ctx context.Context, sm secrets, secret, verify string, rotate bool, out io.Writer) error {
	if err := checkArgs(secret, verify); err != nil {
		return err
	}
	raw, err := read(ctx, sm, secret)
	if err != nil {
		return err
	}
	var ks accesstoken.KeySet
	existing := raw != "" && json.Unmarshal([]byte(raw), &ks) == nil && ks.Validate() == nil
	changed := true
	switch {
	case existing && !rotate:
		changed = ks.EnsureCursorKey()
		if changed {
			fmt.Fprintln(out, "the key set had no cursor key (written by an older release): adding one")
		}
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

	// The public keys first: a signing function that cold-starts after
	// the private secret changes signs with a key every verifying
	// function's next cold start already knows.
	want := ks.Public()
	rawPub, err := read(ctx, sm, verify)
	if err != nil {
		return err
	}
	var have accesstoken.PublicKeys
	if rawPub == "" || json.Unmarshal([]byte(rawPub), &have) != nil || !reflect.DeepEqual(have, want) {
		if err := write(ctx, sm, verify, want); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote the public keys (%d) and the cursor key to the verify-key secret\n", len(want.Keys))
	}
	if !changed {
		fmt.Fprintf(out, "the signing-key secret already holds a key set (current key %s); nothing to do\n", ks.Current.ID)
		return nil
	}
	if err := write(ctx, sm, secret, ks); err != nil {
		return err
	}
	fmt.Fprintf(out, "current signing key is %s (%d previous kept)\n", ks.Current.ID, len(ks.Previous))
	return nil
}

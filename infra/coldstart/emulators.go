package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/infra/localstack"
	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/store"
)

// region is the AWS region of the emulators and of the function processes.
const region = "us-east-1"

// motoAccountID is the account moto puts every resource in.
const motoAccountID = "123456789012"

// backend is what the function processes run against: the three
// emulators, a fresh table and a signing-key secret of this run.
type backend struct {
	DynamoDB, SES, Moto string // endpoints
	Table               string
	SecretARN           string
	// VerifySecretARN holds the key set's public keys and cursor key,
	// what the functions that only verify tokens read.
	VerifySecretARN string

	started []*emulator.Process // stopped by Close
	db      *dynamodb.Client
	sm      *secretsmanager.Client
}

// emulatorSpec is one emulator: reused from infra/testrun's variable (env,
// whose value is url), or started here.
type emulatorSpec struct {
	name     string
	env, url string
	start    func(context.Context, emulator.Options) (*emulator.Process, error)
	dst      *string
}

// startBackend reuses the emulators infra/testrun exported
// (STEWARD_TEST_*_URL) and starts the others on free ports of 127.0.0.1
// (DynamoDB Local in memory), then creates the table (store.EnsureTable)
// and the signing-key secret. log receives the emulators' output and
// progress lines.
func startBackend(ctx context.Context, root string, log, progress io.Writer) (*backend, error) {
	settings, err := localstack.FromEnv(root, os.Getenv)
	if err != nil {
		return nil, err
	}
	b := &backend{}
	specs := []emulatorSpec{
		{emulator.NameDynamoDB, localstack.EnvReuseDynamoDB, settings.Reuse.DynamoDB, emulator.StartDynamoDB, &b.DynamoDB},
		{emulator.NameSES, localstack.EnvReuseSES, settings.Reuse.SES, emulator.StartSES, &b.SES},
		{emulator.NameMoto, localstack.EnvReuseMoto, settings.Reuse.Moto, emulator.StartMoto, &b.Moto},
	}
	var missing []emulatorSpec
	for _, s := range specs {
		if s.url == "" {
			missing = append(missing, s)
			continue
		}
		if err := reachable(ctx, s.url); err != nil {
			return nil, fmt.Errorf("%s=%s does not answer (did infra/testrun stop?): %w", s.env, s.url, err)
		}
		*s.dst = s.url
		fmt.Fprintf(progress, "%s: %s (reused from %s)\n", s.name, s.url, s.env)
	}
	if len(missing) > 0 {
		if err := emulator.EnsureInstalled(ctx, root, progress); err != nil {
			return nil, err
		}
		procs := make([]*emulator.Process, len(missing))
		errs := make([]error, len(missing))
		var wg sync.WaitGroup
		for i, s := range missing {
			wg.Add(1)
			go func() {
				defer wg.Done()
				procs[i], errs[i] = s.start(ctx, emulator.Options{Root: root, Log: log, ReadyTimeout: 90 * time.Second})
			}()
		}
		wg.Wait()
		for i, p := range procs {
			if p != nil {
				b.started = append(b.started, p)
				*missing[i].dst = p.URL
				fmt.Fprintf(progress, "%s: %s (pid %d, ready in %s)\n", p.Name, p.URL, p.PID, p.StartTime.Round(time.Millisecond))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, errors.Join(err, b.Close())
		}
	}
	if err := b.provision(ctx); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	return b, nil
}

// provision creates this run's table and signing-key secret.
func (b *backend) provision(ctx context.Context) error {
	suffix := randomHex(6)
	cfg, err := awsclient.LoadConfig(ctx, region, awsclient.Endpoints{DynamoDB: b.DynamoDB})
	if err != nil {
		return err
	}
	b.db = awsclient.DynamoDB(cfg, b.DynamoDB)
	table := "steward-coldstart-" + suffix
	if err := store.EnsureTable(ctx, b.db, table); err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	b.Table = table

	// The key set as `make keys` (infra/keys) writes it, cursor key
	// included: the API functions take their cursor key from it, as in
	// production (no STEWARD_CURSOR_KEY); health and the workers use a
	// per-process one.
	ks, err := accesstoken.NewKeySet()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(ks)
	if err != nil {
		return err
	}
	b.sm = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(b.Moto) })
	out, err := b.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("steward-coldstart-signing-keys-" + suffix),
		SecretString: aws.String(string(raw)),
	})
	if err != nil {
		return fmt.Errorf("create the signing-key secret in moto: %w", err)
	}
	b.SecretARN = aws.ToString(out.ARN)
	raw, err = json.Marshal(ks.Public())
	if err != nil {
		return err
	}
	out, err = b.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("steward-coldstart-verify-keys-" + suffix),
		SecretString: aws.String(string(raw)),
	})
	if err != nil {
		return fmt.Errorf("create the verify-key secret in moto: %w", err)
	}
	b.VerifySecretARN = aws.ToString(out.ARN)
	return nil
}

// Close deletes the table and the secret (they may live in shared
// emulators) and stops the emulators started here, by PID.
func (b *backend) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var errs []error
	if b.Table != "" {
		if _, err := b.db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(b.Table)}); err != nil {
			errs = append(errs, fmt.Errorf("delete table %s: %w", b.Table, err))
		}
	}
	for _, arn := range []string{b.SecretARN, b.VerifySecretARN} {
		if arn == "" {
			continue
		}
		if _, err := b.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
			errs = append(errs, fmt.Errorf("delete secret: %w", err))
		}
	}
	stopErrs := make([]error, len(b.started))
	var wg sync.WaitGroup
	for i, p := range b.started {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopErrs[i] = p.Stop()
		}()
	}
	wg.Wait()
	return errors.Join(append(errs, stopErrs...)...)
}

// reachable reports whether anything answers HTTP at url.
func reachable(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return fmt.Sprintf("%x", b)
}

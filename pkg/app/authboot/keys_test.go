package authboot

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/routes"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Only the functions that sign tokens load the private key set; every
// other function reads the public keys alone (from its own secret in AWS,
// derived from the local key set by make invoke) and holds no private key.
func TestFunctionsLoadOnlyTheKeysTheyNeed(t *testing.T) {
	ctx := context.Background()
	m := testenv.Moto(t)
	awsCfg, err := awsclient.LoadConfig(ctx, testenv.Region, awsclient.Endpoints{StepFunctions: m.URL})
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(m.URL) })
	ks, err := accesstoken.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, v any) string {
		raw, _ := json.Marshal(v)
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(testenv.NewID(name)), SecretString: aws.String(string(raw))})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ARN)
	}
	signing := create("signing", ks)
	verify := create("verify", ks.Public())
	client := func() SecretReader { return sm }

	signers := map[string]bool{routes.FunctionAuth: true, routes.FunctionUsers: true, routes.FunctionInvites: true}
	for _, fn := range routes.Functions() {
		if fn == routes.FunctionHealth {
			continue
		}
		// A verifying function is given only the verify secret, as the
		// stack deploys it; a signer only the signing secret.
		cfg := config.Config{VerifyKeysSecret: verify}
		if signers[fn] {
			cfg = config.Config{SigningKeysSecret: signing}
		}
		if routes.SignsTokens(fn) != signers[fn] {
			t.Errorf("routes.SignsTokens(%q) = %v", fn, routes.SignsTokens(fn))
		}
		keys, err := loadKeys(ctx, cfg, fn, nil, client)
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		if got := keys.signing.Current.Private != nil; got != signers[fn] {
			t.Errorf("%s holds a private key: %v, want %v", fn, got, signers[fn])
		}
		if len(keys.public.Keys) != 1 || keys.public.Keys[0].Kid != ks.Current.ID || len(keys.public.CursorKey) != accesstoken.CursorKeySize {
			t.Errorf("%s public keys %+v", fn, keys.public)
		}

		// Locally (make invoke) the same split, from the one key set.
		local, err := loadKeys(ctx, config.Config{}, fn, &ks, client)
		if err != nil || (local.signing.Current.Private != nil) != signers[fn] {
			t.Errorf("%s locally: private %v, err %v", fn, local.signing.Current.Private != nil, err)
		}
	}

	// A verifying function without its secret fails at start, naming it;
	// it never falls back to the signing secret.
	if _, err := loadKeys(ctx, config.Config{SigningKeysSecret: signing}, routes.FunctionPermissions, nil, client); err == nil {
		t.Fatal("permissions started without STEWARD_VERIFY_KEYS_SECRET")
	}
	// A verifying function cannot sign.
	iss := &accesstoken.Issuer{Issuer: "https://x", Audience: "steward"}
	c := accesstoken.Claims{AccountID: "a", SessionID: "s", IdentityID: "i"}
	c.Subject = "m"
	if _, _, err := iss.Sign(c); err == nil {
		t.Fatal("an issuer without a signing key signed")
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/awsclient"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// motoSecrets is Secrets Manager in the moto emulator, with two new empty
// secrets (as the stack creates them).
func motoSecrets(t *testing.T) (*secretsmanager.Client, string, string) {
	t.Helper()
	m := testenv.Moto(t)
	cfg, err := awsclient.LoadConfig(context.Background(), testenv.Region, awsclient.Endpoints{StepFunctions: m.URL})
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(m.URL) })
	var ids []string
	for _, name := range []string{"signing", "verify"} {
		out, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(testenv.NewID(name))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.ARN))
	}
	return sm, ids[0], ids[1]
}

func readJSON(t *testing.T, sm *secretsmanager.Client, id string, v any) {
	t.Helper()
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), v); err != nil {
		t.Fatal(err)
	}
}

// make keys fills both secrets: the private key set in one, only its
// public keys and the cursor key in the other; a second run changes
// nothing; a rotation publishes the new public key and keeps the old
// ones verifying.
func TestKeysWritesPrivateAndPublicSecrets(t *testing.T) {
	sm, signing, verify := motoSecrets(t)
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, sm, signing, verify, false, &out); err != nil {
		t.Fatal(err)
	}
	var ks accesstoken.KeySet
	readJSON(t, sm, signing, &ks)
	var pub accesstoken.PublicKeys
	readJSON(t, sm, verify, &pub)
	var raw map[string]any
	readJSON(t, sm, verify, &raw)
	if s, _ := json.Marshal(raw); strings.Contains(string(s), "privateKey") || strings.Contains(string(s), "PRIVATE") {
		t.Fatalf("the verify-key secret holds a private key: %s", s)
	}
	if len(pub.Keys) != 1 || pub.Keys[0].Kid != ks.Current.ID || !bytes.Equal(pub.CursorKey, ks.CursorKey) {
		t.Fatalf("public keys %+v do not match the key set (current %s)", pub, ks.Current.ID)
	}

	// A token signed with the private set verifies with the public keys.
	iss := &accesstoken.Issuer{Keys: ks, Issuer: "https://steward.example.com", Audience: "steward"}
	c := accesstoken.Claims{AccountID: "a1", SessionID: "s1", IdentityID: "i1"}
	c.Subject = "m1"
	tok, _, err := iss.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := accesstoken.NewPublicVerifier(pub, iss.Issuer, iss.Audience)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("public verifier: %v", err)
	}

	out.Reset()
	if err := run(ctx, sm, signing, verify, false, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nothing to do") || strings.Contains(out.String(), "wrote") {
		t.Fatalf("second run: %s", out.String())
	}

	if err := run(ctx, sm, signing, verify, true, &out); err != nil {
		t.Fatal(err)
	}
	var rotated accesstoken.KeySet
	readJSON(t, sm, signing, &rotated)
	var pub2 accesstoken.PublicKeys
	readJSON(t, sm, verify, &pub2)
	if rotated.Current.ID == ks.Current.ID || len(pub2.Keys) != 2 || pub2.Keys[0].Kid != rotated.Current.ID || pub2.Keys[1].Kid != ks.Current.ID {
		t.Fatalf("after rotation: current %s, public %+v", rotated.Current.ID, pub2.Keys)
	}
	v2, err := accesstoken.NewPublicVerifier(pub2, iss.Issuer, iss.Audience)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(tok); err != nil {
		t.Fatalf("a token of the previous key after rotation: %v", err)
	}
}

// An upgrade from the single-secret release: the signing secret holds a
// key set, the verify secret is empty; make keys fills the verify secret
// and leaves the key set as it is.
func TestKeysFillsVerifySecretOnUpgrade(t *testing.T) {
	sm, signing, verify := motoSecrets(t)
	ctx := context.Background()
	ks, err := accesstoken.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	if err := write(ctx, sm, signing, ks); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, sm, signing, verify, false, &out); err != nil {
		t.Fatal(err)
	}
	var after accesstoken.KeySet
	readJSON(t, sm, signing, &after)
	var pub accesstoken.PublicKeys
	readJSON(t, sm, verify, &pub)
	if after.Current.ID != ks.Current.ID || len(pub.Keys) != 1 || pub.Keys[0].Kid != ks.Current.ID {
		t.Fatalf("upgrade: current %s -> %s, public %+v\n%s", ks.Current.ID, after.Current.ID, pub.Keys, out.String())
	}
}

func TestKeysRefusesOneSecretForBoth(t *testing.T) {
	for _, args := range [][2]string{{"", "v"}, {"s", ""}, {"same", "same"}} {
		if err := checkArgs(args[0], args[1]); err == nil {
			t.Errorf("checkArgs(%q, %q) accepted", args[0], args[1])
		}
	}
}

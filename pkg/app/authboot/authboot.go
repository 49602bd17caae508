// Package authboot builds what every function with authenticated routes
// shares, once per cold start: the token keys (the private key set only
// where tokens are signed, routes.SignsTokens), the verifier, the store
// with the cursor key every instance shares, and the auth service that
// authenticates requests. Health and the workers do not import it, nor
// the Secrets Manager client it uses.
package authboot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/throttle"
)

// Base is an authenticated function's shared part.
type Base struct {
	*boot.Env
	// Store seals cursors with the shared cursor key.
	Store *store.Store
	// Auth authenticates requests; it signs tokens only in a function
	// that signs (routes.SignsTokens), and sends no email until a
	// function that needs it sets its Mail (pkg/app/mailboot).
	Auth *auth.Service
	// Throttle is each account's share of the API (nil when
	// STEWARD_ACCOUNT_RATE_LIMIT is off).
	Throttle *throttle.Accounts
}

// New builds the base of e's function. local, when set, is the local key
// set (the local stack, make invoke, tests) used instead of the secrets.
func New(ctx context.Context, e *boot.Env, local *accesstoken.KeySet) (*Base, error) {
	cfg := e.Config
	keys, err := loadKeys(ctx, cfg, e.Function, local, func() SecretReader { return secretsmanager.NewFromConfig(e.AWS) })
	if err != nil {
		return nil, err
	}
	verifier, err := accesstoken.NewPublicVerifier(keys.public, cfg.Issuer, cfg.Audience)
	if err != nil {
		return nil, err
	}
	// Cursors must open in every function and every instance: the key
	// comes from the configuration (the local stack) or the key secret.
	cursorKey := cfg.CursorKey
	if len(cursorKey) == 0 {
		if cursorKey = keys.public.CursorKey; len(cursorKey) == 0 {
			return nil, errors.New("the key secret holds no cursor key: run make keys SECRET=<arn> VERIFY_SECRET=<arn>")
		}
	}
	st, err := e.Store(cursorKey)
	if err != nil {
		return nil, err
	}
	if cfg.Issuer == "" || cfg.PublicURL == "" {
		return nil, errors.New("STEWARD_PUBLIC_URL (and STEWARD_ISSUER, which defaults to it) must be set")
	}
	var th *throttle.Accounts
	if cfg.AccountRateLimit >= 0 {
		th = &throttle.Accounts{Counter: st, Rate: cfg.AccountRateLimit, Log: e.Logger}
	}
	return &Base{Env: e, Store: st, Throttle: th, Auth: &auth.Service{
		Store:     st,
		Issuer:    &accesstoken.Issuer{Keys: keys.signing, Issuer: cfg.Issuer, Audience: cfg.Audience},
		Verifier:  verifier,
		PublicURL: cfg.PublicURL,
		// Zero means the defaults.
		SessionLifetime: cfg.SessionLifetime,
		SessionIdle:     cfg.SessionIdle,
		MailCaps:        auth.MailCaps{PerRecipient: cfg.MailCapPerRecipient, PerAddress: cfg.MailCapPerAddress},
	}}, nil
}

// Handler mounts the function's routes with the operations of ops
// (merged), authenticated by b.Auth.
func (b *Base) Handler(ops ...router.Operations) (http.Handler, error) {
	all := router.Operations{}
	for _, o := range ops {
		maps.Copy(all, o)
	}
	return b.Env.Handler(all, router.Options{Store: b.Store, Guard: Guard{b.Auth}, Throttle: b.routerThrottle()})
}

// routerThrottle is b.Throttle as the router's option (a nil interface
// when off).
func (b *Base) routerThrottle() router.Throttle {
	if b.Throttle == nil {
		return nil
	}
	return b.Throttle
}

// Guard is the router's authentication by an auth service.
type Guard struct{ Auth *auth.Service }

// Authenticate is auth.Service.Authenticate.
func (g Guard) Authenticate(next http.Handler) http.Handler { return g.Auth.Authenticate(next) }

// RefuseImpersonated is auth.RefuseImpersonated.
func (Guard) RefuseImpersonated(next http.Handler) http.Handler {
	return auth.RefuseImpersonated(next)
}

// Caller is the authenticated principal's account and member.
func (Guard) Caller(r *http.Request) (accountID, memberID string) {
	p := auth.FromContext(r.Context())
	return p.AccountID(), p.Member.ID
}

// StartAPI is the whole main of an authenticated API function: the
// environment and the base, then wire (the function's own services and
// their operations), built once, then the Lambda runtime loop.
func StartAPI(function string, wire func(b *Base) ([]router.Operations, error)) {
	boot.StartAPI(function, func(ctx context.Context, e *boot.Env) (http.Handler, error) {
		b, err := New(ctx, e, nil)
		if err != nil {
			return nil, err
		}
		ops, err := wire(b)
		if err != nil {
			return nil, err
		}
		return b.Handler(ops...)
	})
}

// SecretReader is the one Secrets Manager call Steward makes.
type SecretReader interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// tokenKeys are the access-token keys a function holds: the private key
// set only when it signs tokens (routes.SignsTokens), the public keys and
// the cursor key always.
type tokenKeys struct {
	signing accesstoken.KeySet
	public  accesstoken.PublicKeys
}

// loadKeys returns the function's token keys. A function that signs reads
// the private key set (the local one when given, else the secret
// STEWARD_SIGNING_KEYS_SECRET); every other function reads only the public
// keys (derived from the local key set, else the secret
// STEWARD_VERIFY_KEYS_SECRET), so that a function that only verifies never
// holds a private key, locally (make invoke) as in AWS.
func loadKeys(ctx context.Context, cfg config.Config, function string, local *accesstoken.KeySet, client func() SecretReader) (tokenKeys, error) {
	signs := routes.SignsTokens(function)
	if local != nil {
		if signs {
			return tokenKeys{signing: *local, public: local.Public()}, nil
		}
		return tokenKeys{public: local.Public()}, nil
	}
	if signs {
		if cfg.SigningKeysSecret == "" {
			return tokenKeys{}, errors.New("STEWARD_SIGNING_KEYS_SECRET is not set")
		}
		var ks accesstoken.KeySet
		if err := readSecret(ctx, client(), cfg.SigningKeysSecret, &ks); err != nil {
			return tokenKeys{}, fmt.Errorf("signing keys: %w", err)
		}
		return tokenKeys{signing: ks, public: ks.Public()}, nil
	}
	if cfg.VerifyKeysSecret == "" {
		return tokenKeys{}, errors.New("STEWARD_VERIFY_KEYS_SECRET is not set")
	}
	var pk accesstoken.PublicKeys
	if err := readSecret(ctx, client(), cfg.VerifyKeysSecret, &pk); err != nil {
		return tokenKeys{}, fmt.Errorf("verify keys: %w", err)
	}
	return tokenKeys{public: pk}, nil
}

// readSecret decodes the JSON value of a secret into v.
func readSecret(ctx context.Context, sm SecretReader, id string, v any) error {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("read %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), v); err != nil {
		return fmt.Errorf("the secret %s holds no key set (run make keys): %w", id, err)
	}
	return nil
}

package accesstoken

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stewardhq/steward/pkg/clock"
)

// DefaultTTL is an access token's lifetime when Issuer.TTL is zero.
const DefaultTTL = 15 * time.Minute

// Leeway is the clock skew Verify tolerates on exp, nbf and iat.
const Leeway = 30 * time.Second

// maxTokenLen bounds the input Verify parses. Steward's tokens are about
// 700 bytes; anything near this is not one of them.
const maxTokenLen = 8 << 10

// ErrInvalidToken is the one error Verify returns, for every reason a
// token is not accepted. The wrapped detail (errors.Is works with the
// jwt package's sentinel errors such as jwt.ErrTokenExpired) is for logs,
// never for the response.
var ErrInvalidToken = errors.New("accesstoken: invalid token")

// Actor is the RFC 8693 "act" claim: the member really acting when an
// admin impersonates another member.
type Actor struct {
	// Subject is the impersonating member's id.
	Subject string `json:"sub"`
}

// Claims are an access token's claims. Subject is the member id; the
// registered claims iss, aud, exp, iat, nbf and jti are set by Sign.
type Claims struct {
	jwt.RegisteredClaims
	// AccountID ("acc") is the member's account.
	AccountID string `json:"acc"`
	// SessionID ("sid") is the login session, which refresh tokens and
	// logout act on.
	SessionID string `json:"sid"`
	// IdentityID ("idn") is the person's identity (email and password)
	// behind the member.
	IdentityID string `json:"idn"`
	// Actor ("act") is set only while an admin impersonates the member.
	Actor *Actor `json:"act,omitempty"`
}

// check reports a missing Steward claim.
func (c *Claims) check() error {
	switch {
	case c.Subject == "":
		return errors.New("missing sub")
	case c.AccountID == "":
		return errors.New("missing acc")
	case c.SessionID == "":
		return errors.New("missing sid")
	case c.IdentityID == "":
		return errors.New("missing idn")
	case c.Actor != nil && c.Actor.Subject == "":
		return errors.New("act without sub")
	case c.Actor != nil && c.Actor.Subject == c.Subject:
		return errors.New("act.sub equals sub")
	}
	return nil
}

// Issuer signs access tokens with the current key of Keys.
type Issuer struct {
	// Keys holds the signing key (Current).
	Keys KeySet
	// Issuer is the "iss" claim: Steward's public base URL, the one that
	// serves /.well-known/openid-configuration.
	Issuer string
	// Audience is the "aud" claim.
	Audience string
	// TTL is the token lifetime; zero means DefaultTTL.
	TTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now clock.Clock
}

// Sign returns a signed token for c and its expiry. It sets iss, aud,
// iat, nbf and exp, and jti unless c has one; sub, acc, sid and idn must
// be set by the caller. The header carries the current key's kid.
func (is *Issuer) Sign(c Claims) (string, time.Time, error) {
	if is.Issuer == "" || is.Audience == "" {
		return "", time.Time{}, errors.New("accesstoken: issuer and audience must be set")
	}
	if err := c.check(); err != nil {
		return "", time.Time{}, fmt.Errorf("accesstoken: sign: %w", err)
	}
	key := is.Keys.Current
	if key.Private == nil {
		return "", time.Time{}, errors.New("accesstoken: this function holds no signing key (it only verifies tokens; see routes.SignsTokens)")
	}
	if err := key.check(); err != nil {
		return "", time.Time{}, err
	}
	now := is.Now.Now
	ttl := is.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	// NumericDate has one-second precision; truncate so that the returned
	// expiry is exactly the token's.
	iat := now().Truncate(time.Second)
	exp := iat.Add(ttl)
	c.Issuer = is.Issuer
	c.Audience = jwt.ClaimStrings{is.Audience}
	c.IssuedAt = jwt.NewNumericDate(iat)
	c.NotBefore = jwt.NewNumericDate(iat)
	c.ExpiresAt = jwt.NewNumericDate(exp)
	if c.ID == "" {
		c.ID = randomID()
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.Private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("accesstoken: sign: %w", err)
	}
	return s, exp, nil
}

// randomID returns 128 random bits, base64url: a token's jti.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails; see crypto/rand.Read
	return b64(b[:])
}

// Verifier checks access tokens against the public keys of a KeySet.
type Verifier struct {
	issuer   string
	audience string
	keys     map[string]*rsa.PublicKey
	// Now returns the current time; nil means time.Now.
	Now clock.Clock
}

// NewVerifier returns a Verifier that accepts tokens signed by the
// current or a previous key of ks, issued by issuer for audience.
func NewVerifier(ks KeySet, issuer, audience string) *Verifier {
	v := &Verifier{issuer: issuer, audience: audience, keys: map[string]*rsa.PublicKey{}}
	for _, k := range ks.Keys() {
		if k.ID != "" && k.Private != nil {
			v.keys[k.ID] = &k.Private.PublicKey
		}
	}
	return v
}

// Verify parses and checks token and returns its claims. It accepts only
// RS256 signatures by a key whose kid is in the key set, with the
// expected iss and aud, within exp/nbf/iat (Leeway tolerated), and with
// sub, jti, acc, sid and idn present. Every failure is ErrInvalidToken,
// wrapping the reason.
func (v *Verifier) Verify(token string) (*Claims, error) {
	c, err := v.verify(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return c, nil
}

func (v *Verifier) verify(token string) (*Claims, error) {
	if v.issuer == "" || v.audience == "" || len(v.keys) == 0 {
		return nil, errors.New("verifier not configured")
	}
	if len(token) > maxTokenLen {
		return nil, errors.New("token too long")
	}
	now := v.Now.Now
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)
	var c Claims
	_, err := p.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		// WithValidMethods already limits alg; check again so that this
		// function never hands an RSA key to another method.
		if t.Method != jwt.SigningMethodRS256 {
			return nil, fmt.Errorf("alg %v not accepted", t.Header["alg"])
		}
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New("crit header not supported")
		}
		kid, ok := t.Header["kid"].(string)
		if !ok || kid == "" {
			return nil, errors.New("missing kid")
		}
		key, ok := v.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return key, nil
	})
	if err != nil {
		return nil, err
	}
	if c.IssuedAt == nil {
		return nil, errors.New("missing iat")
	}
	if c.ID == "" {
		return nil, errors.New("missing jti")
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

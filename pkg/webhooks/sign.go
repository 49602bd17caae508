package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// SecretPrefix starts every signing secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// NewSecret returns a new signing secret: "whsec_" and the base64 of 32
// random bytes.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// Standard Webhooks headers.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// Sign returns the headers of one attempt: webhook-id (the event id, the
// same on every retry), webhook-timestamp (the attempt's unix seconds)
// and webhook-signature ("v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" under the secret).
func Sign(secret, id string, at time.Time, body []byte) (map[string]string, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		// The error may quote nothing of the secret, but say little.
		return nil, fmt.Errorf("webhook secret is malformed")
	}
	sig, err := wh.Sign(id, at, body)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return map[string]string{
		HeaderID:        id,
		HeaderTimestamp: strconv.FormatInt(at.Unix(), 10),
		HeaderSignature: sig,
	}, nil
}

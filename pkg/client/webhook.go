package client

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// WebhookTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way (the Standard Webhooks libraries' default).
const WebhookTolerance = 5 * time.Minute

// The errors of VerifyWebhook, for errors.Is: the Standard Webhooks
// library's own.
var (
	// ErrWebhookHeaders: webhook-id, webhook-timestamp or
	// webhook-signature is missing, or the timestamp is not a number.
	ErrWebhookHeaders = standardwebhooks.ErrRequiredHeaders
	// ErrWebhookSignature: no signature in webhook-signature matches.
	ErrWebhookSignature = standardwebhooks.ErrNoMatchingSignature
	// ErrWebhookTooOld and ErrWebhookTooNew: the timestamp is more than
	// WebhookTolerance before or after now (a replay, or a skewed clock).
	ErrWebhookTooOld = standardwebhooks.ErrMessageTooOld
	ErrWebhookTooNew = standardwebhooks.ErrMessageTooNew
)

// VerifyWebhook checks that a webhook request came from Steward, per the
// Standard Webhooks specification: one of the signatures in its
// webhook-signature header (several while a secret rotates) is the
// HMAC-SHA256, keyed with the endpoint's secret ("whsec_" and base64), of
// "<webhook-id>.<webhook-timestamp>.<body>", and webhook-timestamp is
// within WebhookTolerance of now. body must be the raw bytes received (JSON
// decoded and encoded again does not verify); header names may be in any
// letter case. It answers nil, or an error wrapping ErrWebhookHeaders,
// ErrWebhookSignature, ErrWebhookTooOld, ErrWebhookTooNew or
// (standardwebhooks.ErrInvalidHeaders) a timestamp that is not a number,
// or one saying the secret is not base64.
func VerifyWebhook(secret string, headers http.Header, body []byte) error {
	return verifyWebhook(secret, headers, body, time.Now())
}

// verifyWebhook is VerifyWebhook as of now. The library checks the
// timestamp against its own clock, so the signature is checked by the
// library without it, and the timestamp here, by the same rule.
func verifyWebhook(secret string, headers http.Header, body []byte, now time.Time) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return fmt.Errorf("webhook secret: %w", err)
	}
	// http.Header.Get finds only canonical keys; a map built by hand (or
	// from an event of a Lambda function URL) may have lower-case ones.
	h := make(http.Header, len(headers))
	for k, v := range headers {
		k = http.CanonicalHeaderKey(k)
		h[k] = append(h[k], v...)
	}
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		return err
	}
	// Parsed by the library already.
	sec, err := strconv.ParseInt(h.Get(standardwebhooks.HeaderWebhookTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("unable to verify payload, err: %w", standardwebhooks.ErrInvalidHeaders)
	}
	switch ts := time.Unix(sec, 0); {
	case now.Sub(ts) > WebhookTolerance:
		return fmt.Errorf("unable to verify payload, err: %w", ErrWebhookTooOld)
	case ts.Sub(now) > WebhookTolerance:
		return fmt.Errorf("unable to verify payload, err: %w", ErrWebhookTooNew)
	}
	return nil
}

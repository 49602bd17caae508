package client

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks libraries' published test vector (the same in
// every language's tests: libraries/go/webhook_test.go TestWebhookSign).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeaders() http.Header {
	h := http.Header{}
	h.Set("webhook-id", vectorID)
	h.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp))
	h.Set("webhook-signature", vectorSignature)
	return h
}

// vectorTime is a minute after the vector was signed.
var vectorTime = time.Unix(vectorTimestamp+60, 0)

func TestVerifyWebhookPublishedVector(t *testing.T) {
	if err := verifyWebhook(vectorSecret, vectorHeaders(), []byte(vectorBody), vectorTime); err != nil {
		t.Fatalf("the published vector: %v", err)
	}
	// Lower-case keys (a map built by hand), and a second signature (a
	// secret rotating) beside the right one.
	h := http.Header{
		"webhook-id":        {vectorID},
		"webhook-timestamp": {strconv.Itoa(vectorTimestamp)},
		"webhook-signature": {"v1,Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg= " + vectorSignature},
	}
	if err := verifyWebhook(vectorSecret, h, []byte(vectorBody), vectorTime); err != nil {
		t.Fatalf("lower-case headers, two signatures: %v", err)
	}
	// The secret without its prefix is the same key.
	if err := verifyWebhook(vectorSecret[len("whsec_"):], vectorHeaders(), []byte(vectorBody), vectorTime); err != nil {
		t.Fatalf("the secret without whsec_: %v", err)
	}
	// Now, as VerifyWebhook reads the clock, the vector is years old.
	if err := VerifyWebhook(vectorSecret, vectorHeaders(), []byte(vectorBody)); !errors.Is(err, ErrWebhookTooOld) {
		t.Fatalf("the vector today: %v, want ErrWebhookTooOld", err)
	}
}

func TestVerifyWebhookRefuses(t *testing.T) {
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret"))
	with := func(k, v string) http.Header {
		h := vectorHeaders()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	for _, c := range []struct {
		name    string
		secret  string
		headers http.Header
		body    string
		now     time.Time
		want    error
	}{
		{"changed body", vectorSecret, vectorHeaders(), `{"test": 2432232315}`, vectorTime, ErrWebhookSignature},
		{"other secret", other, vectorHeaders(), vectorBody, vectorTime, ErrWebhookSignature},
		{"changed id", vectorSecret, with("webhook-id", vectorID+"x"), vectorBody, vectorTime, ErrWebhookSignature},
		{"changed timestamp", vectorSecret, with("webhook-timestamp", strconv.Itoa(vectorTimestamp+1)), vectorBody, vectorTime, ErrWebhookSignature},
		{"v1a only", vectorSecret, with("webhook-signature", "v1a"+vectorSignature[2:]), vectorBody, vectorTime, ErrWebhookSignature},
		{"no signature", vectorSecret, with("webhook-signature", ""), vectorBody, vectorTime, ErrWebhookHeaders},
		{"no id", vectorSecret, with("webhook-id", ""), vectorBody, vectorTime, ErrWebhookHeaders},
		{"timestamp not a number", vectorSecret, with("webhook-timestamp", "soon"), vectorBody, vectorTime, standardwebhooks.ErrInvalidHeaders},
		{"too old", vectorSecret, vectorHeaders(), vectorBody, time.Unix(vectorTimestamp, 0).Add(WebhookTolerance + time.Second), ErrWebhookTooOld},
		{"too new", vectorSecret, vectorHeaders(), vectorBody, time.Unix(vectorTimestamp, 0).Add(-WebhookTolerance - time.Second), ErrWebhookTooNew},
		{"secret not base64", "whsec_!!", vectorHeaders(), vectorBody, vectorTime, nil},
	} {
		err := verifyWebhook(c.secret, c.headers, []byte(c.body), c.now)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// At the edges of the tolerance it still verifies.
	for _, now := range []time.Time{time.Unix(vectorTimestamp, 0).Add(WebhookTolerance), time.Unix(vectorTimestamp, 0).Add(-WebhookTolerance)} {
		if err := verifyWebhook(vectorSecret, vectorHeaders(), []byte(vectorBody), now); err != nil {
			t.Errorf("at %v: %v", now.Sub(time.Unix(vectorTimestamp, 0)), err)
		}
	}
}

// A message signed now by the library verifies with VerifyWebhook.
func TestVerifyWebhookSignedNow(t *testing.T) {
	wh, err := standardwebhooks.NewWebhook(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"type":"member.created","data":{"id":"mem_1"}}`)
	sig, err := wh.Sign("evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Webhook-Id", "evt_1")
	h.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("Webhook-Signature", sig)
	if err := VerifyWebhook(vectorSecret, h, body); err != nil {
		t.Fatal(err)
	}
}

func TestProblemError(t *testing.T) {
	detail := "Wrong email or password."
	if got := (Problem{Status: 401, Code: "invalid_credentials", Detail: &detail}).Error(); got != "401 invalid_credentials: Wrong email or password." {
		t.Errorf("got %q", got)
	}
	if got := (Problem{Status: 404, Code: "not_found"}).Error(); got != "404 not_found" {
		t.Errorf("got %q", got)
	}
}

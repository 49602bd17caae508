package webhooks_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/stewardhq/steward/pkg/webhooks"
)

// The published vector of the Standard Webhooks libraries (libraries/
// python/tests/test_webhooks.py test_sign_function, the same inputs as the
// Go library's tests): the spec itself gives a header example without its
// secret.
func TestSignStandardVector(t *testing.T) {
	const (
		secret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id      = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		payload = `{"test": 2432232314}`
		want    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	at := time.Unix(1614265330, 0)
	h, err := webhooks.Sign(secret, id, at, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if h["webhook-signature"] != want || h["webhook-id"] != id || h["webhook-timestamp"] != "1614265330" {
		t.Fatalf("headers %v, want signature %s", h, want)
	}
	// Any time zone: the instant is what is signed.
	h2, _ := webhooks.Sign(secret, id, at.In(time.FixedZone("x", 7*3600)), []byte(payload))
	if h2["webhook-signature"] != want {
		t.Fatalf("signature depends on the zone: %s", h2["webhook-signature"])
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	hdr := http.Header{}
	for k, v := range h {
		hdr.Set(k, v)
	}
	if err := wh.VerifyIgnoringTimestamp([]byte(payload), hdr); err != nil {
		t.Fatal(err)
	}
	if err := wh.VerifyIgnoringTimestamp([]byte(payload+" "), hdr); err == nil {
		t.Fatal("a changed body verified")
	}
}

func TestNewSecret(t *testing.T) {
	a, b := webhooks.NewSecret(), webhooks.NewSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+44 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if _, err := standardwebhooks.NewWebhook(a); err != nil {
		t.Fatal(err)
	}
	if _, err := webhooks.Sign("whsec_not base64!", "id", time.Now(), nil); err == nil || strings.Contains(err.Error(), "base64!") {
		t.Fatalf("bad secret: %v", err)
	}
}

package apitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
)

// BenchmarkWebhookLatency measures the time from a change's answer (its
// transaction committed) to its webhook's arrival at a receiver on
// 127.0.0.1, over 200 changes made one after another, through the local
// pipeline (DynamoDB Local's stream read every 100 ms, the production
// publisher and deliverer, the in-process queue). It reports p50-ms and
// p99-ms; `make bench` runs it once (-benchtime 1x).
func BenchmarkWebhookLatency(b *testing.B) {
	e := New(b)
	e.StartEvents(b)
	owner := e.signup(b, newEmail("wh-latency"))
	tk := e.login(b, owner.Email, goodPassword, owner.AccountID).AccessToken
	rcv := newReceiver(b)
	var wh webhookView
	e.Call(b, "POST", "/v1/webhooks", tk, map[string]any{"url": rcv.srv.URL, "types": []string{"account.updated"}}).Want(b, http.StatusCreated, "").JSON(b, &wh)
	rcv.mu.Lock()
	rcv.secret = wh.Secret
	rcv.mu.Unlock()
	const n = 200
	for range b.N {
		etag := e.Call(b, "GET", "/v1/account", tk, nil).Want(b, http.StatusOK, "").Header.Get("ETag")
		sent := map[string]time.Time{}
		start := len(rcv.deliveries())
		for i := range n {
			name := fmt.Sprintf("Latency %d %d", time.Now().UnixNano(), i)
			res := e.Call(b, "PATCH", "/v1/account", tk, map[string]any{"name": name}, "If-Match", etag).Want(b, http.StatusOK, "")
			sent[name] = time.Now()
			etag = res.Header.Get("ETag")
		}
		testenv.Eventually(b, 60*time.Second, "every change delivered", func() error {
			if got := len(rcv.deliveries()) - start; got < n {
				return fmt.Errorf("%d of %d", got, n)
			}
			return nil
		})
		var lat []time.Duration
		for _, d := range rcv.deliveries()[start:] {
			var data struct {
				Account struct {
					Name string `json:"name"`
				} `json:"account"`
			}
			if err := json.Unmarshal(d.Data, &data); err != nil {
				b.Fatal(err)
			}
			if at, ok := sent[data.Account.Name]; ok {
				lat = append(lat, d.At.Sub(at))
			}
		}
		if len(lat) != n {
			b.Fatalf("%d latencies for %d changes", len(lat), n)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[n-1].Microseconds())/1000, "max-ms")
	}
}

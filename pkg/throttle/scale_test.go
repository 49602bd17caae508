package throttle_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/throttle"
)

// countingCounter counts the shared-counter writes (AddTraffic calls).
type countingCounter struct {
	mu     sync.Mutex
	writes int
	totals map[string]int
}

func (c *countingCounter) AddTraffic(_ context.Context, account string, start time.Time, _ time.Duration, n int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if c.totals == nil {
		c.totals = map[string]int{}
	}
	k := account + "@" + start.String()
	c.totals[k] += n
	return c.totals[k], nil
}

// At scale (10,000 accounts, most of them quiet) the throttle must not
// cost a DynamoDB write per request: the package promises "about one
// write per busy instance per second, not one per request". A quiet
// account (one request every 1.5 s, far below its 1,000-per-window
// budget) on one instance (as in Lambda, where an instance serves one
// request at a time) pays one synchronous UpdateItem per request today,
// because each request is either the first of its window or more than
// Flush after the last write. Correct: an account far below its budget
// is counted without a synchronous write on most requests.
func TestQuietAccountDoesNotPayAWritePerRequest(t *testing.T) {
	c := &countingCounter{}
	now := time.Unix(1_800_000_000, 0)
	th := &throttle.Accounts{Counter: c, Now: func() time.Time { return now }}
	const requests = 20
	for range requests {
		if _, ok := th.Allow(context.Background(), "quiet"); !ok {
			t.Fatal("a quiet account was refused")
		}
		now = now.Add(1500 * time.Millisecond)
	}
	if c.writes > requests/2 {
		t.Fatalf("%d requests of a quiet account cost %d counter writes (one per request): at 10,000 mostly quiet accounts the throttle doubles the DynamoDB requests and adds a round trip to nearly every call", requests, c.writes)
	}
}

// The per-instance state holds only the current window's accounts: with
// 10,000 accounts in one window, the next window starts empty (no growth
// in a long-lived process).
func TestStateDoesNotGrowAcrossWindows(t *testing.T) {
	c := &countingCounter{}
	now := time.Unix(1_800_000_000, 0)
	th := &throttle.Accounts{Counter: c, Now: func() time.Time { return now }}
	for i := range 10_000 {
		th.Allow(context.Background(), "a"+strconv.Itoa(i))
	}
	if n := th.Tracked(); n != 10_000 {
		t.Fatalf("tracking %d accounts in the window, want 10,000", n)
	}
	now = now.Add(throttle.DefaultWindow)
	// A new window: only the accounts seen in it are tracked.
	th.Allow(context.Background(), "a1")
	if n := th.Tracked(); n != 1 {
		t.Fatalf("tracking %d accounts after the window changed, want 1", n)
	}
}

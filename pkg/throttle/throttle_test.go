package throttle_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/throttle"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	d := testenv.DynamoDB(t)
	k := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(k)
	s, err := store.New(d.Client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// clock is a hand-moved clock shared by the instances of a test.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// Three Lambda instances share one account's budget through DynamoDB: the
// account gets its limit (less than one flush of overshoot per instance),
// its neighbour is untouched, and the next window starts afresh.
func TestAccountsShareOneBudgetAcrossInstances(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
	const rate, batch = 10, 5 // 100 requests per 10-second window
	var instances []*throttle.Accounts
	for range 3 {
		instances = append(instances, &throttle.Accounts{Counter: st, Rate: rate, FlushBatch: batch, Now: c.Now})
	}
	limit := instances[0].Limit()
	if limit != 100 {
		t.Fatalf("limit %d, want 100", limit)
	}
	busy, quiet := store.NewID("acct"), store.NewID("acct")
	allowed, refused := 0, 0
	var wait time.Duration
	for i := range 400 {
		c.now = c.now.Add(10 * time.Millisecond) // 400 requests in 4 s, one window
		w, ok := instances[i%3].Allow(ctx, busy)
		if ok {
			allowed++
		} else {
			refused++
			wait = w
		}
	}
	// Each instance acts on a total at most one flush old: it may let
	// through up to one batch the others have not shared yet.
	if allowed < limit-3*batch || allowed > limit+3*batch {
		t.Fatalf("allowed %d of 400 in one window, want %d ± %d", allowed, limit, 3*batch)
	}
	if refused == 0 || wait <= 0 || wait > 10*time.Second {
		t.Fatalf("refused %d, wait %v: want refusals that say when the window ends", refused, wait)
	}
	if _, ok := instances[1].Allow(ctx, quiet); !ok {
		t.Fatal("another account was refused: budgets are per account")
	}
	c.now = c.now.Add(10 * time.Second)
	if _, ok := instances[2].Allow(ctx, busy); !ok {
		t.Fatal("the next window refused the account")
	}
}

type failing struct{}

func (failing) AddTraffic(context.Context, string, time.Time, time.Duration, int) (int, error) {
	return 0, errors.New("ProvisionedThroughputExceededException")
}

// A counter that cannot be written never refuses: the throttle does not
// take the API down.
func TestUnsharedCountLetsRequestsThrough(t *testing.T) {
	a := &throttle.Accounts{Counter: failing{}, Rate: 1, FlushBatch: 1}
	for range 50 {
		if _, ok := a.Allow(context.Background(), "a1"); !ok {
			t.Fatal("refused while the counter fails")
		}
	}
}

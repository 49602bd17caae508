// Package throttle gives every account its own share of the API, so that
// one busy tenant (a shift start, a runaway integration) is answered 429
// while every other tenant keeps its answers.
//
// Each account may make Rate requests a second, counted over fixed windows
// of Window (default 10 s, so a burst may use the window's whole budget).
// The count is shared by every Lambda instance through one DynamoDB
// counter per account and window, but an instance does not write it on
// every request: it adds its own requests in one UpdateItem after
// FlushBatch (default 50) of them, or, once the account is past a quarter
// of its budget as far as the instance knows, at most once per Flush
// (default 1 s), and reads the total back from that same call. A quiet
// account costs no write at all; a busy one about one write per busy
// instance per second, never one per request. The count an instance acts
// on lags by at most one batch per instance: an account may pass its
// limit by at most FlushBatch requests per instance serving it in the
// window. A failed counter write lets the request through (the throttle
// never takes the API down) and is logged.
package throttle

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Counter is the shared count (pkg/store's AddTraffic).
type Counter interface {
	// AddTraffic adds n to account's counter of the window starting at
	// start and answers the counter's total.
	AddTraffic(ctx context.Context, account string, start time.Time, window time.Duration, n int) (int, error)
}

// Defaults.
const (
	DefaultRate       = 100
	DefaultWindow     = 10 * time.Second
	DefaultFlush      = time.Second
	DefaultFlushBatch = 50
)

// Accounts throttles accounts. The zero value of each setting means its
// default; Counter is required.
type Accounts struct {
	Counter Counter
	// Rate is the requests a second one account may make, on average over
	// a window.
	Rate       int
	Window     time.Duration
	Flush      time.Duration
	FlushBatch int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	Log *slog.Logger

	mu    sync.Mutex
	epoch time.Time
	state map[string]*local
}

// local is one instance's view of one account's current window.
type local struct {
	start   time.Time
	known   int // the shared total at the last flush (this instance's flushed requests included)
	pending int // this instance's requests not yet added to the shared total
	flushed time.Time
}

func (a *Accounts) settings() (rate int, window, flush time.Duration, batch int) {
	rate, window, flush, batch = a.Rate, a.Window, a.Flush, a.FlushBatch
	if rate <= 0 {
		rate = DefaultRate
	}
	if window <= 0 {
		window = DefaultWindow
	}
	if flush <= 0 {
		flush = DefaultFlush
	}
	if batch <= 0 {
		batch = DefaultFlushBatch
	}
	return
}

// Limit is an account's budget for one window.
func (a *Accounts) Limit() int {
	rate, window, _, _ := a.settings()
	return rate * int(window/time.Second)
}

// Allow counts one request of account. It answers true when the request
// may proceed, or false and how long until the account's window ends.
func (a *Accounts) Allow(ctx context.Context, account string) (time.Duration, bool) {
	_, window, flush, batch := a.settings()
	limit := a.Limit()
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	start := now.Truncate(window)

	a.mu.Lock()
	if !start.Equal(a.epoch) {
		// A new window: every account's view of the last one is stale.
		a.epoch, a.state = start, map[string]*local{}
	}
	st := a.state[account]
	if st == nil {
		st = &local{start: start}
		a.state[account] = st
	}
	if st.known+st.pending >= limit {
		a.mu.Unlock()
		return start.Add(window).Sub(now), false
	}
	st.pending++
	// Share the count when this instance has a batch of requests to add,
	// or, at most once per flush, when the account is near enough its
	// budget that the others' requests matter (a quarter of it, as far as
	// this instance knows). A quiet account costs no write at all until
	// one instance has served a batch in the window.
	near := st.known+st.pending >= limit/4
	if st.pending < batch && (!near || now.Sub(st.flushed) < flush) {
		a.mu.Unlock()
		return 0, true
	}
	n := st.pending
	st.pending, st.flushed = 0, now
	a.mu.Unlock()

	total, err := a.Counter.AddTraffic(ctx, account, start, window, n)
	if err != nil {
		if a.Log != nil {
			a.Log.Warn("throttle: count not shared; letting the request through", "account", account, "error", err.Error())
		}
		return 0, true
	}
	a.mu.Lock()
	if cur := a.state[account]; cur == st && total > st.known {
		st.known = total
	}
	a.mu.Unlock()
	// This request was counted before the flush; it proceeds even when the
	// total it learnt is over the limit (the next one will not).
	return 0, true
}

// Tracked is how many accounts this instance counts in the current
// window: its state holds no other window's.
func (a *Accounts) Tracked() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.state)
}

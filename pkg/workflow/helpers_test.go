package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/workflow"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, timeout, what, func() error {
		if !cond() {
			return errors.New("not yet")
		}
		return nil
	})
}

// fakeClock is a Clock whose time moves only with Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
		return t.c, func() {}
	}
	c.timers = append(c.timers, t)
	return t.c, func() { c.remove(t) }
}

func (c *fakeClock) remove(t *fakeTimer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}

// Advance moves time on by d and fires the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.c <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// Pending returns the timers set and not yet fired or released.
func (c *fakeClock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, t := range c.timers {
		out = append(out, t.at.Sub(c.now))
	}
	return out
}

// recorder is a test double of workflow.Steps: it records every call and
// can fail calls with scripted errors.
type recorder struct {
	mu    sync.Mutex
	calls map[string][]workflow.StepInput
	fail  map[string][]error // request id + "/" + step -> errors for the next calls
	hook  func(workflow.StepInput)
	// batches is what PlanNotify returns (none when nil).
	batches [][]string
	// notifyErr, if set, decides Notify's error for a batch.
	notifyErr func(workflow.StepInput) error
	// ticks are what the next Tick calls return, in order; with none
	// left, Tick returns ActionExpire.
	ticks []workflow.StepOutput
}

func newRecorder() *recorder {
	return &recorder{calls: map[string][]workflow.StepInput{}, fail: map[string][]error{}}
}

// failNext makes the next len(errs) calls of step for request fail.
func (r *recorder) failNext(request string, step workflow.Step, errs ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := request + "/" + string(step)
	r.fail[k] = append(r.fail[k], errs...)
}

func (r *recorder) record(in workflow.StepInput) error {
	r.mu.Lock()
	r.calls[in.RequestID] = append(r.calls[in.RequestID], in)
	k := in.RequestID + "/" + string(in.Step)
	var err error
	if errs := r.fail[k]; len(errs) > 0 {
		err, r.fail[k] = errs[0], errs[1:]
	}
	hook := r.hook
	r.mu.Unlock()
	if hook != nil && err == nil {
		hook(in)
	}
	return err
}

// Calls returns the calls recorded for request.
func (r *recorder) Calls(request string) []workflow.StepInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]workflow.StepInput(nil), r.calls[request]...)
}

// awaitCall waits for the nth (1-based) await call of request.
func (r *recorder) awaitCall(t testing.TB, request string, nth int) workflow.StepInput {
	t.Helper()
	var got workflow.StepInput
	waitFor(t, 10*time.Second, fmt.Sprintf("await call %d of %s", nth, request), func() bool {
		n := 0
		for _, c := range r.Calls(request) {
			if c.Step == workflow.Await {
				if n++; n == nth {
					got = c
					return true
				}
			}
		}
		return false
	})
	return got
}

func (r *recorder) Prepare(_ context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	if err := r.record(in); err != nil {
		return workflow.StepOutput{}, err
	}
	return workflow.StepOutput{Level: 1}, nil
}

func (r *recorder) Await(_ context.Context, in workflow.StepInput) error { return r.record(in) }

func (r *recorder) PlanNotify(_ context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	if err := r.record(in); err != nil {
		return workflow.StepOutput{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return workflow.StepOutput{Batches: r.batches}, nil
}

func (r *recorder) Notify(_ context.Context, in workflow.StepInput) error {
	if err := r.record(in); err != nil {
		return err
	}
	r.mu.Lock()
	f := r.notifyErr
	r.mu.Unlock()
	if f != nil {
		return f(in)
	}
	return nil
}

// stepCall waits for the nth (1-based) call of step for request.
func (r *recorder) stepCall(t testing.TB, request string, step workflow.Step, nth int) workflow.StepInput {
	t.Helper()
	var got workflow.StepInput
	waitFor(t, 10*time.Second, fmt.Sprintf("%s call %d of %s", step, nth, request), func() bool {
		n := 0
		for _, c := range r.Calls(request) {
			if c.Step == step {
				if n++; n == nth {
					got = c
					return true
				}
			}
		}
		return false
	})
	return got
}

func (r *recorder) Tick(_ context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	if err := r.record(in); err != nil {
		return workflow.StepOutput{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ticks) == 0 {
		return workflow.StepOutput{Action: workflow.ActionExpire}, nil
	}
	out := r.ticks[0]
	r.ticks = r.ticks[1:]
	return out, nil
}

func (r *recorder) Expire(_ context.Context, in workflow.StepInput) error { return r.record(in) }

func (r *recorder) Finalize(_ context.Context, in workflow.StepInput) error { return r.record(in) }

var errBoom = errors.New("boom")

// jsonHas reports whether the JSON object b has field key equal to value.
func jsonHas(b []byte, key, value string) bool {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return false
	}
	return m[key] == value
}

// testLogger logs to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

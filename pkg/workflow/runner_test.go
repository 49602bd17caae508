package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/workflow"
)

func startInput(levels, timeout int) workflow.StartInput {
	return workflow.StartInput{RequestID: testenv.NewID("req"), AccountID: "acct-1", Levels: levels, TimeoutSeconds: timeout}
}

// advanceWhen waits until a timer of d is pending, then advances by d.
func advanceWhen(t *testing.T, c *fakeClock, d time.Duration) {
	t.Helper()
	waitFor(t, 5*time.Second, "a pending "+d.String()+" timer", func() bool { return slices.Contains(c.Pending(), d) })
	c.Advance(d)
}

// steps lists the calls' steps, without the fan-out's (plan, notify),
// which run beside each await.
func steps(calls []workflow.StepInput) []workflow.Step {
	var out []workflow.Step
	for _, c := range calls {
		if c.Step != workflow.PlanNotify && c.Step != workflow.Notify {
			out = append(out, c.Step)
		}
	}
	return out
}

// TestRunnerRetries: transient errors are retried with the ASL's backoff
// (1 s, 2 s, 4 s; three retries), other errors fail the execution at once.
func TestRunnerRetries(t *testing.T) {
	t.Parallel()
	h := newRunnerHarness(t)
	ctx := context.Background()

	in := startInput(1, 60)
	h.rec.failNext(in.RequestID, workflow.Prepare, workflow.Transient(errBoom), workflow.Transient(errBoom))
	h.rec.failNext(in.RequestID, workflow.Finalize, workflow.Transient(errBoom), workflow.Transient(errBoom), workflow.Transient(errBoom), workflow.Transient(errBoom))
	if err := h.runner.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	advanceWhen(t, h.clock, 1*time.Second)
	advanceWhen(t, h.clock, 2*time.Second)
	call := h.rec.awaitCall(t, in.RequestID, 1)
	if err := h.runner.SendTaskSuccess(ctx, call.TaskToken, workflow.Decision{Outcome: workflow.Approved}); err != nil {
		t.Fatal(err)
	}
	advanceWhen(t, h.clock, 1*time.Second)
	advanceWhen(t, h.clock, 2*time.Second)
	advanceWhen(t, h.clock, 4*time.Second)
	status, _ := h.end(t, in.RequestID)
	e, _ := h.runner.Describe(in.RequestID)
	if status != workflow.Failed || e.Error != workflow.ErrorTransient {
		t.Fatalf("status %s %s %s, want FAILED Steward.Transient after 3 retries", status, e.Error, e.Cause)
	}
	want := []workflow.Step{"prepare", "prepare", "prepare", "await", "finalize", "finalize", "finalize", "finalize"}
	if got := steps(h.rec.Calls(in.RequestID)); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}

	in2 := startInput(1, 60)
	h.rec.failNext(in2.RequestID, workflow.Prepare, errBoom)
	if err := h.runner.Start(ctx, in2); err != nil {
		t.Fatal(err)
	}
	status, _ = h.end(t, in2.RequestID)
	e, _ = h.runner.Describe(in2.RequestID)
	if status != workflow.Failed || e.Error != workflow.ErrorStepFailed || len(h.rec.Calls(in2.RequestID)) != 1 {
		t.Fatalf("non-transient error: %s %s, %d calls", status, e.Error, len(h.rec.Calls(in2.RequestID)))
	}
}

// TestRunnerAwaitRetry: a retried await task has a new token and a fresh
// timeout; the first attempt's token no longer works.
func TestRunnerAwaitRetry(t *testing.T) {
	t.Parallel()
	h := newRunnerHarness(t)
	ctx := context.Background()
	in := startInput(1, 30)
	h.rec.failNext(in.RequestID, workflow.Await, workflow.Transient(errBoom))
	if err := h.runner.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	first := h.rec.awaitCall(t, in.RequestID, 1)
	advanceWhen(t, h.clock, time.Second) // the retry's backoff; the first timeout was released
	second := h.rec.awaitCall(t, in.RequestID, 2)
	if first.TaskToken == second.TaskToken {
		t.Fatal("the retried await reused its token")
	}
	if err := h.runner.SendTaskSuccess(ctx, first.TaskToken, workflow.Decision{Outcome: workflow.Approved}); !errors.Is(err, workflow.ErrTaskNotFound) {
		t.Fatalf("first token: %v", err)
	}
	if got := h.clock.Pending(); !slices.Equal(got, []time.Duration{30 * time.Second}) {
		t.Fatalf("pending timers %v, want the retry's fresh 30s timeout", got)
	}
	if err := h.runner.SendTaskSuccess(ctx, second.TaskToken, workflow.Decision{Outcome: workflow.Denied}); err != nil {
		t.Fatal(err)
	}
	if status, out := h.end(t, in.RequestID); status != workflow.Succeeded || !jsonHas(out, "outcome", "denied") {
		t.Fatalf("%s %s", status, out)
	}
}

// TestRunnerDecisionFromAwait: the Await step may send the decision itself
// (e.g. the request was cancelled before its token was stored): no
// deadlock, the result is used.
func TestRunnerDecisionFromAwait(t *testing.T) {
	t.Parallel()
	h := newRunnerHarness(t)
	h.rec.hook = func(in workflow.StepInput) {
		if in.Step == workflow.Await {
			if err := h.runner.SendTaskFailure(context.Background(), in.TaskToken, workflow.ErrorCancelled); err != nil {
				t.Errorf("SendTaskFailure from Await: %v", err)
			}
		}
	}
	in := startInput(2, 30)
	if err := h.runner.Start(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if status, out := h.end(t, in.RequestID); status != workflow.Succeeded || !jsonHas(out, "outcome", "cancelled") {
		t.Fatalf("%s %s", status, out)
	}
}

// TestRunnerStopAndTokens: Stop aborts at once; tokens work once; bad
// decisions are refused and leave the token usable.
func TestRunnerStopAndTokens(t *testing.T) {
	t.Parallel()
	h := newRunnerHarness(t)
	ctx := context.Background()
	in := startInput(2, 30)
	if err := h.runner.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	call := h.rec.awaitCall(t, in.RequestID, 1)
	if err := h.runner.SendTaskSuccess(ctx, call.TaskToken, workflow.Decision{Outcome: "maybe"}); err == nil {
		t.Fatal("decision maybe accepted")
	}
	if err := h.runner.SendTaskSuccess(ctx, "not-a-token", workflow.Decision{Outcome: workflow.Approved}); !errors.Is(err, workflow.ErrTaskNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	if err := h.runner.SendTaskSuccess(ctx, call.TaskToken, workflow.Decision{Outcome: workflow.Approved}); err != nil {
		t.Fatal(err)
	}
	if err := h.runner.SendTaskFailure(ctx, call.TaskToken, workflow.ErrorCancelled); !errors.Is(err, workflow.ErrTaskNotFound) {
		t.Fatalf("used token: %v", err)
	}
	call2 := h.rec.awaitCall(t, in.RequestID, 2)
	if err := h.runner.Stop(ctx, in.RequestID); err != nil {
		t.Fatal(err)
	}
	e, err := h.runner.Describe(in.RequestID)
	if err != nil || e.Status != workflow.Aborted {
		t.Fatalf("after Stop: %+v %v", e, err)
	}
	if err := h.runner.SendTaskSuccess(ctx, call2.TaskToken, workflow.Decision{Outcome: workflow.Approved}); !errors.Is(err, workflow.ErrTaskNotFound) {
		t.Fatalf("token of a stopped execution: %v", err)
	}
	if err := h.runner.Stop(ctx, in.RequestID); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := h.runner.Stop(ctx, "no-such-request"); !errors.Is(err, workflow.ErrExecutionNotFound) {
		t.Fatalf("Stop unknown: %v", err)
	}
	if err := h.runner.Start(ctx, in); !errors.Is(err, workflow.ErrExecutionExists) {
		t.Fatalf("restart a stopped name: %v", err)
	}
	h.clock.Advance(time.Hour)
	if got := steps(h.rec.Calls(in.RequestID)); !slices.Equal(got, []workflow.Step{"prepare", "await", "await"}) {
		t.Fatalf("calls after Stop: %v", got)
	}
}

// TestRunnerJournalResume: a new Runner on the same journal resumes an
// awaiting execution with its token and its original deadline, without
// running the Await step again.
func TestRunnerJournalResume(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j, err := workflow.NewDirJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, clock := newRecorder(), newFakeClock()
	ctx := context.Background()
	r1, err := workflow.NewRunner(rec, workflow.RunnerOptions{Clock: clock, Journal: j, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	done, waiting, expiring := startInput(1, 60), startInput(2, 60), startInput(1, 60)
	for _, in := range []workflow.StartInput{done, waiting, expiring} {
		if err := r1.Start(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	d := rec.awaitCall(t, done.RequestID, 1)
	if err := r1.SendTaskSuccess(ctx, d.TaskToken, workflow.Decision{Outcome: workflow.Approved}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "done to end", func() bool { e, _ := r1.Describe(done.RequestID); return e.Status == workflow.Succeeded })
	w := rec.awaitCall(t, waiting.RequestID, 1)
	rec.awaitCall(t, expiring.RequestID, 1)
	waitFor(t, 5*time.Second, "the awaits to be journaled", func() bool {
		snaps, _ := j.Load(ctx)
		n := 0
		for _, s := range snaps {
			if s.Awaiting {
				n++
			}
		}
		return n == 2
	})
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(45 * time.Second) // the "restart" took 45 s

	r2, err := workflow.NewRunner(rec, workflow.RunnerOptions{Clock: clock, Journal: j, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r2.Close() })
	if err := r2.Start(ctx, done); !errors.Is(err, workflow.ErrExecutionExists) {
		t.Fatalf("start a finished name after restart: %v", err)
	}
	if err := r2.SendTaskSuccess(ctx, w.TaskToken, workflow.Decision{Outcome: workflow.Approved}); err != nil {
		t.Fatalf("old token after restart: %v", err)
	}
	rec.awaitCall(t, waiting.RequestID, 2) // level 2
	advanceWhen(t, clock, 15*time.Second)  // what was left of expiring's 60 s
	waitFor(t, 5*time.Second, "expiring to end", func() bool {
		e, _ := r2.Describe(expiring.RequestID)
		return e.Status == workflow.Succeeded && jsonHas(e.Output, "outcome", "expired")
	})
	if got := steps(rec.Calls(expiring.RequestID)); !slices.Equal(got, []workflow.Step{"prepare", "await", "expire", "finalize"}) {
		t.Fatalf("expiring calls %v", got)
	}
	if got := steps(rec.Calls(waiting.RequestID)); !slices.Equal(got, []workflow.Step{"prepare", "await", "await"}) {
		t.Fatalf("waiting calls %v (the resumed await must not run again)", got)
	}
}

// TestSFNStop checks SFN.Stop's execution ARN and error mapping in moto.
// (moto 5.2.1 then reports the execution FAILED with an internal
// States.Runtime error instead of ABORTED: a moto bug, so the shared
// scenarios do not include a stop.)
func TestSFNStop(t *testing.T) {
	h := newMotoHarness(t)
	ctx := context.Background()
	in := startInput(1, 2)
	none := [][]string{}
	h.moto.QueueLambdaResults(t, workflow.StepOutput{Level: 1}, workflow.StepOutput{Level: 1, Batches: none}, workflow.StepOutput{Level: 1, Batches: none})
	if err := h.eng.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	h.stepCall(t, in.RequestID, workflow.Await, 1)
	if err := h.eng.Stop(ctx, in.RequestID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := h.eng.Stop(ctx, "no-such-request"); !errors.Is(err, workflow.ErrExecutionNotFound) {
		t.Fatalf("Stop unknown: %v", err)
	}
	status, _ := h.end(t, in.RequestID)
	t.Logf("moto status after StopExecution: %s", status)
	if status == workflow.Succeeded {
		t.Fatal("a stopped execution succeeded")
	}
	d, err := h.moto.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(h.arn(t, in.RequestID))})
	if err != nil || d.Status == sfntypes.ExecutionStatusRunning {
		t.Fatalf("describe: %v %v", d, err)
	}
}

// TestRunnerFanOut: the Notify Map runs every batch, at most
// NotifyMaxConcurrency at once; a batch's transient failure is retried
// (2 s on the clock), a batch that keeps failing is recorded and the
// others go on, and the level still ends with its decision.
func TestRunnerFanOut(t *testing.T) {
	t.Parallel()
	h := newRunnerHarness(t)
	ctx := context.Background()
	var batches [][]string
	for i := range 12 {
		batches = append(batches, []string{fmt.Sprintf("m%02d", i)})
	}
	var (
		mu              sync.Mutex
		running, most   int
		transientFailed bool
	)
	h.rec.batches = batches
	h.rec.notifyErr = func(in workflow.StepInput) error {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		running--
		switch in.Approvers[0] {
		case "m03":
			return errBoom // not transient: caught at once
		case "m07":
			if !transientFailed {
				transientFailed = true
				return workflow.Transient(errBoom)
			}
		}
		return nil
	}
	in := startInput(1, 600)
	if err := h.runner.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	call := h.rec.awaitCall(t, in.RequestID, 1)
	advanceWhen(t, h.clock, 2*time.Second) // m07's retry
	if err := h.runner.SendTaskSuccess(ctx, call.TaskToken, workflow.Decision{Outcome: workflow.Approved}); err != nil {
		t.Fatal(err)
	}
	status, out := h.end(t, in.RequestID)
	if status != workflow.Succeeded || !jsonHas(out, "outcome", "approved") {
		t.Fatalf("status %s output %s", status, out)
	}
	notified := map[string]int{}
	for _, c := range h.rec.Calls(in.RequestID) {
		if c.Step == workflow.Notify {
			if c.Level != 1 || c.RequestID != in.RequestID || c.AccountID != in.AccountID || c.Levels != 1 {
				t.Errorf("notify input %+v", c)
			}
			notified[c.Approvers[0]]++
		}
	}
	for _, b := range batches {
		want := 1
		if b[0] == "m07" {
			want = 2
		}
		if notified[b[0]] != want {
			t.Errorf("batch %v notified %d times, want %d", b, notified[b[0]], want)
		}
	}
	if most > workflow.NotifyMaxConcurrency || most < 1 {
		t.Errorf("%d batches ran at once, want at most %d", most, workflow.NotifyMaxConcurrency)
	}
}

// TestRunnerFanOutCancelled: cancelling a level stops its fan-out (no
// batch starts after the cancellation) and finalizes the request.
func TestRunnerFanOutCancelled(t *testing.T) {
	t.Parallel()
	h := newRunnerHarness(t)
	ctx := context.Background()
	release := make(chan struct{})
	h.rec.batches = [][]string{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}}
	h.rec.notifyErr = func(in workflow.StepInput) error {
		<-release
		return nil
	}
	in := startInput(1, 600)
	if err := h.runner.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	call := h.rec.awaitCall(t, in.RequestID, 1)
	h.rec.stepCall(t, in.RequestID, workflow.Notify, workflow.NotifyMaxConcurrency)
	if err := h.runner.SendTaskFailure(ctx, call.TaskToken, workflow.ErrorCancelled); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the cancellation reaches the Map
	close(release)
	h.rec.stepCall(t, in.RequestID, workflow.Finalize, 1)
	status, out := h.end(t, in.RequestID)
	if status != workflow.Succeeded || !jsonHas(out, "outcome", "cancelled") {
		t.Fatalf("status %s output %s", status, out)
	}
	n := 0
	for _, c := range h.rec.Calls(in.RequestID) {
		if c.Step == workflow.Notify {
			n++
		}
	}
	if n != workflow.NotifyMaxConcurrency {
		t.Errorf("%d batches started, want the %d running when the level was cancelled", n, workflow.NotifyMaxConcurrency)
	}
}

// TestRunnerJournalResumeTimers: with timers, the resumed branch runs
// its Tick again (idempotent) and the await keeps its token and its
// deadline (the Tick's wait), without running the Await step again.
func TestRunnerJournalResumeTimers(t *testing.T) {
	t.Parallel()
	j, err := workflow.NewDirJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec, clock := newRecorder(), newFakeClock()
	rec.ticks = []workflow.StepOutput{
		{Action: workflow.ActionWait, Seconds: 60},
		{Action: workflow.ActionWait, Seconds: 60}, // the resumed branch's Tick
		{Action: workflow.ActionExpire},
	}
	ctx := context.Background()
	r1, err := workflow.NewRunner(rec, workflow.RunnerOptions{Clock: clock, Journal: j, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	in := startInput(1, 600)
	in.Timers = true
	if err := r1.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	w := rec.awaitCall(t, in.RequestID, 1)
	waitFor(t, 5*time.Second, "the await to be journaled", func() bool {
		snaps, _ := j.Load(ctx)
		return len(snaps) == 1 && snaps[0].Awaiting
	})
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(45 * time.Second)
	r2, err := workflow.NewRunner(rec, workflow.RunnerOptions{Clock: clock, Journal: j, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r2.Close() })
	rec.stepCall(t, in.RequestID, workflow.Tick, 2)
	advanceWhen(t, clock, 15*time.Second) // what was left of the first wait
	waitFor(t, 5*time.Second, "the execution to expire", func() bool {
		e, _ := r2.Describe(in.RequestID)
		return e.Status == workflow.Succeeded && jsonHas(e.Output, "outcome", "expired")
	})
	if got := steps(rec.Calls(in.RequestID)); !slices.Equal(got, []workflow.Step{"prepare", "tick", "await", "tick", "tick", "expire", "finalize"}) {
		t.Fatalf("calls %v (the resumed await must not run again)", got)
	}
	if err := r2.SendTaskSuccess(ctx, w.TaskToken, workflow.Decision{Outcome: workflow.Approved}); !errors.Is(err, workflow.ErrTaskNotFound) {
		t.Fatalf("the token after the end: %v", err)
	}
}

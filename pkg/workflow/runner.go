package workflow

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// Status is an execution's status (Step Functions' names).
type Status string

// The statuses.
const (
	// Running: the execution has not ended.
	Running Status = "RUNNING"
	// Succeeded: it reached Done; Output holds {requestId, outcome, level}.
	Succeeded Status = "SUCCEEDED"
	// Failed: an error nothing caught; Error and Cause say which.
	Failed Status = "FAILED"
	// Aborted: it was stopped.
	Aborted Status = "ABORTED"
)

// Execution describes one execution of Runner.
type Execution struct {
	// Name is the execution's name, the request id.
	Name string `json:"name"`
	// Input is what it was started with.
	Input StartInput `json:"input"`
	// Status is where it stands.
	Status Status `json:"status"`
	// State is the state it is in (running) or ended in.
	State string `json:"state"`
	// Output is the output of a succeeded execution.
	Output json.RawMessage `json:"output,omitempty"`
	// Error is a failed execution's error name.
	Error string `json:"error,omitempty"`
	// Cause is a failed execution's error message.
	Cause string `json:"cause,omitempty"`
	// StartedAt is when it started.
	StartedAt time.Time `json:"startedAt"`
	// StoppedAt is when it ended.
	StoppedAt time.Time `json:"stoppedAt,omitzero"`
}

// RunnerOptions configures a Runner; the zero value is valid.
type RunnerOptions struct {
	// Clock is the time source; nil means RealClock.
	Clock Clock
	// Journal persists executions; nil keeps them in memory only.
	Journal Journal
	// Logger logs executions' errors and journal failures; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Runner is the in-process Engine for `make run`: it interprets the
// workflow's state machine (the value Definition serializes) with the
// same semantics as Step Functions: opaque random task tokens that work
// once, per-level timeouts counted from the start of the await task,
// Retry with backoff on the Clock, Catch, and execution names that can
// be started only once.
type Runner struct {
	steps   Steps
	def     *stateMachine
	clock   Clock
	journal Journal
	log     *slog.Logger

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	execs  map[string]*execution
	tokens map[string]*waiter
}

var _ Engine = (*Runner)(nil)

// execution is Runner's record of one execution. Its fields are guarded
// by Runner.mu; its goroutine owns the live data between states.
type execution struct {
	Snapshot
	ctx    context.Context // canceled by Stop and Close
	cancel context.CancelFunc
}

// waiter is a pending await: the task token's result arrives on ch.
type waiter struct {
	x  *execution
	ch chan callback // capacity 1: one result per token
}

// callback is a task result: output, or an error name.
type callback struct {
	output json.RawMessage
	err    string
}

// localFunctionARN is the function ARN in Runner's copy of the machine;
// Runner calls Steps directly.
const localFunctionARN = "arn:aws:lambda:local:000000000000:function:approvals-workflow"

// NewRunner returns a Runner calling steps. With a Journal it loads the
// stored executions and resumes the running ones.
func NewRunner(steps Steps, opts RunnerOptions) (*Runner, error) {
	if steps == nil {
		return nil, errors.New("workflow: nil steps")
	}
	r := &Runner{
		steps:   steps,
		def:     machine(localFunctionARN),
		clock:   opts.Clock,
		journal: opts.Journal,
		log:     opts.Logger,
		execs:   map[string]*execution{},
		tokens:  map[string]*waiter{},
	}
	if r.clock == nil {
		r.clock = RealClock{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if r.journal == nil {
		return r, nil
	}
	snaps, err := r.journal.Load(r.ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range snaps {
		x := r.newExecution(s)
		if s.Status != Running {
			continue
		}
		var data any
		if err := json.Unmarshal(s.Data, &data); err != nil {
			return nil, fmt.Errorf("workflow: resume %s: %w", s.Name, err)
		}
		if m, ok := data.(map[string]any); ok {
			if _, ok := m["timers"]; !ok {
				m["timers"] = false // journaled before StartInput had timers
			}
		}
		var resume *waiter
		if st := r.def.States[s.State]; s.Awaiting && s.Token != "" && st != nil && waits(st) {
			resume = &waiter{x: x, ch: make(chan callback, 1)}
			r.tokens[s.Token] = resume
		} else {
			x.Awaiting, x.Token, x.Deadline = false, "", time.Time{}
		}
		r.log.Info("workflow: resuming execution", "name", s.Name, "state", s.State, "awaiting", resume != nil)
		r.wg.Add(1)
		go r.run(x, s.State, data, resume)
	}
	return r, nil
}

// newExecution registers an execution for s. Hold r.mu.
func (r *Runner) newExecution(s Snapshot) *execution {
	x := &execution{Snapshot: s}
	x.ctx, x.cancel = context.WithCancel(r.ctx)
	if s.Status != Running {
		x.cancel()
	}
	r.execs[s.Name] = x
	return x
}

// Close stops every execution's goroutine and waits for them. Running
// executions stay RUNNING in the Journal, and a new Runner resumes them.
func (r *Runner) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// Start starts the workflow for in.RequestID. Like Step Functions, it
// does nothing and returns nil if an execution of that name runs with the
// same input, and returns ErrExecutionExists if one ran or runs with
// another input.
func (r *Runner) Start(ctx context.Context, in StartInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	if r.ctx.Err() != nil {
		return errors.New("workflow: runner closed")
	}
	data, err := toValue(in)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if x, ok := r.execs[in.RequestID]; ok {
		if x.Status == Running && x.Input == in {
			return nil // Step Functions' idempotent start
		}
		return fmt.Errorf("workflow: start %s: %w", in.RequestID, ErrExecutionExists)
	}
	x := r.newExecution(Snapshot{Execution: Execution{
		Name: in.RequestID, Input: in, Status: Running, State: r.def.StartAt, StartedAt: r.clock.Now(),
	}})
	x.Data, _ = json.Marshal(data)
	r.save(ctx, x)
	r.wg.Add(1)
	go r.run(x, r.def.StartAt, data, nil)
	return nil
}

// SendTaskSuccess sends d (validated first) as the result of the await
// task whose token is token.
func (r *Runner) SendTaskSuccess(_ context.Context, token string, d Decision) error {
	if err := d.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return r.send(token, callback{output: b})
}

// SendTaskFailure fails the await task whose token is token with
// errorCode.
func (r *Runner) SendTaskFailure(_ context.Context, token, errorCode string) error {
	if errorCode == "" {
		return errors.New("workflow: empty error code")
	}
	return r.send(token, callback{err: errorCode})
}

func (r *Runner) send(token string, cb callback) error {
	if r.ctx.Err() != nil {
		return errors.New("workflow: runner closed")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.tokens[token]
	if !ok {
		return ErrTaskNotFound
	}
	delete(r.tokens, token)
	w.ch <- cb // never blocks: the token was registered once
	return nil
}

// Stop aborts the execution named name: its pending token stops working
// and no further step runs (a step in progress sees its context
// canceled). Stopping a finished execution does nothing.
func (r *Runner) Stop(ctx context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	x, ok := r.execs[name]
	if !ok {
		return fmt.Errorf("workflow: stop %s: %w", name, ErrExecutionNotFound)
	}
	if x.Status != Running {
		return nil
	}
	x.cancel()
	r.finish(ctx, x, Aborted, nil, "", "")
	return nil
}

// Describe returns the execution named name.
func (r *Runner) Describe(name string) (Execution, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	x, ok := r.execs[name]
	if !ok {
		return Execution{}, fmt.Errorf("workflow: describe %s: %w", name, ErrExecutionNotFound)
	}
	e := x.Execution
	e.Output = slices.Clone(e.Output)
	return e, nil
}

// finish ends x with status. Hold r.mu.
func (r *Runner) finish(ctx context.Context, x *execution, status Status, output json.RawMessage, errName, cause string) {
	x.Status, x.Output, x.Error, x.Cause = status, output, errName, cause
	x.StoppedAt = r.clock.Now()
	if x.Token != "" {
		delete(r.tokens, x.Token)
	}
	x.Token, x.Awaiting, x.Deadline = "", false, time.Time{}
	r.save(ctx, x)
}

// save writes x to the journal, if any. Hold r.mu.
func (r *Runner) save(ctx context.Context, x *execution) {
	if r.journal == nil {
		return
	}
	if err := r.journal.Save(context.WithoutCancel(ctx), x.Snapshot); err != nil {
		r.log.Error("workflow: journal save failed", "name", x.Name, "err", err)
	}
}

// enter moves x to state with data; false if x no longer runs.
func (r *Runner) enter(x *execution, state string, data any) bool {
	b, err := json.Marshal(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if x.Status != Running || x.ctx.Err() != nil {
		return false
	}
	if err != nil {
		r.finish(x.ctx, x, Failed, nil, "States.Runtime", err.Error())
		return false
	}
	x.State, x.Data = state, b
	r.save(x.ctx, x)
	return true
}

// end ends x unless it was stopped or the runner closed.
func (r *Runner) end(x *execution, status Status, output json.RawMessage, errName, cause string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if x.Status != Running || x.ctx.Err() != nil {
		return
	}
	if status == Failed {
		r.log.Error("workflow: execution failed", "name", x.Name, "state", x.State, "error", errName, "cause", cause)
	}
	r.finish(x.ctx, x, status, output, errName, cause)
}

// run interprets the machine for x from state name with data. resume,
// if not nil, is the pending await of a resumed execution.
func (r *Runner) run(x *execution, name string, data any, resume *waiter) {
	defer r.wg.Done()
	for {
		st, ok := r.def.States[name]
		if !ok {
			r.end(x, Failed, nil, "States.Runtime", fmt.Sprintf("no state %q", name))
			return
		}
		var (
			next string
			err  error
		)
		switch st.Type {
		case "Task":
			data, next, err = r.task(x.ctx, x, name, st, data, resume)
			resume = nil
		case "Parallel", "Map":
			data, next, err = r.compound(x.ctx, x, name, st, data, resume)
			resume = nil
		case "Pass":
			data, err = r.pass(x, name, st, data)
			next = st.Next
		case "Choice":
			next, err = choose(st, data)
		case "Succeed":
			out := data
			if st.OutputPath != "" {
				out, err = lookup(st.OutputPath, data, nil)
			}
			if err == nil {
				var b []byte
				if b, err = json.Marshal(out); err == nil {
					r.end(x, Succeeded, b, "", "")
					return
				}
			}
		case "Fail":
			r.end(x, Failed, nil, st.Error, st.Cause)
			return
		default:
			err = runtimeError("state %q: unsupported type %q", name, st.Type)
		}
		if x.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ae *aslError
			if !errors.As(err, &ae) {
				ae = runtimeError("%v", err)
			}
			r.end(x, Failed, nil, ae.Name, ae.Cause)
			return
		}
		if st.End {
			b, _ := json.Marshal(data)
			r.end(x, Succeeded, b, "", "")
			return
		}
		name = next
		if !r.enter(x, name, data) {
			return
		}
	}
}

// contextObject is the "$$" object of state name.
func contextObject(x *execution, name, token string) map[string]any {
	c := map[string]any{
		"Execution": map[string]any{"Name": x.Name},
		"State":     map[string]any{"Name": name},
	}
	if token != "" {
		c["Task"] = map[string]any{"Token": token}
	}
	return c
}

// applyResult places result into input as path says.
func applyResult(input any, path resultPath, result any) (any, error) {
	switch {
	case path.discard:
		return input, nil
	case path.IsZero():
		return result, nil
	}
	return setPath(input, path.path, result)
}

// pass runs a Pass state.
func (r *Runner) pass(x *execution, name string, st *state, input any) (any, error) {
	var result any = input
	switch {
	case st.Parameters != nil:
		v, err := evalTemplate(st.Parameters, input, contextObject(x, name, ""))
		if err != nil {
			return nil, err
		}
		result = v
	case st.Result != nil:
		v, err := toValue(st.Result)
		if err != nil {
			return nil, err
		}
		result = v
	}
	out, err := applyResult(input, st.ResultPath, result)
	if err == nil && st.OutputPath != "" {
		out, err = lookup(st.OutputPath, out, nil)
	}
	return out, err
}

// choose evaluates a Choice state's rules in order.
func choose(st *state, input any) (string, error) {
	for _, rule := range st.Choices {
		ok, err := evalRule(rule, input)
		if err != nil {
			return "", err
		}
		if ok {
			return rule.Next, nil
		}
	}
	if st.Default == "" {
		return "", &aslError{Name: "States.NoChoiceMatched", Cause: "no choice rule matched and there is no Default"}
	}
	return st.Default, nil
}

func evalRule(rule choiceRule, input any) (bool, error) {
	if rule.And != nil {
		for _, sub := range rule.And {
			ok, err := evalRule(sub, input)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	v, err := lookup(rule.Variable, input, nil)
	if err != nil {
		return false, err
	}
	switch {
	case rule.BooleanEquals != nil:
		b, ok := v.(bool)
		return ok && b == *rule.BooleanEquals, nil
	case rule.StringEquals != "":
		s, ok := v.(string)
		return ok && s == rule.StringEquals, nil
	case rule.NumericLessThanPath != "":
		w, err := lookup(rule.NumericLessThanPath, input, nil)
		if err != nil {
			return false, err
		}
		a, ok1 := v.(float64)
		b, ok2 := w.(float64)
		return ok1 && ok2 && a < b, nil
	}
	return false, runtimeError("choice rule on %q has no comparison", rule.Variable)
}

// task runs a Task state with its Retry and Catch: it returns the next
// state's input and name, or the error that fails the execution (or the
// branch).
func (r *Runner) task(ctx context.Context, x *execution, name string, st *state, input any, resume *waiter) (any, string, error) {
	return r.retrying(ctx, x, name, st, input, func() (any, error) {
		res, err := r.attempt(ctx, x, name, st, input, resume)
		resume = nil
		return res, err
	})
}

// compound runs a Parallel or Map state with its Retry and Catch. resume,
// if not nil, is the pending await of a resumed execution: the branch
// holding the await task gets it.
func (r *Runner) compound(ctx context.Context, x *execution, name string, st *state, input any, resume *waiter) (any, string, error) {
	return r.retrying(ctx, x, name, st, input, func() (any, error) {
		res := resume
		resume = nil
		if st.Type == "Parallel" {
			return r.parallel(ctx, x, st, input, res)
		}
		return r.mapItems(ctx, x, name, st, input)
	})
}

// retrying runs attempt as state st's work with st's Retry (backoff on
// the Clock) and Catch, then ResultSelector and ResultPath.
func (r *Runner) retrying(ctx context.Context, x *execution, name string, st *state, input any, attempt func() (any, error)) (any, string, error) {
	retries := make([]int, len(st.Retry))
	for {
		result, err := attempt()
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		if err == nil {
			if st.ResultSelector != nil {
				if result, err = evalTemplate(st.ResultSelector, result, nil); err != nil {
					return nil, "", err
				}
			}
			out, err := applyResult(input, st.ResultPath, result)
			if err == nil && st.OutputPath != "" {
				out, err = lookup(st.OutputPath, out, nil)
			}
			return out, st.Next, err
		}
		var ae *aslError
		if !errors.As(err, &ae) {
			ae = runtimeError("%v", err)
		}
		if i := slices.IndexFunc(st.Retry, func(rt retrier) bool { return matches(rt.ErrorEquals, ae.Name) }); i >= 0 && retries[i] < st.Retry[i].MaxAttempts {
			rt := st.Retry[i]
			delay := time.Duration(float64(rt.IntervalSeconds) * math.Pow(rt.BackoffRate, float64(retries[i])) * float64(time.Second))
			retries[i]++
			r.log.Warn("workflow: retrying step", "name", x.Name, "state", name, "error", ae.Name, "cause", ae.Cause, "retry", retries[i], "delay", delay)
			c, release := r.clock.After(delay)
			select {
			case <-c:
			case <-ctx.Done():
				release()
				return nil, "", ctx.Err()
			}
			continue
		}
		for _, c := range st.Catch {
			if matches(c.ErrorEquals, ae.Name) {
				if slices.Contains(c.ErrorEquals, "States.ALL") {
					r.log.Warn("workflow: failure recorded", "name", x.Name, "state", name, "error", ae.Name, "cause", ae.Cause, "next", c.Next)
				}
				out, err := applyResult(input, c.ResultPath, map[string]any{"Error": ae.Name, "Cause": ae.Cause})
				return out, c.Next, err
			}
		}
		return nil, "", ae
	}
}

// waits reports whether st is, or holds in a Parallel branch, a task that
// waits for a task token.
func waits(st *state) bool {
	if st.Resource == resourceInvokeWait {
		return true
	}
	for _, b := range st.Branches {
		for _, s := range b.States {
			if waits(s) {
				return true
			}
		}
	}
	return false
}

// runStates interprets the states of a Parallel branch or a Map iteration
// from name with data (not journaled: a resumed execution runs its
// current state again) and returns the branch's output.
func (r *Runner) runStates(ctx context.Context, x *execution, states map[string]*state, name string, data any, resume *waiter) (any, error) {
	for {
		st, ok := states[name]
		if !ok {
			return nil, runtimeError("no state %q", name)
		}
		var (
			next string
			err  error
		)
		switch st.Type {
		case "Task":
			// A resumed await goes to the task that waits (the branch
			// may run a Tick first).
			var res *waiter
			if waits(st) {
				res, resume = resume, nil
			}
			data, next, err = r.task(ctx, x, name, st, data, res)
		case "Parallel", "Map":
			var res *waiter
			if waits(st) {
				res, resume = resume, nil
			}
			data, next, err = r.compound(ctx, x, name, st, data, res)
		case "Pass":
			data, err = r.pass(x, name, st, data)
			next = st.Next
		case "Choice":
			next, err = choose(st, data)
		case "Succeed":
			if st.OutputPath != "" {
				data, err = lookup(st.OutputPath, data, nil)
			}
			if err == nil {
				return data, nil
			}
		case "Fail":
			return nil, &aslError{Name: st.Error, Cause: st.Cause}
		default:
			err = runtimeError("state %q: unsupported type %q", name, st.Type)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			return nil, err
		}
		if st.End {
			return data, nil
		}
		name = next
	}
}

// firstError keeps the first error of concurrent branches or iterations
// and cancels the others.
type firstError struct {
	mu     sync.Mutex
	err    error
	cancel context.CancelFunc
}

func (f *firstError) set(ctx context.Context, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil && ctx.Err() == nil {
		f.err = err
	}
	f.cancel()
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// parallel runs a Parallel state's branches at once, each on the state's
// input, and returns their outputs in order. The first branch to fail
// fails the state and stops the others.
func (r *Runner) parallel(ctx context.Context, x *execution, st *state, input any, resume *waiter) (any, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fe := &firstError{cancel: cancel}
	out := make([]any, len(st.Branches))
	var wg sync.WaitGroup
	for i, b := range st.Branches {
		var res *waiter
		if resume != nil && slices.ContainsFunc(slices.Collect(maps.Values(b.States)), waits) {
			res, resume = resume, nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := r.runStates(ctx, x, b.States, b.StartAt, input, res)
			if err != nil {
				fe.set(ctx, err)
				return
			}
			out[i] = v
		}()
	}
	wg.Wait()
	if err := fe.get(); err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

// mapItems runs an inline Map state: its ItemProcessor once per element
// of ItemsPath (input: ItemSelector, with $$.Map.Item.Index and Value),
// at most MaxConcurrency at once, and returns their outputs in order.
// The first iteration to fail fails the state and stops the others.
func (r *Runner) mapItems(ctx context.Context, x *execution, name string, st *state, input any) (any, error) {
	ip := st.ItemProcessor
	if ip == nil {
		return nil, runtimeError("map state %q has no ItemProcessor", name)
	}
	path := st.ItemsPath
	if path == "" {
		path = "$"
	}
	v, err := lookup(path, input, nil)
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok {
		return nil, runtimeError("ItemsPath %q: want an array, got %T", path, v)
	}
	limit := st.MaxConcurrency
	if limit <= 0 || limit > len(items) {
		limit = max(len(items), 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fe := &firstError{cancel: cancel}
	out := make([]any, len(items))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
items:
	for i, item := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break items
		}
		if ctx.Err() != nil {
			<-sem
			break
		}
		in := item
		if st.ItemSelector != nil {
			c := contextObject(x, name, "")
			c["Map"] = map[string]any{"Item": map[string]any{"Index": float64(i), "Value": item}}
			sel, err := evalTemplate(st.ItemSelector, input, c)
			if err != nil {
				<-sem
				fe.set(ctx, err)
				break
			}
			in = sel
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v, err := r.runStates(ctx, x, ip.States, ip.StartAt, in, nil)
			if err != nil {
				fe.set(ctx, err)
				return
			}
			out[i] = v
		}()
	}
	wg.Wait()
	if err := fe.get(); err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

// matches reports whether errorEquals matches the error name.
func matches(errorEquals []string, name string) bool {
	return slices.Contains(errorEquals, name) || (slices.Contains(errorEquals, "States.ALL") && name != "States.Runtime")
}

// attempt runs one attempt of a Task state and returns its result (the
// Lambda invocation's {Payload, StatusCode}, or the task token's
// result). resume, if not nil, skips to waiting on its token.
func (r *Runner) attempt(ctx context.Context, x *execution, name string, st *state, input any, resume *waiter) (any, error) {
	if st.Resource != resourceInvokeWait {
		if st.Resource != resourceInvoke {
			return nil, runtimeError("state %q: unsupported resource %q", name, st.Resource)
		}
		return r.invoke(ctx, x, name, st, input, "")
	}
	w, token := resume, ""
	var timer <-chan time.Time
	var release func()
	if w != nil {
		r.mu.Lock()
		token = x.Token
		remaining := x.Deadline.Sub(r.clock.Now())
		r.mu.Unlock()
		timer, release = r.clock.After(max(remaining, 0))
	} else {
		v, err := lookup(st.TimeoutSecondsPath, input, nil)
		if err != nil {
			return nil, err
		}
		secs, err := integer(v)
		if err != nil || secs < 1 {
			return nil, runtimeError("TimeoutSecondsPath %q: want a positive integer, got %v", st.TimeoutSecondsPath, v)
		}
		token, err = newToken()
		if err != nil {
			return nil, err
		}
		timeout := time.Duration(secs) * time.Second
		deadline := r.clock.Now().Add(timeout)
		timer, release = r.clock.After(timeout) // the timeout counts from the task's start
		w = &waiter{x: x, ch: make(chan callback, 1)}
		r.mu.Lock()
		if x.Status != Running {
			r.mu.Unlock()
			release()
			return nil, context.Canceled
		}
		r.tokens[token] = w
		x.Token, x.Deadline = token, deadline
		r.mu.Unlock()

		if _, err := r.invoke(ctx, x, name, st, input, token); err != nil {
			release()
			r.mu.Lock()
			delete(r.tokens, token)
			x.Token, x.Deadline = "", time.Time{}
			r.mu.Unlock()
			return nil, err
		}
		r.mu.Lock()
		if x.Status == Running && x.Token == token {
			x.Awaiting = true
			r.save(x.ctx, x)
		}
		r.mu.Unlock()
	}
	defer release()

	var cb callback
	select {
	case cb = <-w.ch:
	case <-timer:
		r.mu.Lock()
		_, pending := r.tokens[token]
		delete(r.tokens, token)
		r.mu.Unlock()
		if pending {
			r.clearAwait(x)
			return nil, &aslError{Name: ErrorTimeout, Cause: "the await task timed out"}
		}
		cb = <-w.ch // a result was sent as the timer fired: it won
	case <-ctx.Done():
		if x.ctx.Err() == nil {
			// A sibling branch failed: the token stops working.
			r.mu.Lock()
			delete(r.tokens, token)
			r.mu.Unlock()
			r.clearAwait(x)
		}
		return nil, ctx.Err()
	}
	r.clearAwait(x)
	if cb.err != "" {
		return nil, &aslError{Name: cb.err, Cause: ""}
	}
	var out any
	if err := json.Unmarshal(cb.output, &out); err != nil {
		return nil, runtimeError("task result: %v", err)
	}
	return out, nil
}

// clearAwait forgets x's pending await.
func (r *Runner) clearAwait(x *execution) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if x.Status == Running {
		x.Token, x.Deadline, x.Awaiting = "", time.Time{}, false
	}
}

// invoke evaluates the task's Parameters and calls the step its Payload
// names, through JSON, as the Lambda would be called.
func (r *Runner) invoke(ctx context.Context, x *execution, name string, st *state, input any, token string) (any, error) {
	params, err := evalTemplate(st.Parameters, input, contextObject(x, name, token))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(params["Payload"])
	if err != nil {
		return nil, runtimeError("payload: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var in StepInput
	if err := dec.Decode(&in); err != nil {
		return nil, &aslError{Name: ErrorStepFailed, Cause: fmt.Sprintf("step input %s: %v", b, err)}
	}
	out, err := r.call(ctx, in)
	if err != nil {
		return nil, &aslError{Name: ErrorName(err), Cause: err.Error()}
	}
	payload, err := toValue(out)
	if err != nil {
		return nil, runtimeError("step output: %v", err)
	}
	return map[string]any{"Payload": payload, "StatusCode": float64(200)}, nil
}

// call runs Dispatch, turning a panic into an error.
func (r *Runner) call(ctx context.Context, in StepInput) (out StepOutput, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("workflow: step %s panicked: %v", in.Step, p)
		}
	}()
	return Dispatch(ctx, r.steps, in)
}

// newToken returns an opaque task token: 256 random bits, base64url.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

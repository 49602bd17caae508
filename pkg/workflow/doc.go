// Package workflow is Steward's approval workflow: its shape, written once
// in Go, and the two engines that run it.
//
// # One shape, two engines
//
// The shape is a typed Amazon States Language document built by machine.
// Definition serializes it for the CDK app (and for moto in the tests).
// Runner, used by `make run` where no Step Functions exists, interprets
// the very same Go value: it is a small ASL interpreter for exactly the
// fields the typed states can express (Task with lambda:invoke and
// lambda:invoke.waitForTaskToken, Parameters, ResultSelector, ResultPath,
// OutputPath, TimeoutSecondsPath, Retry, Catch; Pass; Choice with
// BooleanEquals, StringEquals, NumericLessThanPath and And; Parallel; inline Map with
// ItemsPath, ItemSelector ($$.Map.Item.Value) and MaxConcurrency; Succeed
// with OutputPath; Fail; paths of the form $.a.b, $[0] and $$.Task.Token;
// the intrinsic States.MathAdd). So the graph, the payloads and the error
// routing cannot drift between the two; the shared scenario list
// (testdata/scenarios.json) runs against moto 5.2.1's ASL engine and
// against Runner and asserts that both agree.
//
// # The workflow
//
// Input (StartInput): {requestId, accountId, levels, timeoutSeconds,
// timers}; the execution name is the request id. The heavy data stays in
// DynamoDB; the steps pass ids.
//
//	Prepare      lambda {step:"prepare"} -> {level}  (the first level, normally 1)
//	Level        Parallel, two branches:
//	  LevelTimers  Choice: timers -> Tick; else NoTimers
//	  NoTimers     Pass: tick = {action:"wait", seconds: timeoutSeconds}
//	  Tick         lambda {step:"tick", level} -> tick {action, seconds,
//	               batches}: what is due at the level (counted from its
//	               start) and how long it then waits
//	  TickAction   Choice: expire -> AwaitTimedOut; remind, escalate ->
//	               Remind; wait -> AwaitLevel
//	  Remind       Map over tick.batches like Notify (RemindBatch,
//	               RemindFailed): lambda {step:"notify", level, approvers,
//	               kind: remind|escalate} per batch -> AwaitLevel
//	  AwaitLevel   lambda.waitForTaskToken {step:"await", level, taskToken}
//	               (stores the token and who is asked; emails nobody; a
//	               level already decided is finished at once with the new
//	               token)
//	               TimeoutSecondsPath $.tick.seconds
//	               result (SendTaskSuccess): Decision {outcome: approved|denied}
//	               catch States.Timeout, States.HeartbeatTimeout -> AwaitTimeout
//	  AwaitTimeout Choice: timers -> Tick (again); else AwaitTimedOut
//	               (result timed_out)
//	  PlanNotify   lambda {step:"plan", level} -> {batches}: the asked
//	               approvers' ids, NotifyBatchSize a batch, once the await
//	               stored the level
//	  Notify       Map over the batches, MaxConcurrency NotifyMaxConcurrency:
//	               lambda {step:"notify", level, approvers} per batch, which
//	               mints the links and sends the emails; retries
//	               Steward.Transient (2 s, backoff 2, 6 retries); any
//	               failure left is recorded (NotifyFailed) and the other
//	               batches go on. A failed plan is recorded too (PlanFailed).
//	             result: the await's; catch Steward.Cancelled -> Cancelled
//	CheckDecision timed_out -> Expire; denied -> Denied; approved and
//	             level < levels -> NextLevel (level+1, back to Level);
//	             approved -> Approved; anything else -> InvalidDecision (Fail)
//	Expire       lambda {step:"expire", level} -> Expired
//	Approved, Denied, Cancelled, Expired: Pass states that set the outcome
//	Finalize     lambda {step:"finalize", level, outcome} -> Done (Succeed)
//
// Without timers a level's await waits timeoutSeconds once, as before
// timers existed. With timers (a level of the request reminds or
// escalates) the await's branch loops: each Tick returns the next action
// and the seconds until the level's next timer (a reminder, the
// escalation or the expiry), the await waits that long, and its timeout
// runs the next Tick; a decision meanwhile ends the loop as usual. A
// decision that raced a Tick sent its result to a token that no longer
// works (ErrTaskNotFound, which deciders take as "sent already"): the
// next await finds the level decided in DynamoDB and finishes it.
//
// A level ends when both branches have: a decided level waits for its
// fan-out to finish (a batch of a decided level sends nothing); a
// cancellation ends it at once. The timeout is caught inside the await's
// branch because moto 5.2.1 cannot fail a Parallel state with a States.*
// error. The state holds approver ids only (no addresses, no links): at
// 500 approvers the batches take about 15 KB of the 256 KB a state may
// hold, and the Map keeps no results (ResultPath null).
//
// The execution's output is {requestId, outcome, level}. Every Lambda task
// retries Lambda.ServiceException, Lambda.AWSLambdaException,
// Lambda.SdkClientException and Lambda.TooManyRequestsException (first
// after 2 s, backoff 2, up to 6 retries) and Steward.Transient, the error
// a step reports for a transient failure of its own (1 s, backoff 2, up
// to 3 retries; the notify batches' longer retry above). Any other step
// error outside the fan-out fails the execution (status FAILED; alarm on
// it). The steps are idempotent, so a retried step does
// no work twice.
//
// # Timeouts and cancellation
//
// moto 5.2.1 and AWS both support TimeoutSecondsPath on a
// waitForTaskToken task; the timeout is per await task and counts from
// the moment the await task starts (before its Lambda is invoked), in
// Step Functions and in Runner alike. A retried await task gets a new
// token and a fresh timeout, in both. With timers the level's expiry is
// the Tick step's to count (from the level's start, stored on the
// request), so the awaits between Ticks do not add up to more.
//
// A pending request is cancelled with SendTaskFailure(token,
// ErrorCancelled): the workflow then runs Finalize with outcome cancelled,
// like every other ending. (moto drops the failure's cause; nothing here
// relies on it.) Stop (StopExecution) aborts an execution without running
// Finalize, so the caller does the bookkeeping itself; it is the fallback
// when no await token is stored yet (or the Await step, finding its
// request cancelled, sends the failure with its own token). moto 5.2.1
// cannot stop an execution that waits for a task token (it ends FAILED
// with an internal States.Runtime error), so Stop is tested apart from
// the shared scenarios.
//
// Starting a name again is a no-op that returns nil while that execution
// runs with the same input (Step Functions' idempotent StartExecution,
// which moto implements too) and ErrExecutionExists otherwise; callers
// treat both as "started".
//
// # Wiring
//
// CDK: a Standard state machine whose definition body is
// Definition(FunctionARNPlaceholder) with DefinitionSubstitutions
// {"FunctionArn": fn.FunctionArn()}; its role may invoke fn. The step
// Lambda's main is lambda.Start(LambdaHandler(steps)). The API gets an
// Engine: NewSFN(client, stateMachineARN) in AWS (rights:
// states:StartExecution on the machine, states:StopExecution on its
// executions, states:SendTaskSuccess and states:SendTaskFailure), or a
// Runner locally.
//
// # The step Lambda
//
// One Lambda handles every step: LambdaHandler(steps) switches on
// StepInput.Step (steps is a Mux: document approvals by default, access
// requests by their id prefix "acr_") and reports a Transient error as Steward.Transient and
// any other error as Steward.StepFailed. Runner calls the same Dispatch,
// after sending the payload through JSON (strictly: unknown fields fail),
// so the JSON contract is exercised locally too.
//
// # Runner state
//
// Runner keeps its executions in memory. With a Journal (DirJournal
// writes one JSON file per execution under a folder) it saves every
// execution at each top-level state and resumes the running ones when a
// new Runner starts: an await whose Lambda had already run keeps its task
// token and its original deadline (its Level's branches run again from
// their start, a Tick included, up to the await); any other state runs
// again (the steps are idempotent). Without a Journal a restart of `make run` loses the
// in-flight executions.
package workflow

package alerts

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/stewardhq/steward/pkg/team"
)

// The job in units of one account: Schedule (the hourly run) only lists
// the accounts at their alert hour and hands each one a Task; RunTask (a
// worker: the SQS-triggered invocation in AWS, the same process locally)
// sends one account's digests. An account's failure fails its task alone,
// which is retried alone; the outbox keys keep it to one digest per
// member per day however often a task runs.

// Task is one account's unit of the alert job: send the account's digests
// of the run at At. At is the scheduled run's time, not the time the task
// runs: a delayed or retried task still sends the digest of the day it was
// scheduled for (and its outbox key).
type Task struct {
	AccountID string    `json:"accountId"`
	At        time.Time `json:"at"`
	// Force sends whatever the account's alert hour (make invoke).
	Force bool `json:"force,omitempty"`
}

// EnqueueBatch is the most tasks Schedule hands to Enqueue at once (an
// SQS SendMessageBatch).
const EnqueueBatch = 10

// SpreadWindow is how long after the hour the scheduled tasks start: the
// longest delay SQS gives a message (15 minutes).
const SpreadWindow = 15 * time.Minute

// Enqueue hands tasks (at most EnqueueBatch) to the workers. It returns
// only when every task was accepted, or an error.
type Enqueue func(ctx context.Context, tasks []Task) error

// Spread is an account's delay within window: a hash of its id, in whole
// seconds, so the accounts due at one hour start over the window rather
// than at once, and a re-run of the same hour enqueues each account with
// the same delay.
func Spread(account string, window time.Duration) time.Duration {
	secs := uint32(window / time.Second)
	if secs == 0 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(account))
	return time.Duration(h.Sum32()%secs) * time.Second
}

// RunOptions controls one run of the job.
type RunOptions struct {
	// Force runs every account now, whatever its alert hour (make invoke).
	Force bool
	// Now overrides the clock.
	Now time.Time
	// Account, when set, limits the run to that account.
	Account string
}

// RunReport sums up a run.
type RunReport struct {
	Accounts int `json:"accounts"`
	Due      int `json:"due"`
	// Enqueued counts the due accounts handed to the workers (a scheduled
	// run in AWS; absent when the run sent the digests itself).
	Enqueued int `json:"enqueued,omitempty"`
	Sent     int `json:"sent"`
	// Skipped counts digests already sent that day.
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
}

// Schedule lists the accounts due at their alert hour (every account when
// forced; only o.Account when set) and hands each one Task, once, to
// enqueue, EnqueueBatch at a time. It sends nothing itself and reads only
// the account list, so it runs in seconds for thousands of accounts. A
// batch enqueue refuses is logged and joined to the error; the other
// batches are still enqueued (a repeated run is harmless: the outbox keys).
func (s *Service) Schedule(ctx context.Context, o RunOptions, enqueue Enqueue) (RunReport, error) {
	now := o.Now
	if now.IsZero() {
		now = s.Now.Now()
	}
	var rep RunReport
	var errs []error
	batch := make([]Task, 0, EnqueueBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := enqueue(ctx, batch); err != nil {
			ids := make([]string, len(batch))
			for i, t := range batch {
				ids[i] = t.AccountID
			}
			s.logger().ErrorContext(ctx, "alerts: enqueue failed", "accounts", ids, "error", err)
			errs = append(errs, fmt.Errorf("enqueue %v: %w", ids, err))
		} else {
			rep.Enqueued += len(batch)
		}
		batch = batch[:0]
	}
	err := s.Store.ListAccounts(ctx, func(a team.Account) error {
		if o.Account != "" && a.ID != o.Account {
			return nil
		}
		rep.Accounts++
		if !o.Force && !DueNow(a, now) {
			return nil
		}
		rep.Due++
		batch = append(batch, Task{AccountID: a.ID, At: now, Force: o.Force})
		if len(batch) == EnqueueBatch {
			flush()
		}
		return ctx.Err()
	})
	if err != nil {
		errs = append(errs, err)
	}
	flush()
	s.logger().InfoContext(ctx, "alerts: scheduled", "accounts", rep.Accounts, "due", rep.Due, "enqueued", rep.Enqueued)
	return rep, errors.Join(errs...)
}

// RunTask sends one account's digests of the task's run: those not sent
// yet that day. An account deleted since it was scheduled, or no longer
// at its alert hour at t.At (its settings changed), sends nothing. The
// error (any member's digest failing) means the task should be retried;
// the retry skips the digests already sent.
func (s *Service) RunTask(ctx context.Context, t Task) (RunReport, error) {
	rep := RunReport{Accounts: 1}
	a, err := s.Store.GetAccount(ctx, t.AccountID)
	if errors.Is(err, team.ErrAccountNotFound) {
		return RunReport{}, nil
	}
	if err != nil {
		return rep, fmt.Errorf("account %s: %w", t.AccountID, err)
	}
	at := t.At
	if at.IsZero() {
		at = s.Now.Now()
	}
	if !t.Force && !DueNow(a, at) {
		return rep, nil
	}
	rep.Due = 1
	rep.Sent, rep.Skipped, rep.Failed, err = s.RunAccount(ctx, a, at)
	if err != nil {
		s.logger().ErrorContext(ctx, "alerts: account failed", "account", a.ID, "error", err)
		return rep, fmt.Errorf("account %s: %w", a.ID, err)
	}
	return rep, nil
}

// Run is the whole job in one process: Schedule, with each task run at
// once by RunTask (the local stack's ticker, make invoke, and a
// deployment without a work queue). A failing account is logged and
// counted; the others still run. The error joins the accounts' errors.
func (s *Service) Run(ctx context.Context, o RunOptions) (RunReport, error) {
	var rep RunReport
	var errs []error
	sched, err := s.Schedule(ctx, o, func(ctx context.Context, tasks []Task) error {
		for _, t := range tasks {
			r, err := s.RunTask(ctx, t)
			rep.Sent += r.Sent
			rep.Skipped += r.Skipped
			rep.Failed += r.Failed
			if err != nil {
				errs = append(errs, err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	rep.Accounts, rep.Due = sched.Accounts, sched.Due
	s.logger().InfoContext(ctx, "alerts: run", "accounts", rep.Accounts, "due", rep.Due, "sent", rep.Sent, "skipped", rep.Skipped, "failed", rep.Failed)
	return rep, errors.Join(errs...)
}

package workflow

import (
	"context"
	"slices"
	"time"
)

// Helpers shared by the Steps implementations (document approvals and
// access requests): the fan-out's planning and the pacing of its emails.

// DefaultSendInterval paces one Notify step's emails: with
// NotifyMaxConcurrency (2) batches at once, at most 12 emails a second
// leave, under SES's default sending rate of 14 a second.
const DefaultSendInterval = time.Second / 6

// How PlanNotify waits for the await to be stored (both start at once).
const (
	planPoll  = 200 * time.Millisecond
	planPolls = 15
	// PlanWait is the longest one PlanNotify step waits.
	PlanWait = planPoll * planPolls
)

// PlanBatches is PlanNotify's wait: before each read it waits planPoll,
// then read says whether the await is stored (stored: ids are who to
// email, put in batches of NotifyBatchSize) or nobody is left to email
// (ended). After PlanWait without either it returns notYet, as Transient,
// so that the workflow retries the step.
func PlanBatches(ctx context.Context, read func(context.Context) (ids []string, stored, ended bool, err error), notYet error) (StepOutput, error) {
	for i := 0; i < planPolls; i++ {
		select {
		case <-time.After(planPoll):
		case <-ctx.Done():
			return StepOutput{}, ctx.Err()
		}
		ids, stored, ended, err := read(ctx)
		switch {
		case err != nil:
			return StepOutput{}, err
		case ended:
			return StepOutput{}, nil
		case stored:
			var out StepOutput
			for b := range slices.Chunk(ids, NotifyBatchSize) {
				out.Batches = append(out.Batches, b)
			}
			return out, nil
		}
	}
	return StepOutput{}, Transient(notYet)
}

// Paced calls send(i) for i in [0, n), at least interval apart
// (DefaultSendInterval when interval is not positive). It stops with
// ctx's error, as Transient, when ctx ends while it waits.
func Paced(ctx context.Context, n int, interval time.Duration, send func(i int)) error {
	if interval <= 0 {
		interval = DefaultSendInterval
	}
	var last time.Time
	for i := range n {
		if wait := interval - time.Since(last); !last.IsZero() && wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return Transient(ctx.Err())
			}
		}
		last = time.Now()
		send(i)
	}
	return nil
}

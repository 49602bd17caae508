package workflow

import (
	"context"
	"strings"
)

// Mux runs one state machine for several kinds of request: each step goes
// to the Steps registered for the longest prefix of its request id (for
// example "acr_" for access requests), else to Default (document
// approvals). Wire it where the steps are wired: the step Lambda's main,
// the local Runner and the tests.
type Mux struct {
	// Default runs the steps of a request id no prefix matches.
	Default Steps
	// ByPrefix runs the steps of request ids that start with its key.
	ByPrefix map[string]Steps
}

var _ Steps = Mux{}

func (m Mux) pick(id string) Steps {
	best, n := m.Default, -1
	for p, s := range m.ByPrefix {
		if strings.HasPrefix(id, p) && len(p) > n {
			best, n = s, len(p)
		}
	}
	return best
}

// Prepare runs the request's Prepare.
func (m Mux) Prepare(ctx context.Context, in StepInput) (StepOutput, error) {
	return m.pick(in.RequestID).Prepare(ctx, in)
}

// Await runs the request's Await.
func (m Mux) Await(ctx context.Context, in StepInput) error {
	return m.pick(in.RequestID).Await(ctx, in)
}

// PlanNotify runs the request's PlanNotify.
func (m Mux) PlanNotify(ctx context.Context, in StepInput) (StepOutput, error) {
	return m.pick(in.RequestID).PlanNotify(ctx, in)
}

// Notify runs the request's Notify.
func (m Mux) Notify(ctx context.Context, in StepInput) error {
	return m.pick(in.RequestID).Notify(ctx, in)
}

// Expire runs the request's Expire.
func (m Mux) Expire(ctx context.Context, in StepInput) error {
	return m.pick(in.RequestID).Expire(ctx, in)
}

// Finalize runs the request's Finalize.
func (m Mux) Finalize(ctx context.Context, in StepInput) error {
	return m.pick(in.RequestID).Finalize(ctx, in)
}

// Tick runs the request's Tick (only requests started with timers have
// Tick steps).
func (m Mux) Tick(ctx context.Context, in StepInput) (StepOutput, error) {
	return m.pick(in.RequestID).Tick(ctx, in)
}

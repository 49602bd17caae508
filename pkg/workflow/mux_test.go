package workflow

import (
	"context"
	"testing"
)

// recordSteps records which Steps ran a step.
type recordSteps struct {
	name string
	ran  *[]string
}

func (r recordSteps) note(in StepInput) { *r.ran = append(*r.ran, r.name+":"+string(in.Step)) }
func (r recordSteps) Prepare(_ context.Context, in StepInput) (StepOutput, error) {
	r.note(in)
	return StepOutput{Level: 1}, nil
}
func (r recordSteps) Await(_ context.Context, in StepInput) error { r.note(in); return nil }
func (r recordSteps) PlanNotify(_ context.Context, in StepInput) (StepOutput, error) {
	r.note(in)
	return StepOutput{}, nil
}
func (r recordSteps) Notify(_ context.Context, in StepInput) error   { r.note(in); return nil }
func (r recordSteps) Expire(_ context.Context, in StepInput) error   { r.note(in); return nil }
func (r recordSteps) Finalize(_ context.Context, in StepInput) error { r.note(in); return nil }
func (r recordSteps) Tick(_ context.Context, in StepInput) (StepOutput, error) {
	r.note(in)
	return StepOutput{}, nil
}

// TestMuxDispatchesByRequestIDPrefix: every step of a request goes to the
// Steps of the longest matching prefix, else to the default.
func TestMuxDispatchesByRequestIDPrefix(t *testing.T) {
	var ran []string
	m := Mux{
		Default: recordSteps{"approvals", &ran},
		ByPrefix: map[string]Steps{
			"acr_":  recordSteps{"access", &ran},
			"acr_x": recordSteps{"longer", &ran},
		},
	}
	steps := []StepInput{
		{Step: Prepare}, {Step: Await, Level: 1, TaskToken: "t"}, {Step: PlanNotify, Level: 1},
		{Step: Notify, Level: 1, Approvers: []string{"m_1"}}, {Step: Expire, Level: 1}, {Step: Finalize, Level: 1, Outcome: Expired},
	}
	for _, c := range []struct{ id, want string }{{"apr_1", "approvals"}, {"acr_1", "access"}, {"acr_x1", "longer"}, {"xacr_1", "approvals"}} {
		ran = nil
		for _, in := range steps {
			in.RequestID, in.AccountID, in.Levels = c.id, "a_1", 1
			if _, err := Dispatch(context.Background(), m, in); err != nil {
				t.Fatalf("%s %s: %v", c.id, in.Step, err)
			}
		}
		if len(ran) != len(steps) {
			t.Fatalf("%s: ran %v", c.id, ran)
		}
		for i, r := range ran {
			if want := c.want + ":" + string(steps[i].Step); r != want {
				t.Errorf("%s: step %d ran as %s, want %s", c.id, i, r, want)
			}
		}
	}
}

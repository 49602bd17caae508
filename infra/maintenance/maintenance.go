// Package maintenance is the store's background upkeep, one bounded run
// at a time: it resumes the custom-role deletions a DELETE left half-done
// for more than StaleAfter (found through the store's sparse ROLEDELETING
// index, never a scan) and runs the once-per-deployment migration of
// existing accounts (store.BackfillApprovalIndexes and
// store.MoveDeletedMembers, account by account, recorded in a marker item
// and resumable from its cursor).
//
// It writes account partitions (members, roles, requests), so it is not
// part of the alert job, whose IAM role may write only digest outbox
// records and unsubscribe tokens (store.AlertsJobLeadingKeys). It runs
// as a command against a stage's table (`make maintenance`, ./run: once,
// or every hour with -every 1h) and, in the local stack, on an hourly
// ticker. A scheduled Lambda of its own is not deployed yet.
package maintenance

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/stewardhq/steward/pkg/store"
)

// BackfillStep is the marker name of the migration: bump it to run a new
// migration once more on a deployed table.
const BackfillStep = "backfill-approval-indexes-v1"

// DefaultStaleAfter is how long a role deletion may sit marked before a
// run resumes it: a DELETE still under way is left to its caller.
const DefaultStaleAfter = 10 * time.Minute

// DefaultBudget bounds one run.
const DefaultBudget = 5 * time.Minute

// roleDeletionsPerRun caps the half-done deletions one run looks at.
const roleDeletionsPerRun = 100

// RoleResumer carries on a role deletion (permissions.Service).
type RoleResumer interface {
	ResumeRoleDeletion(ctx context.Context, account, id string, budget time.Duration) (bool, error)
}

// Service runs the upkeep.
type Service struct {
	Store  *store.Store
	Roles  RoleResumer
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Options shape one run.
type Options struct {
	// Budget bounds the run (DefaultBudget when 0): no new role chunk or
	// account starts after it.
	Budget time.Duration
	// StaleAfter: deletions marked longer ago are resumed
	// (DefaultStaleAfter when 0).
	StaleAfter time.Duration
	// SkipBackfill leaves the migration out.
	SkipBackfill bool
}

// Report says what a run did.
type Report struct {
	RoleDeletionsSeen     int `json:"roleDeletionsSeen"`
	RoleDeletionsFinished int `json:"roleDeletionsFinished"`
	// BackfilledAccounts is how many accounts this run migrated.
	BackfilledAccounts int  `json:"backfilledAccounts"`
	MovedDeleted       int  `json:"movedDeletedMembers"`
	BackfillDone       bool `json:"backfillDone"`
}

var errOutOfTime = errors.New("maintenance: out of time")

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Run does one bounded run: role deletions first (they hold a role
// half-deleted for its holders), then the migration while time is left.
// A role deletion that fails is logged and left for the next run; an
// error of the store's reads ends the run.
func (s *Service) Run(ctx context.Context, o Options) (Report, error) {
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	start := s.now()
	deadline := start.Add(o.Budget)
	var rep Report
	refs, err := s.Store.RoleDeletionsBefore(ctx, start.Add(-o.StaleAfter), roleDeletionsPerRun)
	if err != nil {
		return rep, err
	}
	rep.RoleDeletionsSeen = len(refs)
	for _, r := range refs {
		left := deadline.Sub(s.now())
		if left <= 0 {
			return rep, nil
		}
		done, err := s.Roles.ResumeRoleDeletion(ctx, r.AccountID, r.RoleID, left)
		if err != nil {
			s.log().ErrorContext(ctx, "maintenance: role deletion not resumed", "account", r.AccountID, "role", r.RoleID, "error", err)
			continue
		}
		if done {
			rep.RoleDeletionsFinished++
		}
	}
	if o.SkipBackfill {
		return rep, nil
	}
	err = s.backfill(ctx, deadline, &rep)
	if errors.Is(err, errOutOfTime) {
		return rep, nil
	}
	return rep, err
}

// backfill migrates the accounts after the marker's cursor, recording the
// cursor after each, and marks the step done at the end.
func (s *Service) backfill(ctx context.Context, deadline time.Time, rep *Report) error {
	run, err := s.Store.GetMaintenanceRun(ctx, BackfillStep)
	if err != nil {
		return err
	}
	if run.Done {
		rep.BackfillDone = true
		return nil
	}
	err = s.Store.ListAccountIDsAfter(ctx, run.Cursor, func(id string) error {
		if !s.now().Before(deadline) {
			return errOutOfTime
		}
		if err := s.Store.BackfillApprovalIndexes(ctx, id); err != nil {
			return err
		}
		n, err := s.Store.MoveDeletedMembers(ctx, id)
		if err != nil {
			return err
		}
		rep.BackfilledAccounts++
		rep.MovedDeleted += n
		return s.Store.PutMaintenanceRun(ctx, BackfillStep, store.MaintenanceRun{Cursor: id})
	})
	if err != nil {
		return err
	}
	rep.BackfillDone = true
	return s.Store.PutMaintenanceRun(ctx, BackfillStep, store.MaintenanceRun{Done: true})
}

// RunTicker runs the upkeep every interval until ctx ends (the local
// stack's stand-in for the hourly schedule).
func RunTicker(ctx context.Context, svc *Service, every time.Duration, o Options) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := svc.Run(ctx, o); err != nil && ctx.Err() == nil {
			svc.log().Error("maintenance: run failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

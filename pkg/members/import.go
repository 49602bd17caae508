package members

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Import (POST /v1/users/import) creates many inactive members in one
// call, each row exactly as CreateInactive creates one (POST /v1/users):
// the same validation, grant ceiling, email uniqueness, audit event
// member.create and so the same change events. Seed 003: inactive end
// users "installed ... via a user import", who cannot sign in and are
// ordered for by others.
//
//   - The request is refused whole only when it is empty or longer than
//     MaxImportRows (400 import_empty, import_too_large), or when the
//     caller holds users.manage nowhere (403 outside_managed_scope, as
//     POST /v1/users answers such a caller) or is impersonated.
//   - Otherwise each row stands alone: its own transaction, all or
//     nothing; one row's failure (its code and detail, as POST /v1/users
//     would answer it) never touches another. A later row repeating an
//     earlier row's email fails with duplicate_in_file, whatever the
//     earlier row's outcome.
//   - At most ImportConcurrency rows are written at once. A row whose
//     transaction kept colliding with the others' (code busy) is tried
//     again, up to importAttempts times.
//
// The results are in row order.

// MaxImportRows is the most rows one import takes.
const MaxImportRows = 1000

// ImportConcurrency is how many rows an import writes at once.
const ImportConcurrency = 8

// importAttempts is how often a row that failed as busy is tried.
const importAttempts = 4

// ImportRow is one row of an import: the body of POST /v1/users, or the
// error reading it (ParseErr, reported as the row's failure).
type ImportRow struct {
	Email       string
	Name        string
	Admin       bool
	Assignments []rbac.Assignment
	ParseErr    error
}

// ImportResult is one row's outcome: Member when created, else Err.
type ImportResult struct {
	Row    int
	Member team.Member
	Err    *fault.Error
}

var (
	errImportEmpty    = fault.New(fault.Invalid, "import_empty", "The import names no users: send at least one row in users.")
	errImportTooLarge = fault.New(fault.Invalid, "import_too_large", "An import takes at most 1000 users; split the file into several calls.")
	errImportNoManage = fault.New(fault.Forbidden, "outside_managed_scope", "You need users.manage to create members.")
	errDuplicateRow   = fault.New(fault.Conflict, "duplicate_in_file", "An earlier row of this import has the same email.")
	errRowInternal    = fault.New(fault.Internal, "internal_error", "This row could not be created because of an internal error; nothing of it was written. Retry it.")
)

// CheckImportSize refuses an empty or oversized import (400).
func CheckImportSize(n int) error {
	switch {
	case n == 0:
		return errImportEmpty
	case n > MaxImportRows:
		return errImportTooLarge
	}
	return nil
}

// holdsUsersManage reports whether the principal holds users.manage at
// any scope.
func holdsUsersManage(p *auth.Principal) bool {
	for _, sp := range p.Authz.Effective() {
		if slices.Contains(sp.Permissions, rbac.PermUsersManage) {
			return true
		}
	}
	return false
}

// Import creates the rows' inactive members; see the comment above.
func (s *Service) Import(ctx context.Context, p *auth.Principal, rows []ImportRow) ([]ImportResult, error) {
	if err := CheckImportSize(len(rows)); err != nil {
		return nil, err
	}
	if p.Impersonated() {
		return nil, auth.ErrImpersonated
	}
	if !holdsUsersManage(p) {
		return nil, errImportNoManage
	}
	results := make([]ImportResult, len(rows))
	seen := make(map[string]bool, len(rows))
	var todo []int
	for i, r := range rows {
		results[i].Row = i
		if r.ParseErr != nil {
			results[i].Err = rowFault(ctx, r.ParseErr)
			continue
		}
		if e, err := team.NormalizeEmail(r.Email); err == nil {
			if seen[e] {
				results[i].Err = errDuplicateRow
				continue
			}
			seen[e] = true
		}
		todo = append(todo, i)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(ImportConcurrency, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				m, err := s.importRow(ctx, p, rows[i])
				if err != nil {
					results[i].Err = rowFault(ctx, err)
					continue
				}
				results[i].Member = m
			}
		}()
	}
	for _, i := range todo {
		work <- i
	}
	close(work)
	wg.Wait()
	return results, nil
}

// importRow creates one row's member, trying again while it is busy.
func (s *Service) importRow(ctx context.Context, p *auth.Principal, r ImportRow) (team.Member, error) {
	for attempt := 1; ; attempt++ {
		m, err := s.CreateInactive(ctx, p, r.Email, r.Name, r.Admin, slices.Clone(r.Assignments))
		var f *fault.Error
		if err == nil || attempt == importAttempts || !errors.As(err, &f) || f.Code != "busy" {
			return m, err
		}
		select {
		case <-ctx.Done():
			return team.Member{}, err
		case <-time.After(time.Duration(attempt*50+rand.IntN(100)) * time.Millisecond):
		}
	}
}

// rowFault is err as a row's failure: a domain error as it is, anything
// else logged and reported as internal_error.
func rowFault(ctx context.Context, err error) *fault.Error {
	var f *fault.Error
	if errors.As(err, &f) {
		return f
	}
	httpapi.Logger(ctx).Error("import row", "error", err.Error())
	return errRowInternal
}

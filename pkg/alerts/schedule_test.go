package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// jobHour is the alert hour of the accounts these tests seed: no other
// test of the package uses it (they keep the default, 07:00).
const jobHour = 3

// seedAlertAccount writes an account (UTC, alert hour hour) with its owner,
// admins more admin members, store s1 and lowItems items below their
// threshold there: every member gets a digest.
func seedAlertAccount(t *testing.T, st *store.Store, hour, admins, lowItems int) team.Account {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Job", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.Settings.AlertHour = hour
	ident := team.Identity{ID: store.NewID("i"), Email: testenv.NewID("job") + "@example.com", CreatedAt: now, UpdatedAt: now}
	owner := team.Member{ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.OwnerID = owner.ID
	ev := audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"}
	if err := st.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true}, ev); err != nil {
		t.Fatal(err)
	}
	for i := range admins {
		m := team.Member{ID: store.NewID("m"), AccountID: acct.ID, Email: testenv.NewID("jobadmin") + "@example.com", Name: fmt.Sprintf("Admin %d", i),
			Status: rbac.StatusActive, Admin: true, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := st.AddMember(ctx, m, audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "member.create"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.PutStore(ctx, acct.ID, team.Store{ID: "s1", Name: "Store s1"}, audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "store.put"}); err != nil {
		t.Fatal(err)
	}
	levels := make([]store.StockLevel, lowItems)
	for i := range levels {
		levels[i] = store.StockLevel{Store: "s1", SKU: fmt.Sprintf("SKU-%03d", i), Name: "Widget", OnHand: 1, Threshold: 10}
	}
	if lowItems > 0 {
		if err := st.PutStockLevels(ctx, acct.ID, levels); err != nil {
			t.Fatal(err)
		}
	}
	return acct
}

// failingMail fails every digest of the accounts in fail.
type failingMail struct {
	inner Mailer
	mu    sync.Mutex
	fail  map[string]bool
	sends int
}

func (f *failingMail) Send(ctx context.Context, key string, m mail.Message) (string, bool, error) {
	f.mu.Lock()
	f.sends++
	failing := false
	for a := range f.fail {
		if strings.HasPrefix(key, "digest/"+a+"/") {
			failing = true
		}
	}
	f.mu.Unlock()
	if failing {
		return "", false, errors.New("ses: throttled")
	}
	return f.inner.Send(ctx, key, m)
}

func jobService(t *testing.T) (*Service, *store.Store, *failingMail) {
	t.Helper()
	d := testenv.DynamoDB(t)
	st, err := store.New(d.Client, d.Table, make([]byte, store.CursorKeySize))
	if err != nil {
		t.Fatal(err)
	}
	ses := testenv.SES(t)
	sender, err := sesmail.New(ses.Client, mail.Address{Name: "Steward", Email: "no-reply@steward.test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	fm := &failingMail{inner: &mail.Outbox{Sender: sender, Deduper: st.Outbox()}, fail: map[string]bool{}}
	return &Service{Store: st, Mail: fm, PublicURL: "https://steward.test"}, st, fm
}

// The scheduled run hands every account due at the hour to the workers
// exactly once, in batches of at most EnqueueBatch, and no account that
// is not due; a batch the queue refuses does not stop the others.
func TestScheduleEnqueuesEachDueAccountOnce(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := jobService(t)
	var due []team.Account
	for range 12 {
		due = append(due, seedAlertAccount(t, st, jobHour, 0, 0))
	}
	notDue := seedAlertAccount(t, st, jobHour+1, 0, 0)
	now := time.Date(2026, 3, 10, jobHour, 0, 0, 0, time.UTC)

	seen := map[string]int{}
	calls := 0
	rep, err := svc.Schedule(ctx, RunOptions{Now: now}, func(_ context.Context, tasks []Task) error {
		calls++
		if len(tasks) == 0 || len(tasks) > EnqueueBatch {
			t.Errorf("batch of %d tasks", len(tasks))
		}
		for _, tk := range tasks {
			seen[tk.AccountID]++
			if !tk.At.Equal(now) || tk.Force {
				t.Errorf("task %+v: want At %s, not forced", tk, now)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("account %s enqueued %d times", id, n)
		}
	}
	for _, a := range due {
		if seen[a.ID] != 1 {
			t.Errorf("due account %s not enqueued", a.ID)
		}
	}
	if seen[notDue.ID] != 0 {
		t.Errorf("account at hour %d enqueued at %s", jobHour+1, now)
	}
	if rep.Due != len(seen) || rep.Enqueued != rep.Due || rep.Accounts < len(due)+1 || calls < 2 {
		t.Fatalf("report %+v, %d accounts enqueued in %d calls", rep, len(seen), calls)
	}

	// The queue refuses the first batch: the others are still enqueued,
	// and the run fails (so it is retried; enqueuing twice is harmless).
	calls = 0
	enqueued := 0
	rep, err = svc.Schedule(ctx, RunOptions{Now: now}, func(_ context.Context, tasks []Task) error {
		calls++
		if calls == 1 {
			return errors.New("sqs: unavailable")
		}
		enqueued += len(tasks)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "sqs: unavailable") {
		t.Fatalf("err = %v", err)
	}
	if calls < 2 || rep.Enqueued != enqueued || rep.Enqueued != rep.Due-EnqueueBatch {
		t.Fatalf("after a refused batch: report %+v, %d calls, %d enqueued", rep, calls, enqueued)
	}
}

// Each account's delay is a whole number of seconds within the window,
// the same on every run, and the accounts are spread over the window.
func TestSpread(t *testing.T) {
	perMinute := map[time.Duration]int{}
	for range 3000 {
		id := store.NewID("a")
		d := Spread(id, SpreadWindow)
		if d < 0 || d >= SpreadWindow || d%time.Second != 0 || Spread(id, SpreadWindow) != d {
			t.Fatalf("Spread(%s) = %s", id, d)
		}
		perMinute[d/time.Minute]++
	}
	if len(perMinute) != 15 {
		t.Fatalf("minutes used: %v", perMinute)
	}
	for m, n := range perMinute {
		if n < 100 || n > 300 { // 200 expected per minute
			t.Errorf("minute %d holds %d of 3000 accounts", m, n)
		}
	}
	if Spread("a1", 0) != 0 {
		t.Fatal("no window, no delay")
	}
}

// One account's failure fails its task alone: the other accounts' digests
// go out, and the failed task, run again, sends only what is missing. A
// task delivered twice sends nothing more.
func TestRunTaskFailsAloneAndRetries(t *testing.T) {
	ctx := context.Background()
	svc, st, fm := jobService(t)
	a := seedAlertAccount(t, st, jobHour, 1, 1)
	b := seedAlertAccount(t, st, jobHour, 1, 1)
	c := seedAlertAccount(t, st, jobHour, 1, 1)
	now := time.Date(2026, 3, 11, jobHour, 5, 0, 0, time.UTC)
	fm.fail[b.ID] = true

	for _, acct := range []team.Account{a, b, c} {
		rep, err := svc.RunTask(ctx, Task{AccountID: acct.ID, At: now})
		if acct.ID == b.ID {
			if err == nil || rep.Failed != 2 || rep.Sent != 0 {
				t.Fatalf("failing account: %+v, %v", rep, err)
			}
			continue
		}
		if err != nil || rep.Sent != 2 || rep.Failed != 0 || rep.Due != 1 {
			t.Fatalf("account %s beside a failing one: %+v, %v", acct.ID, rep, err)
		}
	}

	// SQS redelivers b's task (later, the same At) once SES recovers.
	fm.fail = map[string]bool{}
	rep, err := svc.RunTask(ctx, Task{AccountID: b.ID, At: now})
	if err != nil || rep.Sent != 2 || rep.Skipped != 0 {
		t.Fatalf("retried task: %+v, %v", rep, err)
	}
	// a's task delivered twice (or the hour scheduled again).
	rep, err = svc.RunTask(ctx, Task{AccountID: a.ID, At: now.Add(40 * time.Minute)})
	if err != nil || rep.Sent != 0 || rep.Skipped != 2 {
		t.Fatalf("duplicate task: %+v, %v", rep, err)
	}
	// Not at its hour (settings changed since), or deleted: nothing.
	rep, err = svc.RunTask(ctx, Task{AccountID: c.ID, At: now.Add(2 * time.Hour)})
	if err != nil || rep.Due != 0 || rep.Sent != 0 {
		t.Fatalf("task out of hour: %+v, %v", rep, err)
	}
	rep, err = svc.RunTask(ctx, Task{AccountID: "a-gone", At: now})
	if err != nil || rep != (RunReport{}) {
		t.Fatalf("task of a deleted account: %+v, %v", rep, err)
	}

	// The in-process run (the local ticker) is the same tasks: b failing
	// again does not cost a or c anything, and is counted.
	fm.fail[b.ID] = true
	next := now.AddDate(0, 0, 1)
	for _, acct := range []team.Account{a, b, c} {
		rep, err := svc.Run(ctx, RunOptions{Now: next, Account: acct.ID})
		want := RunReport{Accounts: 1, Due: 1, Sent: 2}
		if acct.ID == b.ID {
			want = RunReport{Accounts: 1, Due: 1, Failed: 2}
			if err == nil {
				t.Fatal("run over the failing account: no error")
			}
		} else if err != nil {
			t.Fatal(err)
		}
		if rep != want {
			t.Fatalf("run over %s: %+v, want %+v", acct.ID, rep, want)
		}
	}
}

// The preview answers a page of members at a time, with a cursor sealed
// for the preview, and lists at most PreviewItemsPerDigest items of each
// digest while its kinds count them all.
func TestPreviewPages(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := jobService(t)
	const items = PreviewItemsPerDigest + 10
	acct := seedAlertAccount(t, st, jobHour, 4, items)
	now := time.Now()

	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		pv, err := svc.PreviewPage(ctx, acct, now, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pv.AccountID != acct.ID || len(pv.Recipients) > 2 {
			t.Fatalf("page %d: %s, %d recipients", pages, pv.AccountID, len(pv.Recipients))
		}
		for _, d := range pv.Recipients {
			if seen[d.MemberID] {
				t.Fatalf("member %s on two pages", d.MemberID)
			}
			seen[d.MemberID] = true
			listed := 0
			for _, sd := range d.Stores {
				listed += len(sd.LowStock)
			}
			if !d.Truncated || listed != PreviewItemsPerDigest || len(d.Kinds) != 1 || d.Kinds[0].Count != items {
				t.Fatalf("digest of %s: truncated %v, %d listed, kinds %+v", d.MemberID, d.Truncated, listed, d.Kinds)
			}
		}
		if pv.Next == "" {
			break
		}
		cursor = pv.Next
		if pages > 5 {
			t.Fatal("the preview does not end")
		}
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("%d recipients over %d pages, want 5 over 3", len(seen), pages)
	}

	// One page by default holds them all; the whole plan (the job's) is
	// not cut.
	pv, err := svc.PreviewPage(ctx, acct, now, 0, "")
	if err != nil || len(pv.Recipients) != 5 || pv.Next != "" {
		t.Fatalf("default page: %d recipients, next %q, %v", len(pv.Recipients), pv.Next, err)
	}
	plan, err := svc.PlanAccount(ctx, acct, now)
	if err != nil || len(plan.Recipients) != 5 || plan.Recipients[0].Truncated || len(plan.Recipients[0].Stores[0].LowStock) != items {
		t.Fatalf("plan: %+v, %v", plan.Recipients, err)
	}

	// A member list's cursor does not page the preview.
	mp, err := st.ListMembers(ctx, acct.ID, 2, "")
	if err != nil || mp.Next == "" {
		t.Fatalf("members page: %v", err)
	}
	if _, err := svc.PreviewPage(ctx, acct, now, 2, mp.Next); !errors.Is(err, httpapi.ErrBadCursor) {
		t.Fatalf("preview with a member list cursor: %v", err)
	}
}

package alerts

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// Benchmark shape: accounts x items stock levels (1 in 20 below its
// threshold), benchStores stores and benchMembers members per account.
const (
	benchStores  = 10
	benchMembers = 20
)

// seedBench writes the accounts, their stores, members and stock.
func seedBench(b *testing.B, st *store.Store, accounts, items int) {
	ctx := context.Background()
	now := time.Now().UTC()
	var wg sync.WaitGroup
	errs := make(chan error, accounts)
	sem := make(chan struct{}, 8)
	for a := range accounts {
		acct := team.Account{ID: store.NewID("a"), Name: fmt.Sprintf("Bench %d", a), Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
		ident := team.Identity{ID: store.NewID("i"), Email: testenv.NewID("bench-owner") + "@example.com", CreatedAt: now, UpdatedAt: now}
		owner := team.Member{ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Owner",
			Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
		acct.OwnerID = owner.ID
		ev := audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"}
		if err := st.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true}, ev); err != nil {
			b.Fatal(err)
		}
		for s := range benchStores {
			id := fmt.Sprintf("s%d", s)
			if _, err := st.PutStore(ctx, acct.ID, team.Store{ID: id, Name: "Store " + id}, audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "store.put"}); err != nil {
				b.Fatal(err)
			}
		}
		roles := []string{"approver", "accountant", "team_member", "planner_replenishment"}
		for m := range benchMembers - 1 {
			mem := team.Member{ID: store.NewID("m"), AccountID: acct.ID, Email: testenv.NewID("bench") + "@example.com", Name: fmt.Sprintf("Member %d", m),
				Status: rbac.StatusActive, Version: 1, CreatedAt: now, UpdatedAt: now,
				Assignments: []rbac.Assignment{{Role: roles[m%len(roles)], Scope: rbac.StoreScope(fmt.Sprintf("s%d", m%benchStores))}}}
			if err := st.AddMember(ctx, mem, audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "member.create"}); err != nil {
				b.Fatal(err)
			}
		}
		levels := make([]store.StockLevel, items)
		for i := range levels {
			onHand := 50.0
			if (i/benchStores)%20 == 0 { // 5%, spread over every store
				onHand = 2
			}
			levels[i] = store.StockLevel{Store: fmt.Sprintf("s%d", i%benchStores), SKU: fmt.Sprintf("SKU-%06d", i), Name: fmt.Sprintf("Product %d", i), OnHand: onHand, Threshold: 10}
		}
		for start := 0; start < len(levels); start += MaxStockItems {
			chunk := levels[start:min(start+MaxStockItems, len(levels))]
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := st.PutStockLevels(ctx, acct.ID, chunk); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkJob runs the alert job (forced: every account) over
// ALERTS_BENCH_ACCOUNTS accounts (default 5) of ALERTS_BENCH_ITEMS stock
// items (default 10,000), 5% below threshold, against DynamoDB Local and
// aws-ses-v2-local, and reports per run: read and write capacity units
// DynamoDB reports consumed, the peak heap, the emails sent.
//
//	go test ./pkg/alerts/ -run '^$' -bench BenchmarkJob -benchtime 1x
func BenchmarkJob(b *testing.B) {
	accounts := envInt("ALERTS_BENCH_ACCOUNTS", 5)
	items := envInt("ALERTS_BENCH_ITEMS", 10000)
	d := testenv.DynamoDB(b)
	ses := testenv.SES(b)
	meter := &testenv.Capacity{}
	db := dynamodb.New(d.Client.Options(), meter.Option)
	key := make([]byte, store.CursorKeySize)
	st, err := store.New(db, d.Table, key)
	if err != nil {
		b.Fatal(err)
	}
	seedStart := time.Now()
	seedBench(b, st, accounts, items)
	seed := meter.Reset()
	b.Logf("seeded %d accounts x %d items in %s (%.0f WCU)", accounts, items, time.Since(seedStart).Round(time.Millisecond), seed.Write)
	sender, err := sesmail.New(ses.Client, mail.Address{Name: "Steward", Email: "no-reply@steward.test"}, "")
	if err != nil {
		b.Fatal(err)
	}
	svc := &Service{Store: st, Mail: &mail.Outbox{Sender: sender, Deduper: st.Outbox()}, PublicURL: "https://steward.test"}
	base := time.Now()
	var peak atomic.Uint64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		peak.Store(before)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		start := time.Now()
		// A new day each iteration, so the outbox lets every digest out.
		rep, err := svc.Run(context.Background(), RunOptions{Force: true, Now: base.AddDate(0, 0, i)})
		elapsed := time.Since(start)
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		u := meter.Reset()
		rcu, wcu, calls := u.Read, u.Write, u.Calls
		b.ReportMetric(rcu, "RCU/run")
		b.ReportMetric(wcu, "WCU/run")
		b.ReportMetric(float64(calls), "ddbcalls/run")
		b.ReportMetric(float64(rep.Sent), "emails/run")
		b.ReportMetric(float64(peak.Load()-before)/(1<<20), "peakheapMB")
		b.ReportMetric(elapsed.Seconds()/float64(max(rep.Due, 1)), "s/account")
		b.Logf("run %d: %d accounts, %d emails, %s, %.1f RCU, %.1f WCU, peak heap +%.1f MB over %.1f MB",
			i, rep.Due, rep.Sent, elapsed.Round(time.Millisecond), rcu, wcu, float64(peak.Load()-before)/(1<<20), float64(before)/(1<<20))
		if math.IsNaN(rcu) {
			b.Fatal("no capacity reported")
		}
	}
}

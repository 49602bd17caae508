package alerts

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// writeRecorder records every DynamoDB write call as "Action pk".
type writeRecorder struct {
	mu     sync.Mutex
	writes []string
}

func (w *writeRecorder) add(action string, k map[string]types.AttributeValue) {
	pk := ""
	if v, ok := k["pk"].(*types.AttributeValueMemberS); ok {
		pk = v.Value
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, action+" "+pk)
}

func (w *writeRecorder) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("recordWrites", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			switch p := in.Parameters.(type) {
			case *dynamodb.PutItemInput:
				w.add("PutItem", p.Item)
			case *dynamodb.UpdateItemInput:
				w.add("UpdateItem", p.Key)
			case *dynamodb.DeleteItemInput:
				w.add("DeleteItem", p.Key)
			case *dynamodb.BatchWriteItemInput:
				w.add("BatchWriteItem", nil)
			case *dynamodb.TransactWriteItemsInput:
				for _, it := range p.TransactItems {
					switch {
					case it.Put != nil:
						w.add("PutItem", it.Put.Item)
					case it.Update != nil:
						w.add("UpdateItem", it.Update.Key)
					case it.Delete != nil:
						w.add("DeleteItem", it.Delete.Key)
					case it.ConditionCheck != nil:
						w.add("ConditionCheckItem", it.ConditionCheck.Key)
					}
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	})
}

// Every write of an alert job run (a digest with its unsubscribe link)
// is one the job's IAM policy allows: PutItem, UpdateItem or DeleteItem
// on a partition matching store.AlertsJobLeadingKeys (the CDK stack's
// dynamodb:LeadingKeys condition), so the job can write its own token
// kind and outbox records and nothing else.
func TestAlertsJobWritesOnlyItsOwnPartitions(t *testing.T) {
	ctx := context.Background()
	d := testenv.DynamoDB(t)
	seed, err := store.New(d.Client, d.Table, make([]byte, store.CursorKeySize))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Keys", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ident := team.Identity{ID: store.NewID("i"), Email: testenv.NewID("jobkeys") + "@example.com", CreatedAt: now, UpdatedAt: now}
	owner := team.Member{ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.OwnerID = owner.ID
	ev := audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"}
	if err := seed.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true}, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.PutStore(ctx, acct.ID, team.Store{ID: "s1", Name: "Store s1"}, audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "store.put"}); err != nil {
		t.Fatal(err)
	}
	if err := seed.PutStockLevels(ctx, acct.ID, []store.StockLevel{{Store: "s1", SKU: "SKU-1", Name: "Widget", OnHand: 1, Threshold: 10}}); err != nil {
		t.Fatal(err)
	}

	rec := &writeRecorder{}
	st, err := store.New(dynamodb.New(d.Client.Options(), rec.option), d.Table, make([]byte, store.CursorKeySize))
	if err != nil {
		t.Fatal(err)
	}
	ses := testenv.SES(t)
	sender, err := sesmail.New(ses.Client, mail.Address{Name: "Steward", Email: "no-reply@steward.test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: st, Mail: &mail.Outbox{Sender: sender, Deduper: st.Outbox()}, PublicURL: "https://steward.test"}
	sent, _, failed, err := svc.RunAccount(ctx, acct, now)
	if err != nil || sent != 1 || failed != 0 {
		t.Fatalf("run: sent %d, failed %d, err %v", sent, failed, err)
	}

	allowed := map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true}
	var tokenWrites int
	for _, w := range rec.writes {
		action, pk, _ := strings.Cut(w, " ")
		ok := false
		for _, pattern := range store.AlertsJobLeadingKeys {
			// Each pattern is a literal prefix and a final * (which IAM's
			// StringLike lets match any characters).
			if !strings.HasSuffix(pattern, "*") || strings.ContainsAny(strings.TrimSuffix(pattern, "*"), "*?") {
				t.Fatalf("pattern %q is not a prefix and a final *", pattern)
			}
			if strings.HasPrefix(pk, strings.TrimSuffix(pattern, "*")) {
				ok = true
			}
		}
		if !allowed[action] || !ok {
			t.Errorf("the job wrote %q, which its IAM policy refuses (actions PutItem/UpdateItem/DeleteItem on %v)", w, store.AlertsJobLeadingKeys)
		}
		if strings.HasPrefix(pk, "TOKEN#") {
			tokenWrites++
		}
	}
	if tokenWrites < 2 {
		t.Fatalf("no unsubscribe token written (writes %q)", rec.writes)
	}
	t.Logf("job writes: %q", rec.writes)
}

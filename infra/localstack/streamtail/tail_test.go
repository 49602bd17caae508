package streamtail_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/stewardhq/steward/infra/localstack/streamtail"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestTailPublishesNewAuditItemsInOrderAndRetriesAFailedBatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := testenv.DynamoDB(t)
	k := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(k)
	st, err := store.New(d.Client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := store.LatestStream(ctx, d.Client, d.Table)
	if err != nil || arn == "" {
		t.Fatalf("the table has no stream: %q %v", arn, err)
	}
	account := store.NewID("a")
	// A change made before the tail starts is not published.
	if _, err := st.PutStore(ctx, account, team.Store{ID: "before", Name: "Before"}, audit.Event{AccountID: account, ActorID: "m", Action: "store.put", TargetID: "before"}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []string
	failOnce := true
	client := dynamodbstreams.New(dynamodbstreams.Options{
		Region: testenv.Region, BaseEndpoint: aws.String(d.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, nil
		}),
	})
	tail := &streamtail.Tail{Client: client, Stream: arn, Every: 20 * time.Millisecond,
		Publish: func(_ context.Context, batch []audit.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if failOnce {
				failOnce = false
				return errors.New("the publisher is down")
			}
			for _, ev := range batch {
				if ev.AccountID == account {
					got = append(got, ev.TargetID)
				}
			}
			return nil
		}}
	started := make(chan struct{})
	go func() { _ = tail.Run(ctx, started) }()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the tail did not start")
	}
	for i := range 5 {
		id := fmt.Sprintf("s%d", i)
		if _, err := st.PutStore(ctx, account, team.Store{ID: id, Name: "Store"}, audit.Event{AccountID: account, ActorID: "m", Action: "store.put", TargetID: id}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 20*time.Second, "the five changes to be published", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 5 {
			return fmt.Errorf("published %v", got)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[s0 s1 s2 s3 s4]" {
		t.Fatalf("published %v, want s0..s4 once each in order (and not the change made before the tail started)", got)
	}
}

package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	. "github.com/stewardhq/steward/pkg/store"
)

// TestMailCapTakeIsAtomic: many concurrent takes of one counter succeed
// exactly limit times (the increment and the check are one conditional
// write), and a new window starts once the first one has ended.
func TestMailCapTakeIsAtomic(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	k := MailCapRecipientKey("reset", testenv.NewID("cap")+"@example.com")
	now := time.Date(2026, 12, 2, 17, 40, 0, 0, time.UTC)
	const limit, tries = 3, 12
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, end, err := s.MailCapTake(ctx, k, limit, now, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			if !end.Equal(now.Add(time.Hour)) { // the window starts at the first email
				t.Errorf("window ends %v", end)
			}
			if took {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := ok.Load(); got != limit {
		t.Fatalf("%d of %d concurrent takes succeeded, want %d", got, tries, limit)
	}
	if took, _, err := s.MailCapTake(ctx, k, limit, now.Add(time.Hour), time.Hour); err != nil || !took {
		t.Fatalf("the next window refused: %v %v", took, err)
	}
	// Another counter is not held back.
	if took, _, err := s.MailCapTake(ctx, MailCapAddressKey("198.51.100.7"+testenv.NewID("")), limit, now, time.Hour); err != nil || !took {
		t.Fatalf("another counter refused: %v %v", took, err)
	}
}

package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/stewardhq/steward/pkg/store"
)

func TestRateChargeRollingWindow(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	k := "test:" + NewID("k")
	t0 := time.Now()
	charge := func(at time.Time, limit int) (RateCount, bool) {
		t.Helper()
		c, ok, err := s.RateCharge(ctx, k, limit, at, 15*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return c, ok
	}
	for i := 1; i <= 3; i++ {
		if c, ok := charge(t0.Add(time.Duration(i)*time.Minute), 3); !ok || c.Count != i || !c.End.Equal(time.UnixMilli(t0.Add(16*time.Minute).UnixMilli())) {
			t.Fatalf("charge %d: %+v %v", i, c, ok)
		}
	}
	c, ok := charge(t0.Add(10*time.Minute), 3)
	if ok || c.Count != 3 {
		t.Fatalf("fourth charge: %+v %v, want refused at 3", c, ok)
	}
	// The window started at the first charge: it ends 15 minutes later.
	at := t0.Add(16*time.Minute + time.Millisecond)
	c2, ok := charge(at, 3)
	if !ok || c2.Count != 1 || !c2.End.After(c.End) {
		t.Fatalf("charge in the next window: %+v %v", c2, ok)
	}
	// Giving back to the ended window changes nothing; to this one it does.
	if err := s.RateGiveBack(ctx, k, c.End); err != nil {
		t.Fatal(err)
	}
	if c3, _ := charge(at, 0); c3.Count != 2 {
		t.Fatalf("after a give-back to an ended window: %+v", c3)
	}
	if err := s.RateGiveBack(ctx, k, c2.End); err != nil {
		t.Fatal(err)
	}
	if c3, _ := charge(at, 0); c3.Count != 2 {
		t.Fatalf("after a give-back: %+v", c3)
	}
	if err := s.RateReset(ctx, k, c2.End); err != nil {
		t.Fatal(err)
	}
	if c3, _ := charge(at, 0); c3.Count != 1 {
		t.Fatalf("after a reset: %+v", c3)
	}
}

func TestRateChargeConcurrentNeverPassesLimit(t *testing.T) {
	s := newTestStore(t)
	k := "test:" + NewID("k")
	now := time.Now()
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, took, err := s.RateCharge(context.Background(), k, 5, now, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if took {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Fatalf("%d of 20 concurrent charges passed a limit of 5", ok.Load())
	}
}

package clock_test

import (
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/clock"
)

func TestNilIsTheWallClock(t *testing.T) {
	var c clock.Clock
	before := time.Now()
	got := c.Now()
	if got.Before(before) || got.After(time.Now()) {
		t.Fatalf("nil clock says %v, outside [%v, now]", got, before)
	}
}

func TestSetClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := clock.Clock(func() time.Time { return at })
	if got := c.Now(); !got.Equal(at) {
		t.Fatalf("Now() = %v, want %v", got, at)
	}
}

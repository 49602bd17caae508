package testenv

import (
	"testing"
	"time"
)

// Poll intervals of Eventually: the first retry comes after
// firstPollInterval, each later one twice as late, up to maxPollInterval.
const (
	firstPollInterval = 2 * time.Millisecond
	maxPollInterval   = 25 * time.Millisecond
)

// Eventually calls cond until it returns nil, and fails the test when it
// has not after timeout. cond's error says what it saw instead (the last
// one is in the failure message, after what, which names what the test
// waits for). For an error that waiting cannot cure, cond calls t.Fatal.
//
// It is the one way tests wait for something to happen: no sleeps, no
// hand-written deadline loops.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := firstPollInterval
	for {
		err := cond()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("gave up after %s waiting for %s: %v", timeout, what, err)
			return
		}
		time.Sleep(min(pause, time.Until(deadline))) // poll interval within the deadline
		pause = min(2*pause, maxPollInterval)
	}
}

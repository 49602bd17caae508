package webhooks

import (
	"context"
	"sync"
	"time"
)

// MemoryQueue keeps the tasks sent to it, for the local stack and tests
// that only look at what was queued.
type MemoryQueue struct {
	mu    sync.Mutex
	sent  []Task
	delay []time.Duration
}

// Send records the tasks.
func (q *MemoryQueue) Send(_ context.Context, tasks []Task, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range tasks {
		q.sent = append(q.sent, t)
		q.delay = append(q.delay, delay)
	}
	return nil
}

// Tasks returns the tasks sent so far, and their delays.
func (q *MemoryQueue) Tasks() ([]Task, []time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Task(nil), q.sent...), append([]time.Duration(nil), q.delay...)
}

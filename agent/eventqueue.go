package agent

import (
	"sync"
)

// maxQueuedEvents bounds the kernel events read from the ring buffer and
// not yet applied; more are dropped and counted. At 20k new flows a
// second (~60k events) it holds about two seconds of them.
const maxQueuedEvents = 1 << 17

// eventQueue sits between the ring-buffer reader and the work each event
// causes (flow table, process cache). The reader only moves events from
// the kernel's buffer into the queue, so it keeps up while a snapshot or
// a poll holds the table; that lets the ring buffer be small (it is
// resident twice: the kernel maps its pages twice).
type eventQueue struct {
	mu      sync.Mutex
	pending []any
	limit   int
	dropped uint64
	wake    chan struct{} // one token: the queue has events
}

func newEventQueue(limit int) *eventQueue {
	return &eventQueue{limit: limit, wake: make(chan struct{}, 1)}
}

// push queues one event, or drops and counts it when the queue is full.
func (q *eventQueue) push(ev any) {
	q.mu.Lock()
	if len(q.pending) >= q.limit {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.pending = append(q.pending, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Dropped counts the events dropped because the queue was full.
func (q *eventQueue) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// run hands the queued events to apply, in order, until stop is closed;
// what is queued by then is applied first.
func (q *eventQueue) run(apply func(any), stop <-chan struct{}) {
	var batch []any
	for {
		select {
		case <-q.wake:
		case <-stop:
			q.drain(&batch, apply)
			return
		}
		q.drain(&batch, apply)
	}
}

// drain takes every queued event in one swap, so that the reader waits
// for the lock only as long as a swap takes, and applies them.
func (q *eventQueue) drain(batch *[]any, apply func(any)) {
	q.mu.Lock()
	*batch, q.pending = q.pending, (*batch)[:0]
	q.mu.Unlock()
	for _, ev := range *batch {
		apply(ev)
	}
	clear(*batch)
	// A burst's batch is not kept for the quiet times after it.
	if cap(*batch) > 4096 {
		*batch = nil
	}
}

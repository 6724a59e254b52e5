package agent

import (
	"sync"
	"testing"
	"time"
)

// The reader never waits for the work: while the worker is held up the
// queue takes events up to its limit, drops and counts the rest, and the
// worker then applies the queued ones in order.
func TestEventQueueHoldsWhileTheWorkWaitsAndCountsWhatItDrops(t *testing.T) {
	q := newEventQueue(100)
	stop := make(chan struct{})
	held := make(chan struct{})
	var mu sync.Mutex
	var applied []int
	apply := func(ev any) {
		<-held // the first event waits until the reader has pushed everything
		mu.Lock()
		applied = append(applied, ev.(int))
		mu.Unlock()
	}
	done := make(chan struct{})
	go func() { q.run(apply, stop); close(done) }()
	q.push(0)
	time.Sleep(20 * time.Millisecond) // the worker takes event 0 and waits
	pushed := make(chan struct{})
	go func() {
		for i := 1; i <= 150; i++ {
			q.push(i)
		}
		close(pushed)
	}()
	select {
	case <-pushed:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader waited for the worker")
	}
	close(held)
	close(stop)
	<-done
	if got := q.Dropped(); got != 50 {
		t.Errorf("dropped %d, want 50 (limit 100, 150 pushed while the worker waited)", got)
	}
	if len(applied) != 101 {
		t.Fatalf("applied %d events, want 101", len(applied))
	}
	for i, ev := range applied {
		if ev != i {
			t.Fatalf("event %d applied as number %d: out of order", ev, i)
		}
	}
}

// Stopping applies what was queued before the stop.
func TestEventQueueAppliesWhatIsQueuedAtStop(t *testing.T) {
	q := newEventQueue(10)
	for i := range 5 {
		q.push(i)
	}
	stop := make(chan struct{})
	close(stop)
	n := 0
	q.run(func(any) { n++ }, stop)
	if n != 5 || q.Dropped() != 0 {
		t.Errorf("applied %d, dropped %d; want 5 and 0", n, q.Dropped())
	}
}

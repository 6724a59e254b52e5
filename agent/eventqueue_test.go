package agent

import (
	"bytes"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// rawRecord is a made-up ring-buffer record of n bytes, all of them b.
func rawRecord(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// The reader never waits for the work: while the worker is held up the
// queue takes records up to its limit, drops and counts the rest, and the
// worker then applies the queued ones in order, intact and aligned.
func TestEventQueueHoldsWhileTheWorkWaitsAndCountsWhatItDrops(t *testing.T) {
	q := newEventQueue(100 * (8 + 16)) // 100 records of 13 bytes (16 padded)
	stop := make(chan struct{})
	held := make(chan struct{})
	var mu sync.Mutex
	var applied []byte
	apply := func(raw []byte) {
		<-held // the first record waits until the reader has pushed everything
		if uintptr(unsafe.Pointer(&raw[0]))%8 != 0 || len(raw) != 13 || !bytes.Equal(raw, rawRecord(raw[0], 13)) {
			t.Errorf("record %d: %d bytes at %p, want 13 equal bytes 8-aligned", raw[0], len(raw), &raw[0])
		}
		mu.Lock()
		applied = append(applied, raw[0])
		mu.Unlock()
	}
	done := make(chan struct{})
	go func() { q.run(apply, stop); close(done) }()
	q.push(rawRecord(0, 13))
	time.Sleep(20 * time.Millisecond) // the worker takes record 0 and waits
	pushed := make(chan struct{})
	go func() {
		for i := 1; i <= 150; i++ {
			q.push(rawRecord(byte(i), 13))
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
		t.Errorf("dropped %d, want 50 (room for 100, 150 pushed while the worker waited)", got)
	}
	if len(applied) != 101 {
		t.Fatalf("applied %d records, want 101", len(applied))
	}
	for i, b := range applied {
		if int(b) != i {
			t.Fatalf("record %d applied as number %d: out of order", b, i)
		}
	}
}

// Stopping applies what was queued before the stop.
func TestEventQueueAppliesWhatIsQueuedAtStop(t *testing.T) {
	q := newEventQueue(1 << 10)
	for i := range 5 {
		q.push(rawRecord(byte(i), 3+i))
	}
	stop := make(chan struct{})
	close(stop)
	n := 0
	q.run(func(raw []byte) {
		if len(raw) != 3+n || raw[0] != byte(n) {
			t.Errorf("record %d: %v", n, raw)
		}
		n++
	}, stop)
	if n != 5 || q.Dropped() != 0 {
		t.Errorf("applied %d, dropped %d; want 5 and 0", n, q.Dropped())
	}
}

// The reader's side allocates nothing once the queue's buffer has grown:
// it keeps pace while the collector runs.
func TestEventQueuePushDoesNotAllocate(t *testing.T) {
	q := newEventQueue(1 << 20)
	raw := rawRecord(1, 120)
	allocs := testing.AllocsPerRun(1000, func() {
		q.push(raw)
		if len(q.pending) > 512<<10 {
			q.pending = q.pending[:0]
		}
		select {
		case <-q.wake:
		default:
		}
	})
	if allocs > 0.01 {
		t.Errorf("%.2f allocations per record pushed, want none", allocs)
	}
}

package agent

import (
	"encoding/binary"
	"sync"
)

// maxQueuedEventBytes bounds the kernel events read from the ring buffer
// and not yet applied; more are dropped and counted. At 20k new flows a
// second (~60k events of ~128 bytes) it holds about two seconds of them.
const maxQueuedEventBytes = 16 << 20

// eventQueue sits between the ring-buffer reader and the work each event
// causes (decoding, flow table, process cache). The reader only copies
// records from the kernel's buffer into the queue, without allocating, so
// it keeps up while a snapshot or a poll holds the table or the collector
// runs; that lets the ring buffer be small (it is resident twice: the
// kernel maps its pages twice).
type eventQueue struct {
	mu sync.Mutex
	// pending holds the records in order, each after its length (8
	// bytes) and padded to 8 bytes, so that each starts as aligned as the
	// kernel wrote it: decoding reads the event structs in place.
	pending []byte
	limit   int
	dropped uint64
	wake    chan struct{} // one token: the queue has records
}

func newEventQueue(limitBytes int) *eventQueue {
	return &eventQueue{limit: limitBytes, wake: make(chan struct{}, 1)}
}

// push copies one record into the queue, or drops and counts it when the
// queue is full.
func (q *eventQueue) push(raw []byte) {
	q.mu.Lock()
	if len(q.pending)+8+padded(len(raw)) > q.limit {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.pending = binary.NativeEndian.AppendUint64(q.pending, uint64(len(raw)))
	q.pending = append(q.pending, raw...)
	q.pending = append(q.pending, make([]byte, padded(len(raw))-len(raw))...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func padded(n int) int { return (n + 7) &^ 7 }

// Dropped counts the records dropped because the queue was full.
func (q *eventQueue) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// run hands the queued records to apply, in order, until stop is closed;
// what is queued by then is applied first. A record is valid only during
// the call.
func (q *eventQueue) run(apply func(raw []byte), stop <-chan struct{}) {
	var batch []byte
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

// drain takes every queued record in one swap, so that the reader waits
// for the lock only as long as a swap takes, and applies them.
func (q *eventQueue) drain(batch *[]byte, apply func([]byte)) {
	q.mu.Lock()
	*batch, q.pending = q.pending, (*batch)[:0]
	q.mu.Unlock()
	for b := *batch; len(b) >= 8; {
		n := int(binary.NativeEndian.Uint64(b))
		apply(b[8 : 8+n : 8+n])
		b = b[8+padded(n):]
	}
	// A burst's buffer is not kept for the quiet times after it.
	if cap(*batch) > 256<<10 {
		*batch = nil
	}
}

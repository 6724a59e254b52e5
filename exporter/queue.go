package exporter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Counters count what happened to the spans teamsflow made. After
// Shutdown, SpansEnded == SpansExported + SpansDropped.
type Counters struct {
	SpansEnded    uint64 // spans finished and handed to the queue
	SpansExported uint64 // spans the collector accepted
	SpansDropped  uint64 // queue full, export failed after retries, or shutdown deadline
	ExportErrors  uint64 // export requests that failed after retries
	QueueLength   int    // spans waiting now
	QueueCapacity int
}

// Map names the counters as the agent's health output and metrics do.
func (c Counters) Map() map[string]uint64 {
	return map[string]uint64{
		"spans_ended":    c.SpansEnded,
		"spans_exported": c.SpansExported,
		"spans_dropped":  c.SpansDropped,
		"export_errors":  c.ExportErrors,
		"queue_length":   uint64(c.QueueLength),
		"queue_capacity": uint64(c.QueueCapacity),
	}
}

// boundedQueue is the span processor between the tracer and the OTLP
// exporter. It batches like the SDK's BatchSpanProcessor, but counts every
// span it drops: the SDK's processor drops silently when its queue is full,
// and an operator must be able to see that a collector outage cost spans.
// Memory is bounded by the queue capacity plus the one batch in flight.
type boundedQueue struct {
	client       sdktrace.SpanExporter
	spans        chan sdktrace.ReadOnlySpan
	flushes      chan chan struct{}
	batchSize    int
	batchTimeout time.Duration
	log          zerolog.Logger

	ctx      context.Context // cancelled when Shutdown's deadline passes
	cancel   context.CancelFunc
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	ended, exported, dropped, exportErrors atomic.Uint64
	failing                                atomic.Bool
}

func newBoundedQueue(client sdktrace.SpanExporter, s settings, log zerolog.Logger) *boundedQueue {
	ctx, cancel := context.WithCancel(context.Background())
	q := &boundedQueue{
		client:       client,
		spans:        make(chan sdktrace.ReadOnlySpan, s.QueueSize),
		flushes:      make(chan chan struct{}),
		batchSize:    s.BatchSize,
		batchTimeout: s.BatchTimeout,
		log:          log,
		ctx:          ctx,
		cancel:       cancel,
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}
	go q.run()
	return q
}

func (q *boundedQueue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd never blocks the caller (the agent's poll loop): a full queue drops.
func (q *boundedQueue) OnEnd(s sdktrace.ReadOnlySpan) {
	q.ended.Add(1)
	select {
	case <-q.stop:
		q.dropped.Add(1)
		return
	default:
	}
	select {
	case q.spans <- s:
	default:
		q.dropped.Add(1)
	}
}

// ForceFlush exports everything queued now and waits for it.
func (q *boundedQueue) ForceFlush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case q.flushes <- reply:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued until ctx ends; what is left is dropped.
func (q *boundedQueue) Shutdown(ctx context.Context) error {
	q.stopOnce.Do(func() { close(q.stop) })
	var err error
	select {
	case <-q.done:
	case <-ctx.Done():
		q.cancel()
		<-q.done
		err = ctx.Err()
	}
	q.cancel()
	// Spans that slipped in while the worker stopped still need counting.
	for len(q.spans) > 0 {
		<-q.spans
		q.dropped.Add(1)
	}
	return errors.Join(err, q.client.Shutdown(ctx))
}

func (q *boundedQueue) counters() Counters {
	return Counters{
		SpansEnded:    q.ended.Load(),
		SpansExported: q.exported.Load(),
		SpansDropped:  q.dropped.Load(),
		ExportErrors:  q.exportErrors.Load(),
		QueueLength:   len(q.spans),
		QueueCapacity: cap(q.spans),
	}
}

func (q *boundedQueue) run() {
	defer close(q.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, q.batchSize)
	timer := time.NewTimer(q.batchTimeout)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case s := <-q.spans:
			batch = append(batch, s)
			if len(batch) == 1 {
				timer.Reset(q.batchTimeout)
			}
			if len(batch) >= q.batchSize {
				batch = q.export(batch)
			}
		case <-timer.C:
			batch = q.export(batch)
		case reply := <-q.flushes:
			batch = q.drain(batch, len(q.spans))
			close(reply)
		case <-q.stop:
			q.drain(batch, len(q.spans))
			return
		}
	}
}

// drain exports the batch and n more queued spans.
func (q *boundedQueue) drain(batch []sdktrace.ReadOnlySpan, n int) []sdktrace.ReadOnlySpan {
	for range n {
		batch = append(batch, <-q.spans)
		if len(batch) >= q.batchSize {
			batch = q.export(batch)
		}
	}
	return q.export(batch)
}

// export sends one batch and returns the emptied slice for reuse. The OTLP
// client retries within its own limit; a batch that still fails is dropped.
func (q *boundedQueue) export(batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	if len(batch) == 0 {
		return batch
	}
	n := uint64(len(batch))
	if q.ctx.Err() != nil {
		q.dropped.Add(n)
		return batch[:0]
	}
	err := q.client.ExportSpans(q.ctx, batch)
	clear(batch) // let the spans go: the slice is kept for the next batch
	if err != nil {
		q.dropped.Add(n)
		q.exportErrors.Add(1)
		if !q.failing.Swap(true) {
			q.log.Warn().Err(err).Uint64("spans", n).Msg("export failed; dropping spans until the collector answers")
		} else {
			q.log.Debug().Err(err).Uint64("spans", n).Msg("export failed")
		}
		return batch[:0]
	}
	q.exported.Add(n)
	if q.failing.Swap(false) {
		q.log.Info().Uint64("dropped_so_far", q.dropped.Load()).Msg("export recovered")
	}
	return batch[:0]
}

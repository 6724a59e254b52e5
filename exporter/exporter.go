package exporter

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/teamsflow/teamsflow/agent/record"
)

// ScopeName is the instrumentation scope of teamsflow's spans.
const ScopeName = "github.com/teamsflow/teamsflow/exporter"

// Exporter turns the agent's stream records into spans and ships them.
// Its methods are safe to call from several goroutines.
type Exporter struct {
	log      zerolog.Logger
	provider *sdktrace.TracerProvider
	queue    *boundedQueue

	mu      sync.Mutex
	tracker *tracker
	closed  bool
}

// New connects nothing yet (OTLP clients connect lazily) but checks the
// configuration and describes the resource; errors name the bad setting.
func New(ctx context.Context, cfg Config, log zerolog.Logger) (*Exporter, error) {
	log = log.With().Str("component", "exporter").Logger()
	s, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	res, err := newResource(ctx, s.ServiceVersion)
	if res == nil {
		return nil, err
	}
	if err != nil {
		log.Warn().Err(err).Msg("some resource attributes are missing")
	}
	client, err := newClient(ctx, s)
	if err != nil {
		return nil, err
	}
	queue := newBoundedQueue(client, s, log)
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(fixedIDs{}),
		sdktrace.WithSpanProcessor(queue),
	)
	tracer := provider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	e := &Exporter{
		log:      log,
		provider: provider,
		queue:    queue,
		tracker:  newTracker(tracer, idSource{host: hostKey(res)}, s),
	}
	log.Info().Str("protocol", s.protocol).Str("endpoint", s.Endpoint).
		Dur("active_timeout", s.ActiveTimeout).Int("queue_size", s.QueueSize).Msg("exporting spans")
	return e, nil
}

// Observe takes the agent's complete list of current streams at now (one
// poll). It sends a span for each stream that ended (end_reason set) and for
// each running stream whose active_timeout interval is over, and a call's
// root span when the call's last stream ended. Calling it again with the
// same records sends nothing new. It never blocks on the network.
func (e *Exporter) Observe(now time.Time, recs []record.Record) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.tracker.observe(now, recs)
}

// CallTraceID is the trace of a call's spans, for logs and tools that link
// to the call in a trace backend.
func (e *Exporter) CallTraceID(callID string) trace.TraceID {
	return e.tracker.ids.callTrace(callID)
}

// Counters returns the span counters.
func (e *Exporter) Counters() Counters {
	return e.queue.counters()
}

// Stats returns the span counters by name: spans_ended, spans_exported,
// spans_dropped, export_errors, queue_length, queue_capacity.
func (e *Exporter) Stats() map[string]uint64 {
	return e.Counters().Map()
}

// Flush exports the spans queued so far and waits for them, until ctx ends.
func (e *Exporter) Flush(ctx context.Context) error {
	return e.provider.ForceFlush(ctx)
}

// Shutdown ends running streams and calls with end_reason agent_stop at the
// last observed time, exports what is queued until ctx ends, and closes the
// connection. Spans left when ctx ends are dropped and counted.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return errors.New("exporter already shut down")
	}
	e.closed = true
	e.tracker.stop()
	e.mu.Unlock()
	err := e.provider.Shutdown(ctx)
	st := e.Counters()
	e.log.Info().Uint64("exported", st.SpansExported).Uint64("dropped", st.SpansDropped).
		Uint64("export_errors", st.ExportErrors).Msg("exporter stopped")
	return err
}

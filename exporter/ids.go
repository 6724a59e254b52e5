package exporter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// idSource derives trace and span IDs from what identifies a call or a
// stream, so a call is one trace however many intervals, polls or agent
// components its spans come from. The host is part of every hash: call and
// stream IDs are only unique within one agent, traces must not mix hosts.
type idSource struct {
	host string
}

func (ids idSource) sum(parts ...string) [32]byte {
	h := sha256.New()
	h.Write([]byte("teamsflow"))
	for _, p := range append([]string{ids.host}, parts...) {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// CallTraceID is the trace of the call with this call_id on a host whose
// host.id (or host.name) is host.
func CallTraceID(host, callID string) trace.TraceID {
	return idSource{host}.callTrace(callID)
}

func (ids idSource) callTrace(callID string) trace.TraceID {
	return traceIDFrom(ids.sum("call", callID))
}

func (ids idSource) callRoot(callID string) trace.SpanID {
	return spanIDFrom(ids.sum("call-root", callID))
}

// streamTrace is the own trace of a stream outside any call.
func (ids idSource) streamTrace(streamKey string) trace.TraceID {
	return traceIDFrom(ids.sum("stream", streamKey))
}

// streamSpan names one interval of a stream by its start, so a stream seen
// again after an agent restart does not reuse the span IDs of before.
func (ids idSource) streamSpan(streamKey string, start time.Time) trace.SpanID {
	var ns [8]byte
	binary.BigEndian.PutUint64(ns[:], uint64(start.UnixNano()))
	return spanIDFrom(ids.sum("stream-span", streamKey, string(ns[:])))
}

func traceIDFrom(sum [32]byte) trace.TraceID {
	var id trace.TraceID
	copy(id[:], sum[:16])
	if !id.IsValid() {
		id[15] = 1 // all zero is invalid; a sha256 prefix of zeros is not worth more
	}
	return id
}

func spanIDFrom(sum [32]byte) trace.SpanID {
	var id trace.SpanID
	copy(id[:], sum[:8])
	if !id.IsValid() {
		id[7] = 1
	}
	return id
}

// wantedIDs rides in the context of tracer.Start and tells fixedIDs which
// IDs the span gets: the SDK's tracer asks its IDGenerator with that context.
type wantedIDs struct {
	trace trace.TraceID
	span  trace.SpanID
}

type wantedIDsKey struct{}

func withIDs(ctx context.Context, traceID trace.TraceID, spanID trace.SpanID) context.Context {
	return context.WithValue(ctx, wantedIDsKey{}, wantedIDs{traceID, spanID})
}

// fixedIDs is the tracer's IDGenerator: it hands out the IDs in the context.
type fixedIDs struct{}

var _ sdktrace.IDGenerator = fixedIDs{}

func (fixedIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	w, _ := ctx.Value(wantedIDsKey{}).(wantedIDs)
	return w.trace, w.span
}

func (fixedIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	w, _ := ctx.Value(wantedIDsKey{}).(wantedIDs)
	return w.span
}

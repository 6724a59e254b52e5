package exporter

import (
	"os"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/teamsflow/teamsflow/agent/record"
)

// The tracker is pure logic: these tests record its spans in memory. The
// OTLP path is tested against a real collector in e2e_test.go.

func newTestTracker(t *testing.T, host string, cfg Config) (*tracker, *tracetest.SpanRecorder) {
	t.Helper()
	s, err := resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithIDGenerator(fixedIDs{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	return newTracker(tp.Tracer("test"), idSource{host: host}, s), rec
}

func attrOf(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// byStream groups stream spans by stream id, in time order.
func byStream(spans []sdktrace.ReadOnlySpan) map[string][]sdktrace.ReadOnlySpan {
	out := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if id := attrOf(s, AttrStreamID).AsString(); id != "" {
			out[id] = append(out[id], s)
		}
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	}
	return out
}

func TestTrackerCallShape(t *testing.T) {
	tr, rec := newTestTracker(t, "host-a", Config{ActiveTimeout: 5 * time.Second})
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	playCall(tr.observe, base, 14*time.Second)
	tr.stop()

	spans := rec.Ended()
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == "teams call" {
			roots = append(roots, s)
		}
	}
	if len(roots) != 1 {
		t.Fatalf("want one root span, got %d", len(roots))
	}
	root := roots[0]
	if root.Parent().IsValid() || !root.StartTime().Equal(base) || !root.EndTime().Equal(base.Add(14*time.Second)) {
		t.Errorf("root: parent %v, %v..%v; want none, the call's first stream to the stop", root.Parent(), root.StartTime(), root.EndTime())
	}
	if got := attrOf(root, AttrEndReason).AsString(); got != EndAgentStop {
		t.Errorf("root end_reason %q, want %q (video still ran)", got, EndAgentStop)
	}
	want := map[string]struct {
		spans  int
		reason string
	}{
		"s-sig": {3, "closed"}, "s-stun": {1, "idle"}, "s-audio": {2, "closed"},
		"s-video": {3, EndAgentStop}, "s-share": {2, "closed"},
	}
	streams := byStream(spans)
	if len(streams) != len(want) {
		t.Errorf("spans for streams %v, want %d Teams streams (no firefox)", keys(streams), len(want))
	}
	for id, w := range want {
		list := streams[id]
		if len(list) != w.spans {
			t.Errorf("%s: %d spans, want %d", id, len(list), w.spans)
			continue
		}
		checkIntervals(t, id, list, root.SpanContext())
		if got := attrOf(list[len(list)-1], AttrEndReason).AsString(); got != w.reason {
			t.Errorf("%s: end_reason %q, want %q", id, got, w.reason)
		}
	}
}

// checkIntervals: the spans of one stream tile its life, each is a child of
// the call's root and links to the one before it.
func checkIntervals(t *testing.T, id string, list []sdktrace.ReadOnlySpan, root trace.SpanContext) {
	t.Helper()
	for i, s := range list {
		if s.Parent().SpanID() != root.SpanID() || s.SpanContext().TraceID() != root.TraceID() {
			t.Errorf("%s[%d]: parent %s in trace %s, want the root", id, i, s.Parent().SpanID(), s.SpanContext().TraceID())
		}
		if attrOf(s, AttrInterval).AsInt64() != int64(i) {
			t.Errorf("%s[%d]: interval attribute %d", id, i, attrOf(s, AttrInterval).AsInt64())
		}
		if i == 0 {
			if len(s.Links()) != 0 {
				t.Errorf("%s[0]: links %v, want none", id, s.Links())
			}
			continue
		}
		prev := list[i-1]
		if !s.StartTime().Equal(prev.EndTime()) {
			t.Errorf("%s[%d]: starts %v, previous ended %v", id, i, s.StartTime(), prev.EndTime())
		}
		if len(s.Links()) != 1 || s.Links()[0].SpanContext.SpanID() != prev.SpanContext().SpanID() {
			t.Errorf("%s[%d]: links %v, want the previous span %s", id, i, s.Links(), prev.SpanContext().SpanID())
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestTrackerIdempotent(t *testing.T) {
	tr, rec := newTestTracker(t, "host-a", Config{ActiveTimeout: 5 * time.Second})
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	script := teamsCall()
	for _, at := range []time.Duration{3, 6, 6, 13, 13, 20} {
		now := base.Add(at * time.Second)
		recs := recordsAt(script, base, at*time.Second)
		tr.observe(now, recs)
		n := len(rec.Ended())
		tr.observe(now, recs)
		if len(rec.Ended()) != n {
			t.Fatalf("at %ds: observing the same poll again sent %d more spans", at, len(rec.Ended())-n)
		}
	}
}

func TestTrackerCallEndsBeforeStop(t *testing.T) {
	tr, rec := newTestTracker(t, "host-a", Config{ActiveTimeout: time.Minute})
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	script := teamsCall()
	script[3].till, script[3].reason = 13*time.Second, "closed" // video ends too
	for at := time.Duration(0); at <= 14*time.Second; at += time.Second {
		tr.observe(base.Add(at), recordsAt(script, base, at))
	}
	var root sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "teams call" {
			root = s
		}
	}
	if root == nil {
		t.Fatal("no root span after the call's last stream ended")
	}
	if !root.EndTime().Equal(base.Add(13*time.Second)) || attrOf(root, AttrEndReason).AsString() != "closed" {
		t.Errorf("root ends %v (%s), want at the last stream's end, closed", root.EndTime(), attrOf(root, AttrEndReason).AsString())
	}
	if got := attrOf(root, AttrCallStreams).AsInt64(); got != 5 {
		t.Errorf("root: %d streams, want 5", got)
	}
	n := len(rec.Ended())
	tr.stop()
	if len(rec.Ended()) != n {
		t.Errorf("stop after the call ended sent %d more spans", len(rec.Ended())-n)
	}
}

func TestTrackerStreamVanishes(t *testing.T) {
	tr, rec := newTestTracker(t, "host-a", Config{})
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	r := teamsStream("s-lost", "udp", 50001, 3478, "stun", "protocol")
	r.FirstSeen, r.LastSeen = base, base.Add(2*time.Second)
	tr.observe(base.Add(3*time.Second), []record.Record{r})
	tr.observe(base.Add(4*time.Second), nil)
	spans := byStream(rec.Ended())["s-lost"]
	if len(spans) != 1 {
		t.Fatalf("%d spans for a stream that left the list, want 1", len(spans))
	}
	if !spans[0].EndTime().Equal(r.LastSeen) || attrOf(spans[0], AttrEndReason).AsString() != EndIdle {
		t.Errorf("span ends %v (%s), want at last_seen, %s", spans[0].EndTime(), attrOf(spans[0], AttrEndReason).AsString(), EndIdle)
	}
	if len(tr.streams) != 0 {
		t.Errorf("tracker still remembers %d streams", len(tr.streams))
	}
}

func TestTrackerAllApps(t *testing.T) {
	tr, rec := newTestTracker(t, "host-a", Config{AllApps: true})
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	playCall(tr.observe, base, 14*time.Second)
	ff := byStream(rec.Ended())["s-firefox"]
	if len(ff) != 1 {
		t.Fatalf("%d firefox spans with AllApps, want 1", len(ff))
	}
	if ff[0].Parent().IsValid() || ff[0].SpanContext().TraceID() == CallTraceID("host-a", testCallID) {
		t.Error("a non-Teams stream must be its own trace, not part of the call")
	}
}

func TestTrackerIDsDeterministic(t *testing.T) {
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	traceOf := func(host string) (trace.TraceID, trace.SpanID) {
		tr, rec := newTestTracker(t, host, Config{})
		playCall(tr.observe, base, 3*time.Second)
		tr.stop()
		s := byStream(rec.Ended())["s-audio"][0]
		return s.SpanContext().TraceID(), s.Parent().SpanID()
	}
	t1, p1 := traceOf("host-a")
	t2, p2 := traceOf("host-a")
	t3, _ := traceOf("host-b")
	if t1 != t2 || p1 != p2 || t1 != CallTraceID("host-a", testCallID) {
		t.Errorf("same call on the same host: traces %s/%s, roots %s/%s, want equal", t1, t2, p1, p2)
	}
	if t1 == t3 {
		t.Error("the same call_id on two hosts must be two traces")
	}
}

func TestTrackerCommandLine(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		tr, rec := newTestTracker(t, "host-a", Config{CommandLine: enabled})
		r := teamsStream("s-self", "tcp", 40000, 443, "signalling", "protocol")
		r.PID, r.CallID, r.EndReason = uint32(os.Getpid()), "", "closed"
		tr.observe(time.Now(), []record.Record{r})
		got := attrOf(rec.Ended()[0], semconv.ProcessCommandArgsKey).AsStringSlice()
		if enabled && !slices.Equal(got, os.Args) {
			t.Errorf("command_args %q, want %q", got, os.Args)
		}
		if !enabled && got != nil {
			t.Errorf("command_args exported without being enabled: %q", got)
		}
	}
}

func TestStreamKeyWithoutID(t *testing.T) {
	a := teamsStream("", "udp", 50010, 3479, "audio", "qos_port")
	a.SSRC = u32(1)
	b := a
	b.SSRC = u32(2)
	if streamKey(a) == streamKey(b) {
		t.Error("two SSRCs of one BUNDLEd flow need two stream keys")
	}
	if again := a; streamKey(a) != streamKey(again) {
		t.Error("stream key not stable")
	}
}

package exporter

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/teamsflow/teamsflow/agent/calls"
	"github.com/teamsflow/teamsflow/agent/record"
)

// End reasons the exporter itself assigns.
const (
	EndAgentStop = "agent_stop" // the agent stopped while the stream ran
	EndIdle      = "idle"       // the stream left the list without an end reason
)

// stream is what the exporter remembers of one stream between polls.
type stream struct {
	key       string
	rec       record.Record // latest
	traceID   trace.TraceID
	parent    trace.SpanID // the call's root span; invalid outside a call
	call      *call
	interval  int       // index of the next span
	start     time.Time // start of the next span
	prev      trace.SpanID
	prevTrace trace.TraceID // prev's trace: the stream may have joined a call since
	ended     bool
	seen      uint64 // poll generation that last listed it
	cmdline   []string
}

// call is one Teams call: the streams sharing a call_id.
type call struct {
	id         string
	traceID    trace.TraceID
	root       trace.SpanID
	start, end time.Time
	streams    map[string]*stream
	live       int
	labels     map[string]bool
	first      record.Record // the earliest stream: owner of the root span
	endReason  string
	rootSent   bool
}

// tracker turns successive poll results into spans: it remembers which
// streams and intervals it already reported, so Observe is idempotent.
type tracker struct {
	tracer        trace.Tracer
	ids           idSource
	activeTimeout time.Duration
	allApps       bool
	commandLine   bool
	owners        ownerNames

	streams map[string]*stream
	calls   map[string]*call
	// sentRoots remembers for a while the calls whose root span was sent
	// and forgotten, so that a stream joining one late names that root as
	// its parent without a second root of the same id being sent.
	sentRoots map[string]time.Time
	gen       uint64
	lastNow   time.Time
}

func newTracker(tracer trace.Tracer, ids idSource, s settings) *tracker {
	return &tracker{
		tracer:        tracer,
		ids:           ids,
		activeTimeout: s.ActiveTimeout,
		allApps:       s.AllApps,
		commandLine:   s.CommandLine,
		streams:       map[string]*stream{},
		calls:         map[string]*call{},
		sentRoots:     map[string]time.Time{},
	}
}

// sentRootMemory is how long sentRoots keeps a call: far longer than the
// agent keeps an ended stream listed (30 s) or the gap between two media
// streams of one call.
const sentRootMemory = 10 * time.Minute

// observe takes the complete list of current streams at now.
func (t *tracker) observe(now time.Time, recs []record.Record) {
	t.gen++
	t.lastNow = now
	for _, r := range recs {
		if r.App != "teams" && !t.allApps {
			continue
		}
		st := t.stream(r)
		st.seen, st.rec = t.gen, r
		t.join(st, r)
		switch {
		case st.ended:
		case r.EndReason != "":
			t.finish(st, r.LastSeen, r.EndReason)
		case now.Sub(st.start) >= t.activeTimeout:
			t.emit(st, now)
		}
	}
	// A stream that left the list unannounced (polls far apart) ended
	// at its last packet; forget it either way.
	for key, st := range t.streams {
		if st.seen == t.gen {
			continue
		}
		if !st.ended {
			t.finish(st, st.rec.LastSeen, EndIdle)
		}
		t.forget(key, st)
	}
	t.sendRoots()
}

// stop ends every running stream and call with agent_stop at the last poll.
func (t *tracker) stop() {
	for _, st := range t.streams {
		if !st.ended {
			t.finish(st, t.lastNow, EndAgentStop)
		}
	}
	t.sendRoots()
}

func (t *tracker) stream(r record.Record) *stream {
	key := streamKey(r)
	if st, ok := t.streams[key]; ok {
		return st
	}
	st := &stream{key: key, start: r.FirstSeen, traceID: t.ids.streamTrace(key)}
	if st.start.IsZero() {
		st.start = t.lastNow
	}
	if t.commandLine && r.PID != 0 {
		st.cmdline = readCmdline(r.PID)
	}
	t.streams[key] = st
	return st
}

// join puts a running stream into the call its record names. The agent
// may name the call only after a stream's first records (a stream is
// grouped into a call once it is labelled as media, and a received stream
// in its own SSRC is labelled later than the sent one), so the stream's
// trace and parent are taken from the record each poll, not fixed when the
// stream is first seen: every span that carries a call id is in the call's
// trace under its root. Spans sent before the call id arrived carried none.
func (t *tracker) join(st *stream, r record.Record) {
	if st.ended || r.CallID == "" || r.App != "teams" || (st.call != nil && st.call.id == r.CallID) {
		return
	}
	if st.call != nil {
		t.leave(st)
	}
	c := t.call(r)
	st.call, st.traceID, st.parent = c, c.traceID, c.root
	c.streams[st.key] = st
	c.live++
	c.labels[r.Label] = true
	first := r.FirstSeen
	if first.IsZero() {
		first = st.start
	}
	if first.Before(c.start) {
		c.start, c.first = first, r
	}
}

// leave takes a running stream out of its call (the agent moved it to
// another call); the call's root is still sent when its last stream ends.
func (t *tracker) leave(st *stream) {
	c := st.call
	delete(c.streams, st.key)
	c.live--
	if c.end.Before(st.rec.LastSeen) {
		c.end = st.rec.LastSeen
	}
	st.call, st.parent, st.traceID = nil, trace.SpanID{}, t.ids.streamTrace(st.key)
}

func (t *tracker) call(r record.Record) *call {
	if c, ok := t.calls[r.CallID]; ok {
		return c
	}
	c := &call{
		id:      r.CallID,
		traceID: t.ids.callTrace(r.CallID),
		root:    t.ids.callRoot(r.CallID),
		start:   r.FirstSeen,
		first:   r,
		streams: map[string]*stream{},
		labels:  map[string]bool{},
	}
	if c.start.IsZero() {
		c.start = t.lastNow
	}
	_, c.rootSent = t.sentRoots[r.CallID]
	t.calls[r.CallID] = c
	return c
}

// finish sends a stream's last span, ending at its last packet.
func (t *tracker) finish(st *stream, end time.Time, reason string) {
	if end.IsZero() { // a record without last_seen: the poll is the best we know
		end = t.lastNow
	}
	if end.Before(st.start) {
		end = st.start
	}
	st.rec.EndReason = reason
	t.emit(st, end)
	st.ended = true
	if c := st.call; c != nil {
		c.live--
		if !end.Before(c.end) {
			c.end, c.endReason = end, reason
		}
	}
}

func (t *tracker) forget(key string, st *stream) {
	delete(t.streams, key)
	if c := st.call; c != nil {
		delete(c.streams, key)
		if len(c.streams) == 0 && c.rootSent {
			delete(t.calls, c.id)
		}
	}
}

// sendRoots sends the root span of each call whose streams have all ended.
// A root is sent once: a span cannot be updated, and the call's children
// already name it as their parent while it runs (see README.md).
func (t *tracker) sendRoots() {
	for id, c := range t.calls {
		if c.rootSent || c.live > 0 {
			continue
		}
		t.emitRoot(c)
		c.rootSent = true
		t.sentRoots[id] = t.lastNow
		if len(c.streams) == 0 {
			delete(t.calls, id)
		}
	}
	for id, at := range t.sentRoots {
		if t.lastNow.Sub(at) > sentRootMemory {
			delete(t.sentRoots, id)
		}
	}
}

// emit sends the span of st's current interval, ending at end.
func (t *tracker) emit(st *stream, end time.Time) {
	id := t.ids.streamSpan(st.key, st.start)
	ctx := withIDs(t.parentContext(st.traceID, st.parent), st.traceID, id)
	opts := []trace.SpanStartOption{
		trace.WithTimestamp(st.start),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(streamAttrs(st.rec, &t.owners)...),
		trace.WithAttributes(AttrInterval.Int(st.interval)),
	}
	if st.cmdline != nil {
		opts = append(opts, trace.WithAttributes(semconv.ProcessCommandArgs(st.cmdline...)))
	}
	if st.prev.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: st.prevTrace, SpanID: st.prev, TraceFlags: trace.FlagsSampled,
		})}))
	}
	_, span := t.tracer.Start(ctx, spanName(st.rec), opts...)
	span.End(trace.WithTimestamp(end))
	st.prev, st.prevTrace, st.start = id, st.traceID, end
	st.interval++
}

func (t *tracker) emitRoot(c *call) {
	labels := make([]string, 0, len(c.labels))
	for l := range c.labels {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	attrs := append(processAttrs(c.first, &t.owners),
		AttrApp.String("teams"),
		AttrCallID.String(c.id),
		AttrCallStreams.Int(len(c.streams)),
		AttrCallLabels.StringSlice(labels),
		AttrEndReason.String(c.endReason),
	)
	attrs = append(attrs, callHealthAttrs(c)...)
	ctx := withIDs(context.Background(), c.traceID, c.root)
	_, span := t.tracer.Start(ctx, "teams call",
		trace.WithNewRoot(),
		trace.WithTimestamp(c.start),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(c.end))
}

// callHealthAttrs is the call's verdict from its streams' last records.
func callHealthAttrs(c *call) []attribute.KeyValue {
	recs := make([]record.Record, 0, len(c.streams))
	for _, st := range c.streams {
		recs = append(recs, st.rec)
	}
	v, worst := calls.Health(recs)
	if worst == nil {
		return nil
	}
	kv := []attribute.KeyValue{AttrCallQuality.String(v.Quality), AttrCallWorst.String(worst.StreamID)}
	if len(v.Reasons) > 0 {
		kv = append(kv, AttrCallReasons.StringSlice(v.Reasons))
	}
	return kv
}

// parentContext makes the call's root span the parent of a stream span.
func (t *tracker) parentContext(traceID trace.TraceID, parent trace.SpanID) context.Context {
	if !parent.IsValid() {
		return context.Background()
	}
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: parent, TraceFlags: trace.FlagsSampled,
	}))
}

// spanName stays low in cardinality, as span names should: the label only.
func spanName(r record.Record) string {
	label := r.Label
	if label == "" {
		label = record.LabelOther
	}
	return "stream " + label
}

// streamKey identifies a stream: its stream_id, or for records without one
// the flow, the SSRC and the first packet's time.
func streamKey(r record.Record) string {
	if r.StreamID != "" {
		return r.StreamID
	}
	ssrc := ""
	if r.SSRC != nil {
		ssrc = fmt.Sprint(*r.SSRC)
	}
	return fmt.Sprintf("%s|%s|%d|%s|%d|%s|%d", r.Transport, r.LocalAddr, r.LocalPort,
		r.PeerAddr, r.PeerPort, ssrc, r.FirstSeen.UnixNano())
}

// readCmdline reads a process's arguments; nil when it is gone.
func readCmdline(pid uint32) []string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(raw) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
}

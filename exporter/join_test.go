package exporter

import (
	"fmt"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// A peer that answers the client's audio in an SSRC of its own makes a
// second (received) audio stream on the same flow. The agent names its
// call only once the stream is labelled, a poll or more after it was first
// listed: that late call id must still put all of the stream's spans that
// carry it into the call's trace, under the call's root.

// answeredCall is one call whose received audio carries no call id (and is
// not yet known as Teams media) before late. Signalling and the sent audio
// end at 9 s, the received audio at 12 s: a call id arriving at 10 s joins
// a call whose root was already sent.
func answeredCall(callID string, late time.Duration) []scriptedStream {
	sig := teamsStream(callID+"-sig", "tcp", 40112, 443, "signalling", "protocol")
	sent := media(callID+"-sent", 50010, 3479, "audio", 0x1111, 111, 46)
	recv := media(callID+"-recv", 50010, 3479, "audio", 0x7777, 111, 0)
	for _, r := range []*record.Record{&sig, &sent, &recv} {
		r.CallID = callID
	}
	return []scriptedStream{
		{rec: sig, from: 0, till: 9 * time.Second, reason: "closed"},
		{rec: sent, from: time.Second, till: 9 * time.Second, reason: "closed"},
		{rec: recv, from: time.Second, till: 12 * time.Second, reason: "closed"},
	}
}

// recordsWithLateCall lists script at at, with the stream named by lateID
// outside any call and unlabelled before late.
func recordsWithLateCall(script []scriptedStream, base time.Time, at, late time.Duration, lateID string) []record.Record {
	recs := recordsAt(script, base, at)
	for i := range recs {
		if recs[i].StreamID == lateID && at < late {
			recs[i].CallID, recs[i].Label, recs[i].LabelReason = "", "other", "none"
			if at < late/2 {
				recs[i].App = "" // not yet known as Teams at all
			}
		}
	}
	return recs
}

// lateDelays are the moments the received stream's call id arrives: with
// its first record, after one poll, after the active timeout sent an
// interval span without it, and after the sent audio and the call ended.
var lateDelays = []time.Duration{0, time.Second, 2 * time.Second, 5 * time.Second, 8 * time.Second, 10 * time.Second}

// playAnswered plays one answered call per late delay, each its own call
// id, through observe from base, a poll a second for 14 s.
func playAnswered(observe func(time.Time, []record.Record), base time.Time, run int) []string {
	var ids []string
	type playing struct {
		script []scriptedStream
		late   time.Duration
		id     string
	}
	var calls []playing
	for _, late := range lateDelays {
		id := fmt.Sprintf("call-r%d-late%d", run, late/time.Second)
		ids = append(ids, id)
		calls = append(calls, playing{answeredCall(id, late), late, id})
	}
	for at := time.Duration(0); at <= 14*time.Second; at += time.Second {
		var recs []record.Record
		for _, c := range calls {
			recs = append(recs, recordsWithLateCall(c.script, base, at, c.late, c.id+"-recv")...)
		}
		observe(base.Add(at), recs)
	}
	return ids
}

func TestTrackerLateCallID(t *testing.T) {
	tr, rec := newTestTracker(t, "host-a", Config{ActiveTimeout: 3 * time.Second})
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	ids := playAnswered(tr.observe, base, 0)
	tr.stop()
	spans := rec.Ended()
	for _, id := range ids {
		var roots, members int
		recvWithID := 0
		for _, s := range spans {
			if attrOf(s, AttrCallID).AsString() != id {
				continue
			}
			if s.Name() == "teams call" {
				roots++
				continue
			}
			members++
			if attrOf(s, AttrStreamID).AsString() == id+"-recv" {
				recvWithID++
			}
			checkInCall(t, id, s, tr.ids)
		}
		if roots != 1 || members < 3 || recvWithID == 0 {
			t.Errorf("%s: %d roots, %d stream spans, %d of the received audio; want 1 root and all three streams",
				id, roots, members, recvWithID)
		}
	}
}

func checkInCall(t *testing.T, id string, s sdktrace.ReadOnlySpan, ids idSource) {
	t.Helper()
	if s.SpanContext().TraceID() != ids.callTrace(id) || s.Parent().SpanID() != ids.callRoot(id) {
		t.Errorf("%s: span %s of %s in trace %s under %s, want the call's trace %s under its root %s",
			id, s.Name(), attrOf(s, AttrStreamID).AsString(), s.SpanContext().TraceID(), s.Parent().SpanID(),
			ids.callTrace(id), ids.callRoot(id))
	}
}

// TestExportLateCallID ships the answered calls through a real collector,
// many times over (each run its own calls), and checks every span that
// carries a call id is in that call's trace, under its one root.
func TestExportLateCallID(t *testing.T) {
	runs := 8
	if testing.Short() {
		runs = 2
	}
	col := otelcol.Start(t, otelcol.Options{})
	e := newTestExporter(t, Config{
		Endpoint: col.GRPCAddr, Insecure: true, ActiveTimeout: 3 * time.Second, BatchTimeout: 100 * time.Millisecond,
	})
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var ids []string
	for run := range runs {
		ids = append(ids, playAnswered(e.Observe, base.Add(time.Duration(run)*time.Minute), run)...)
	}
	shutdown(t, e)
	want := int(e.Counters().SpansExported)
	spans := col.WaitSpans(t, 20*time.Second, func(s []otelcol.Span) bool { return len(s) >= want })
	byCall := map[string][]otelcol.Span{}
	for _, s := range spans {
		if id, _ := s.Attrs[string(AttrCallID)].(string); id != "" {
			byCall[id] = append(byCall[id], s)
		}
	}
	for _, id := range ids {
		checkCollectedCall(t, id, byCall[id], e.CallTraceID(id).String())
	}
}

func checkCollectedCall(t *testing.T, id string, spans []otelcol.Span, traceID string) {
	t.Helper()
	var roots []otelcol.Span
	for _, s := range spans {
		if s.Name == "teams call" {
			roots = append(roots, s)
		}
	}
	if len(roots) != 1 {
		t.Errorf("%s: %d root spans, want 1", id, len(roots))
		return
	}
	recv := 0
	for _, s := range spans {
		if s.TraceID != traceID {
			t.Errorf("%s: span %s of %v in trace %s, want the call's %s", id, s.Name, s.Attrs[string(AttrStreamID)], s.TraceID, traceID)
		}
		if s.Name != "teams call" && s.ParentSpanID != roots[0].SpanID {
			t.Errorf("%s: span %s of %v under %q, want the call's root %s", id, s.Name, s.Attrs[string(AttrStreamID)], s.ParentSpanID, roots[0].SpanID)
		}
		if s.Attrs[string(AttrStreamID)] == id+"-recv" {
			recv++
		}
	}
	if recv == 0 {
		t.Errorf("%s: no span of the received audio carries the call id", id)
	}
}

// A stream that names a call after the call's root was sent and the call
// forgotten (polls far apart) gets that root as parent, and no second root
// of the same id is sent.
func TestTrackerJoinForgottenCall(t *testing.T) {
	tr, rec := newTestTracker(t, "host-a", Config{ActiveTimeout: time.Minute})
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	first := media("s-a", 50010, 3479, "audio", 0x1111, 111, 46)
	first.FirstSeen, first.LastSeen, first.EndReason = base, base.Add(5*time.Second), "closed"
	tr.observe(base.Add(5*time.Second), []record.Record{first})
	tr.observe(base.Add(40*time.Second), nil) // the ended stream left the list
	late := media("s-b", 50012, 3479, "audio", 0x2222, 111, 46)
	late.FirstSeen, late.LastSeen, late.EndReason = base.Add(41*time.Second), base.Add(45*time.Second), "closed"
	tr.observe(base.Add(45*time.Second), []record.Record{late})
	tr.stop()
	roots := 0
	for _, s := range rec.Ended() {
		if s.Name() == "teams call" {
			roots++
			continue
		}
		checkInCall(t, testCallID, s, tr.ids)
	}
	if roots != 1 {
		t.Errorf("%d roots sent for one call, want 1", roots)
	}
}

// A stream the agent moves to another call (its media resumed after a gap
// and started a new call) goes on in the new call's trace; the old call's
// root is still sent, once.
func TestTrackerStreamMovesCall(t *testing.T) {
	tr, rec := newTestTracker(t, "host-a", Config{ActiveTimeout: 3 * time.Second})
	base := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	r := media("s-a", 50010, 3479, "audio", 0x1111, 111, 46)
	r.FirstSeen = base
	for at := time.Duration(0); at <= 8*time.Second; at += time.Second {
		if at == 5*time.Second {
			r.CallID = "call-b"
		}
		r.LastSeen = base.Add(at)
		tr.observe(base.Add(at), []record.Record{r})
	}
	tr.stop()
	roots := map[string]int{}
	for _, s := range rec.Ended() {
		id := attrOf(s, AttrCallID).AsString()
		if s.Name() == "teams call" {
			roots[id]++
			continue
		}
		checkInCall(t, id, s, tr.ids)
	}
	if roots[testCallID] != 1 || roots["call-b"] != 1 {
		t.Errorf("roots sent %v, want one for each call", roots)
	}
}

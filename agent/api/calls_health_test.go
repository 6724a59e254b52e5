package api

import (
	"reflect"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
)

// A call is poor when one of its streams is, and its worst stream is the
// poor one with the lowest MOS; a call none of whose streams was judged
// has no verdict at all.
func TestCallsCarryTheirVerdict(t *testing.T) {
	mos := func(v float64) *float64 { return &v }
	now := time.Now()
	rec := func(call, id, label, covers, quality string, m *float64, reasons ...string) record.Record {
		return record.Record{CallID: call, StreamID: id, Label: label, QualityCovers: covers, Quality: quality,
			QualityReasons: reasons, MOS: m, App: "teams", FirstSeen: now, LastSeen: now}
	}
	calls := Calls([]record.Record{
		rec("a", "s1", "signalling", "", "", nil),
		rec("a", "s2", "audio", "sent", "good", nil),
		rec("a", "s3", "audio", "received", "poor", mos(3.2), "loss 12.0% > 10%"),
		rec("a", "s4", "video", "received", "poor", nil, "frame rate 5.0 fps < 7 fps"),
		rec("b", "s5", "audio", "received", "good", mos(4.3)),
		rec("b", "s6", "audio", "received", "good", mos(4.1)),
		rec("c", "s7", "signalling", "", "", nil),
	})
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	a, b, c := calls[0], calls[1], calls[2]
	wantReasons := []string{"audio received: loss 12.0% > 10%", "video received: frame rate 5.0 fps < 7 fps"}
	if a.Quality != "poor" || !reflect.DeepEqual(a.QualityReasons, wantReasons) || a.WorstStream == nil ||
		a.WorstStream.StreamID != "s3" || a.WorstStream.Covers != "received" {
		t.Errorf("call a: %s %q worst %+v", a.Quality, a.QualityReasons, a.WorstStream)
	}
	if b.Quality != "good" || b.QualityReasons != nil || b.WorstStream.StreamID != "s6" {
		t.Errorf("call b: %s %q worst %+v", b.Quality, b.QualityReasons, b.WorstStream)
	}
	if c.Quality != "" || c.WorstStream != nil {
		t.Errorf("call c: %s worst %+v", c.Quality, c.WorstStream)
	}
}

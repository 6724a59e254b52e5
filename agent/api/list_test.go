package api

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/teamsflow/teamsflow/agent/record"
)

// A list is written as one JSON array, byte for byte what encoding the
// whole slice gives, and an empty one as [].
func TestWriteJSONListIsTheArray(t *testing.T) {
	recs := []record.Record{{Kind: "stream", Comm: "<b>&</b>", Label: "audio"}, {Kind: "stream", PeerPort: 443}}
	for _, items := range [][]record.Record{recs, recs[:1], {}} {
		rec := httptest.NewRecorder()
		writeJSONList(rec, items)
		want, _ := json.Marshal(items)
		if got := rec.Body.String(); got != string(want)+"\n" || rec.Code != 200 {
			t.Errorf("got %d %q\nwant %q", rec.Code, got, want)
		}
	}
	rec := httptest.NewRecorder()
	writeJSONList[record.Record](rec, nil)
	if rec.Body.String() != "[]\n" {
		t.Errorf("nil list: %q", rec.Body.String())
	}
}

// Listing 10k records does not hold their JSON in memory: what encoding
// allocates is a small part of what it writes.
func TestWriteJSONListStreams(t *testing.T) {
	recs := make([]record.Record, 10_000)
	for i := range recs {
		recs[i] = record.Record{Kind: "stream", Transport: "udp", LocalAddr: "10.0.0.1", LocalPort: uint16(i),
			PeerAddr: "10.0.0.2", PeerPort: 9, Comm: "app", Label: "other", StreamID: fmt.Sprintf("%016x", i)}
	}
	w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	writeJSONList(w, recs)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	// Encoding the slice at once allocates at least its JSON (4 MB here).
	if w.n < 1_000_000 || allocated > w.n/3 {
		t.Errorf("wrote %d bytes, allocated %d: want at most a third", w.n, allocated)
	}
}

// countingWriter counts the body and keeps none of it.
type countingWriter struct {
	*httptest.ResponseRecorder
	n uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += uint64(len(p))
	return len(p), nil
}

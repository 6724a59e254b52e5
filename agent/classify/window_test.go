package classify

import (
	"testing"
	"time"
)

// The window keeps every field of its last samples, with and without a
// shape, in any mix, though it stores the shape apart and only once one
// comes.
func TestWindowKeepsEverySample(t *testing.T) {
	var w Window
	var added []Sample
	for i := range 13 {
		s := Sample{Span: time.Duration(i+1) * time.Second, Packets: uint64(10 * i), Payload: uint64(1000 * i)}
		if i >= 3 && i%3 != 0 {
			s.Squares, s.Markers, s.Silence, s.HasShape = uint64(i*i), uint64(i%2), time.Duration(i)*time.Millisecond, i%2 == 0
		}
		w.Add(s)
		added = append(added, s)
		if (w.shapes == nil) != (i < 4) {
			t.Fatalf("after %d samples the shapes are stored: %v", i+1, w.shapes != nil)
		}
		for k := range int(w.n) {
			want := added[len(added)-1-k]
			if got := w.sample((int(w.next) - 1 - k + windowLen) % windowLen); got != want {
				t.Fatalf("after %d samples, sample -%d: %+v, want %+v", i+1, k, got, want)
			}
		}
	}
	if w.n != windowLen {
		t.Errorf("%d samples kept, want %d", w.n, windowLen)
	}
}

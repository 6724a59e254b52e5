package media

import (
	"math"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

func stream(t *testing.T, yml string) scenario.Stream {
	t.Helper()
	s, err := scenario.Parse("t.yaml", []byte("duration: 10s\nclient: ms-teams\nmode: qos\nstreams:\n  - "+yml+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return s.Streams[0]
}

type totals struct {
	frames, packets, bytes, markers int
	minSize, maxSize                int
	lastAt                          time.Duration
	gaps                            []time.Duration
}

func run(g Generator) totals {
	tt := totals{minSize: math.MaxInt}
	prev := time.Duration(-1)
	for {
		f, ok := g.Next()
		if !ok {
			return tt
		}
		if prev >= 0 {
			tt.gaps = append(tt.gaps, f.At-prev)
		}
		prev, tt.lastAt = f.At, f.At
		tt.frames++
		for _, s := range f.Sizes {
			tt.packets++
			tt.bytes += s
			tt.minSize, tt.maxSize = min(tt.minSize, s), max(tt.maxSize, s)
		}
		if f.Marker {
			tt.markers++
		}
	}
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*want {
		t.Errorf("%s = %.1f, want %.1f ±%.0f%%", what, got, want, tol*100)
	}
}

func TestAudioPacing(t *testing.T) {
	tt := run(New(stream(t, "kind: audio"), 1))
	within(t, "audio packets/s", float64(tt.packets)/10, 50, 0.01)
	if tt.minSize < 90 || tt.maxSize > 160 || tt.markers != 0 {
		t.Errorf("sizes %d-%d markers %d", tt.minSize, tt.maxSize, tt.markers)
	}
	for _, g := range tt.gaps {
		if g != 20*time.Millisecond {
			t.Fatalf("audio spacing %v, want exactly 20ms", g)
		}
	}
}

func TestVideoBitrateAndFrames(t *testing.T) {
	tt := run(New(stream(t, "{kind: video, fps: 30, bitrate_kbps: 1200, max_packet: 1100}"), 2))
	within(t, "video fps", float64(tt.markers)/10, 30, 0.01)
	within(t, "video kbps", float64(tt.bytes)*8/10/1000, 1200, 0.05)
	if tt.maxSize > 1100 || tt.packets <= tt.frames {
		t.Errorf("max size %d, %d packets for %d frames", tt.maxSize, tt.packets, tt.frames)
	}
}

func TestScreenshareBurstsAndGaps(t *testing.T) {
	tt := run(New(stream(t, "{kind: screenshare, fps: 10, bitrate_kbps: 400, change_every: 2s, active: 500ms}"), 3))
	within(t, "share kbps", float64(tt.bytes)*8/10/1000, 400, 0.1)
	if tt.frames != 5*5 {
		t.Errorf("%d frames, want 25 (5 changes x 5 frames)", tt.frames)
	}
	idle := 0
	for _, g := range tt.gaps {
		if g >= time.Second {
			idle++
		}
	}
	if idle != 4 {
		t.Errorf("%d idle gaps >= 1s, want 4", idle)
	}
}

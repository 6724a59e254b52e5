package calls

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func TestOverlappingMediaIsOneCall(t *testing.T) {
	tr := New(0)
	audio := tr.Media("pid:10", at(0), at(60))
	video := tr.Media("pid:10", at(5), at(40))
	share := tr.Media("pid:10", at(70), at(80)) // within the gap after the audio
	if audio == "" || audio != video || audio != share {
		t.Fatalf("%s %s %s", audio, video, share)
	}
	if other := tr.Media("pid:11", at(5), at(40)); other == audio {
		t.Fatal("another process joined the call")
	}
	if again := tr.Media("pid:10", at(0), at(61)); again != audio {
		t.Fatal("the id changed on the next snapshot")
	}
	if s, _ := tr.Start(audio); !s.Equal(at(0)) {
		t.Fatalf("start %v", s)
	}
}

func TestNewCallAfterIdleMedia(t *testing.T) {
	tr := New(30 * time.Second)
	first := tr.Media("pid:10", at(0), at(60))
	second := tr.Media("pid:10", at(200), at(260))
	if first == second {
		t.Fatal("media after a long pause joined the old call")
	}
	// Determinism: the same owner and start give the same id.
	if New(0).Media("pid:10", at(0), at(1)) != first {
		t.Fatal("call id is not stable")
	}
}

func TestMembers(t *testing.T) {
	tr := New(30 * time.Second)
	id := tr.Media("pid:10", at(100), at(200))
	cases := []struct {
		name        string
		first, last int
		want        string
	}{
		{"signalling through the call", 0, 300, id},
		{"ice before media", 90, 100, id},
		{"long before", 0, 50, ""},
		{"after the call", 260, 300, ""},
	}
	for _, c := range cases {
		if got := tr.Member("pid:10", at(c.first), at(c.last)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if tr.Member("pid:99", at(0), at(300)) != "" {
		t.Error("a process without a call got one")
	}
}

func TestPrune(t *testing.T) {
	tr := New(30 * time.Second)
	tr.Media("pid:10", at(0), at(10))
	tr.Media("pid:11", at(0), at(500))
	tr.Prune(at(520), 30*time.Second)
	if tr.Len() != 1 {
		t.Fatalf("%d calls left", tr.Len())
	}
}

package classify_test

import (
	"github.com/teamsflow/teamsflow/agent/record"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
	ct "github.com/teamsflow/teamsflow/agent/classify/classifytest"
	"github.com/teamsflow/teamsflow/agent/observe"
)

// What the pipeline does for one stream at every snapshot: add the
// interval to its life, read the features, label, settle. Streams of a
// browser call (no QoS ports, dynamic payload types: the rate decides).
func BenchmarkClassifyStream(b *testing.B) {
	cases := []struct {
		name string
		pkts []ct.Packet
		want string
	}{
		{"audio", ct.Audio(50, 90, 160, 30*sec, 1), record.LabelAudio},
		{"video", ct.Video(30, 1200, 1200, 3*sec, 30*sec, 2), record.LabelVideo},
		{"screenshare", ct.Share(5, 250, 1200, 2*sec, 800*time.Millisecond, 30*sec), record.LabelScreenshare},
	}
	c := classify.New(classify.DefaultQoSPorts())
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			samples := ct.Samples(tc.pkts, 300*time.Millisecond, sec, 30)
			m := classify.Media{PayloadType: 98, LocalPort: 49417, PeerPort: 3478}
			step := func(w *classify.Life, s *classify.Settler, smp classify.Sample) classify.Result {
				w.Add(smp)
				m.Features, m.Prev = w.Features(), s.Settled()
				return s.Update(c.Media(m))
			}
			var w classify.Life
			var s classify.Settler
			var got classify.Result
			for _, smp := range samples {
				got = step(&w, &s, smp)
			}
			if got.Label != tc.want {
				b.Fatalf("settled on %+v, want %s", got, tc.want)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				step(&w, &s, samples[i%len(samples)])
				i++
			}
		})
	}
}

// A flow's label at every snapshot: the ICE/TURN/DTLS part of a media flow.
func BenchmarkClassifyFlow(b *testing.B) {
	c := classify.New(classify.DefaultQoSPorts())
	f := classify.Flow{Transport: observe.UDP, LocalPort: 49417, PeerPort: 3478, Teams: true, TeamsPeer: true,
		Protos: observe.ProtoSTUN | observe.ProtoDTLS | observe.ProtoRTP, HasRTP: true}
	if got := c.Flow(f); got.Label != record.LabelSTUN {
		b.Fatalf("%+v, want stun", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Flow(f)
	}
}

package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// pausesYAML packs every kind of pause into one short call pair: a relayed
// desktop call that moves to the direct path at 5 s, with comfort noise
// and the camera off across the move; a web call with Opus DTX and a
// static share with padding probes.
const pausesYAML = `name: pauses-on-the-wire
duration: 10s
calls:
  - id: desktop
    client: ms-teams
    mode: relay
    qos_ports: false
    direct_after: 5s
    streams:
      - kind: audio
        pauses: [{at: 2s, for: 2s, send: cn}]
      - kind: video
        fps: 30
        bitrate_kbps: 600
        keyframe_interval: 20s
        pauses: [{at: 3s, for: 3s}]
  - id: web
    client: chrome
    mode: bundle
    streams:
      - kind: audio
        pauses: [{at: 2s, for: 2s, send: dtx}]
      - kind: screenshare
        fps: 5
        pauses: [{at: 1s, for: 6s, send: static, fps: 2, probe_every: 2s}]
`

// The pauses reach the wire as real senders put them there, and the truth
// says where and when each SSRC was active.
func TestPausesOnTheWire(t *testing.T) {
	testenv.RequirePrivileged(t)
	s, err := scenario.Parse("pauses.yaml", []byte(pausesYAML))
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%d-%d", os.Getpid()%100000, nsSeq.Add(1))
	dir := t.TempDir()
	opts := Options{
		Scenario: s, TruthPath: filepath.Join(dir, "truth.json"), PcapPath: filepath.Join(dir, "call.pcap"),
		ClientNS: "tfsim-c-" + id, CloudNS: "tfsim-s-" + id,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tf, err := Play(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	w := readWire(t, opts.PcapPath)
	byCall := func(call, label string) []truth.Stream {
		var out []truth.Stream
		for _, st := range tf.Streams {
			if st.CallID == call && st.Label == label {
				out = append(out, st)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
		return out
	}
	t.Run("relay to direct", func(t *testing.T) { checkPathMove(t, w, byCall("desktop", truth.LabelAudio)) })
	t.Run("comfort noise", func(t *testing.T) { checkComfortNoise(t, w, byCall("desktop", truth.LabelAudio)) })
	t.Run("camera off", func(t *testing.T) { checkCameraOff(t, w, byCall("desktop", truth.LabelVideo)) })
	t.Run("dtx", func(t *testing.T) { checkDTX(t, w, byCall("web", truth.LabelAudio)) })
	t.Run("static share", func(t *testing.T) { checkStatic(t, w, byCall("web", truth.LabelScreenshare)) })
}

// allPackets is every packet of the truth entries' SSRC on their 5-tuples,
// in sequence order, checking each entry's count against the wire and its
// active intervals' packet counts against its total.
func allPackets(t *testing.T, w *wire, entries []truth.Stream) []rtpPkt {
	t.Helper()
	var all []rtpPkt
	for _, e := range entries {
		var pkts []rtpPkt
		for k, m := range w.rtp {
			if k.localPort == e.LocalPort && k.peer.Addr().String() == e.PeerAddr && int(k.peer.Port()) == e.PeerPort {
				pkts = m[e.SSRC]
			}
		}
		inSpans := 0
		for _, iv := range e.Active {
			inSpans += iv.Packets
		}
		if len(pkts) != e.PacketsSent || inSpans != e.PacketsSent {
			t.Errorf("%s ssrc %#x to %s:%d: %d packets on the wire, %d in the truth, %d in its active spans",
				e.Label, e.SSRC, e.PeerAddr, e.PeerPort, len(pkts), e.PacketsSent, inSpans)
		}
		all = append(all, pkts...)
	}
	if len(all) == 0 {
		t.Fatal("no packets")
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	first := all[0].hdr.SequenceNumber
	sort.SliceStable(all, func(i, j int) bool {
		return all[i].hdr.SequenceNumber-first < all[j].hdr.SequenceNumber-first
	})
	for i := 1; i < len(all); i++ {
		if all[i].hdr.SequenceNumber != all[i-1].hdr.SequenceNumber+1 {
			t.Fatalf("sequence jumps from %d to %d: a paused sender keeps its numbering", all[i-1].hdr.SequenceNumber, all[i].hdr.SequenceNumber)
		}
	}
	return all
}

func checkPathMove(t *testing.T, w *wire, audio []truth.Stream) {
	if len(audio) != 2 || !audio[0].Relayed || audio[1].Relayed || audio[1].PeerAddr != audio[0].RelayPeerAddr {
		t.Fatalf("want the audio SSRC relayed, then direct to the relay's peer; truth %+v", audio)
	}
	pkts := allPackets(t, w, audio)
	moved := false
	for i := 1; i < len(pkts); i++ {
		switch {
		case pkts[i-1].channel && !pkts[i].channel:
			moved = true
		case !pkts[i-1].channel && pkts[i].channel:
			t.Fatalf("seq %d went back to the relay", pkts[i].hdr.SequenceNumber)
		}
	}
	relayEnd, directStart := audio[0].EndedAt, audio[1].StartedAt
	if !moved || directStart.Before(relayEnd) || directStart.Sub(relayEnd) > 100*time.Millisecond {
		t.Errorf("moved %v: relay until %v, direct from %v", moved, relayEnd, directStart)
	}
}

func checkComfortNoise(t *testing.T, w *wire, audio []truth.Stream) {
	cn, talk := 0, false
	for _, x := range allPackets(t, w, audio) {
		switch x.hdr.PayloadType {
		case scenario.PayloadTypeCN:
			cn++
			talk = false
			if x.size < 23 || x.size > 33 || x.hdr.Marker {
				t.Errorf("CN packet of %d bytes, marker %v: want 23-33 bytes, no marker", x.size, x.hdr.Marker)
			}
		case 104:
			if cn > 0 && !talk && !x.hdr.Marker {
				t.Errorf("first SILK packet after comfort noise (seq %d) lacks the talkspurt marker", x.hdr.SequenceNumber)
			}
			talk = true
		default:
			t.Errorf("payload type %d on the SILK stream", x.hdr.PayloadType)
		}
	}
	if cn < 18 || cn > 21 {
		t.Errorf("%d CN packets in a 2 s silence, want 20 (one per 100 ms)", cn)
	}
	spans := spansOf(audio)
	if spans != "media,cn,media|media" {
		t.Errorf("active spans %q, want media,cn,media on the relay then media direct", spans)
	}
}

func spansOf(entries []truth.Stream) string {
	out := ""
	for i, e := range entries {
		if i > 0 {
			out += "|"
		}
		for j, iv := range e.Active {
			if j > 0 {
				out += ","
			}
			out += iv.Sending
		}
	}
	return out
}

// checkCameraOff: nothing for the 3 s the camera is off, then the same
// SSRC resumes (on the direct path by then) with a keyframe and an RTP
// timestamp that moved on with the clock.
func checkCameraOff(t *testing.T, w *wire, video []truth.Stream) {
	pkts := allPackets(t, w, video)
	sort.Slice(pkts, func(i, j int) bool { return pkts[i].at.Before(pkts[j].at) })
	for i := 1; i < len(pkts); i++ {
		gap := pkts[i].at.Sub(pkts[i-1].at)
		if gap < time.Second {
			continue
		}
		tsGap := float64(pkts[i].hdr.Timestamp-pkts[i-1].hdr.Timestamp) / 90000
		before, after := frameBytes(pkts, i-1), frameBytes(pkts, i)
		t.Logf("camera off %v; timestamp moved %.2fs; last frame %d bytes, first after %d", gap.Round(time.Millisecond), tsGap, before, after)
		if gap < 2900*time.Millisecond || tsGap < 2.9 || tsGap > 3.2 || after < 2*before {
			t.Errorf("want a 3 s gap in time and timestamp and a keyframe after it")
		}
		if spansOf(video) != "media|media" {
			t.Errorf("active spans %q, want media on the relay, media direct", spansOf(video))
		}
		return
	}
	t.Error("no gap in the video")
}

// frameBytes sums the packets sharing packet i's timestamp.
func frameBytes(pkts []rtpPkt, i int) int {
	n := 0
	for _, x := range pkts {
		if x.hdr.Timestamp == pkts[i].hdr.Timestamp {
			n += x.size
		}
	}
	return n
}

// checkDTX: during the silence one tiny Opus frame every 400 ms under the
// stream's own payload type; the next talkspurt starts with a marker.
func checkDTX(t *testing.T, w *wire, audio []truth.Stream) {
	dtx, marked := 0, 0
	for _, x := range allPackets(t, w, audio) {
		if x.hdr.PayloadType != 111 {
			t.Fatalf("payload type %d on the Opus stream", x.hdr.PayloadType)
		}
		if x.size <= 24 {
			dtx++
		}
		if x.hdr.Marker {
			marked++
		}
	}
	if dtx != 5 || marked != 1 || spansOf(audio) != "media,dtx,media" {
		t.Errorf("%d DTX frames (want 5 in 2 s), %d marked packets (want 1), spans %q", dtx, marked, spansOf(audio))
	}
}

// checkStatic: while the screen is unchanged, one marked ~130 B packet
// per frame at 2 fps and padding-only probes (P bit, no marker) that
// repeat the last frame's timestamp.
func checkStatic(t *testing.T, w *wire, share []truth.Stream) {
	pkts := allPackets(t, w, share)
	sort.Slice(pkts, func(i, j int) bool { return pkts[i].at.Before(pkts[j].at) })
	var small, probes int
	var lastTS uint32
	for _, x := range pkts {
		switch {
		case x.hdr.Padding:
			probes++
			if x.hdr.Marker || x.size < 256 || x.size > 277 || x.hdr.Timestamp != lastTS {
				t.Errorf("probe: marker %v, %d bytes, timestamp %d after a frame at %d", x.hdr.Marker, x.size, x.hdr.Timestamp, lastTS)
			}
		case x.size >= 120 && x.size <= 140:
			small++
			if !x.hdr.Marker {
				t.Errorf("static frame packet without the marker")
			}
		}
		if !x.hdr.Padding {
			lastTS = x.hdr.Timestamp
		}
	}
	if small != 12 || probes != 15 || spansOf(share) != "media,static,media" {
		t.Errorf("%d static frames (want 12: 6 s at 2 fps), %d probe packets (want 3 bursts of 5), spans %q", small, probes, spansOf(share))
	}
}

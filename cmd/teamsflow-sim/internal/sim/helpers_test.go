package sim

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/launch"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// TestMain lets the test binary act as the simulated client: the
// controller re-executes its own binary under the client's name.
func TestMain(m *testing.M) {
	if role := os.Getenv(launch.EnvRole); role != "" {
		os.Exit(launch.RunRole(role))
	}
	os.Exit(m.Run())
}

const mediaFor = 4 * time.Second

var nsSeq atomic.Int32

type played struct {
	tf    *truth.File
	w     *wire
	owner owner
}

// play runs a built-in scenario for mediaFor in namespaces unique to this
// test, capturing the client veth, and finds the media socket's owner in
// /proc while the call runs (ownerPort 0: any media socket).
func play(t *testing.T, name string, ownerPort int) *played {
	t.Helper()
	testenv.RequirePrivileged(t)
	s, err := scenario.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%d-%d", os.Getpid()%100000, nsSeq.Add(1))
	dir := t.TempDir()
	ownerc := make(chan error, 1)
	p := &played{}
	started := atomic.Bool{}
	opts := Options{
		Scenario: s, Duration: mediaFor,
		TruthPath: filepath.Join(dir, "truth.json"), PcapPath: filepath.Join(dir, "call.pcap"),
		ClientNS: "tfsim-c-" + id, CloudNS: "tfsim-s-" + id,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		OnStart: func(_ string, pid int) {
			if started.Swap(true) {
				return
			}
			go func() {
				var err error
				p.owner, err = udpOwner(pid, ownerPort, 5*time.Second)
				ownerc <- err
			}()
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if p.tf, err = Play(ctx, opts); err != nil {
		t.Fatalf("play %s: %v", name, err)
	}
	if err := <-ownerc; err != nil {
		t.Errorf("socket owner: %v", err)
	}
	for _, ns := range []string{opts.ClientNS, opts.CloudNS} {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	if tf2, err := truth.Read(opts.TruthPath); err != nil || len(tf2.Streams) != len(p.tf.Streams) {
		t.Errorf("truth file: %v", err)
	}
	p.w = readWire(t, opts.PcapPath)
	return p
}

// media returns the truth entries of one label.
func (p *played) media(label string) []truth.Stream {
	var out []truth.Stream
	for _, s := range p.tf.Streams {
		if s.Label == label {
			out = append(out, s)
		}
	}
	return out
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*want {
		t.Errorf("%s = %.2f, want %.2f ±%.0f%%", what, got, want, tol*100)
	}
}

// checkStream holds one media stream's packets on the wire against its
// scenario: where it went, how many, rate, sizes, markers, DSCP, PT.
func checkStream(t *testing.T, p *played, s truth.Stream, wantPT int) []rtpPkt {
	t.Helper()
	k, pkts := p.w.find(s.SSRC)
	name := fmt.Sprintf("%s ssrc %d", s.Label, s.SSRC)
	if len(pkts) == 0 {
		t.Fatalf("%s: no packets on the wire", name)
	}
	if k.localPort != s.LocalPort || k.peer.Addr().String() != s.PeerAddr || int(k.peer.Port()) != s.PeerPort {
		t.Errorf("%s: on the wire %v, truth says :%d->%s:%d", name, k, s.LocalPort, s.PeerAddr, s.PeerPort)
	}
	st := stats(pkts)
	if st.packets != s.PacketsSent {
		t.Errorf("%s: %d packets on the wire, truth says %d sent", name, st.packets, s.PacketsSent)
	}
	if s.PeerDecrypted != s.PacketsSent {
		t.Errorf("%s: peer decrypted %d of %d SRTP packets", name, s.PeerDecrypted, s.PacketsSent)
	}
	if len(st.pts) != 1 || !st.pts[uint8(wantPT)] || *s.PayloadType != wantPT {
		t.Errorf("%s: payload types %v (truth %d), want %d", name, st.pts, *s.PayloadType, wantPT)
	}
	for _, x := range pkts {
		if x.dscp != s.DSCP {
			t.Fatalf("%s: DSCP %d on the wire, want %d", name, x.dscp, s.DSCP)
		}
	}
	span := st.span.Seconds()
	switch s.Label {
	case truth.LabelAudio:
		within(t, name+" packets/s", float64(st.packets-1)/span, s.PacketRate*(1-s.InjectedLoss), 0.10)
		if st.minSize < s.SizeMin || st.maxSize > s.SizeMax || st.markers != 0 {
			t.Errorf("%s: sizes %d-%d (want %d-%d), %d markers", name, st.minSize, st.maxSize, s.SizeMin, s.SizeMax, st.markers)
		}
	case truth.LabelVideo:
		within(t, name+" frames/s", float64(st.markers-1)/span, s.FPS, 0.10)
		within(t, name+" kbit/s", float64(st.bytes)*8/1000/(span+1/s.FPS), float64(s.BitrateKbps), 0.10)
		checkMarkers(t, name, pkts)
		if st.maxSize > s.MaxPacket {
			t.Errorf("%s: packet of %d bytes exceeds max_packet %d", name, st.maxSize, s.MaxPacket)
		}
	case truth.LabelScreenshare:
		checkMarkers(t, name, pkts)
		checkShare(t, name, pkts, s)
	}
	return pkts
}

// checkMarkers: the marker bit is on the last packet of every frame (a
// frame being the packets sharing one RTP timestamp) and nowhere else.
func checkMarkers(t *testing.T, name string, pkts []rtpPkt) {
	t.Helper()
	sort.Slice(pkts, func(i, j int) bool {
		return pkts[i].hdr.SequenceNumber-pkts[0].hdr.SequenceNumber < pkts[j].hdr.SequenceNumber-pkts[0].hdr.SequenceNumber
	})
	for i := 0; i+1 < len(pkts); i++ {
		last := pkts[i+1].hdr.Timestamp != pkts[i].hdr.Timestamp
		if pkts[i].hdr.Marker != last {
			t.Fatalf("%s: seq %d marker=%v but last-of-frame=%v", name, pkts[i].hdr.SequenceNumber, pkts[i].hdr.Marker, last)
		}
	}
	if !pkts[len(pkts)-1].hdr.Marker {
		t.Errorf("%s: final packet lacks the marker", name)
	}
}

// checkShare: bursts at most fps frames per second, separated by idle
// gaps of at least change_every-active.
func checkShare(t *testing.T, name string, pkts []rtpPkt, s truth.Stream) {
	t.Helper()
	sort.Slice(pkts, func(i, j int) bool { return pkts[i].at.Before(pkts[j].at) })
	var frames []time.Time
	for _, x := range pkts {
		if x.hdr.Marker {
			frames = append(frames, x.at)
		}
	}
	if len(frames) != s.FramesSent {
		t.Errorf("%s: %d frames on the wire, truth says %d", name, len(frames), s.FramesSent)
	}
	idle := 0
	for i := 1; i < len(frames); i++ {
		gap := frames[i].Sub(frames[i-1])
		if gap > time.Second {
			idle++
		} else if gap < time.Duration(float64(time.Second)/s.FPS*0.8) {
			t.Errorf("%s: frames %v apart, faster than %.0f fps", name, gap, s.FPS)
		}
	}
	if idle == 0 {
		t.Errorf("%s: no idle gap between bursts", name)
	}
}

func hasArg(argv []string, prefix string) bool {
	for _, a := range argv {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

func base(path string) string { return filepath.Base(path) }

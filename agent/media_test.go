package agent

import (
	"math"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/truth"
)

// TestMediaHintsLive watches a simulated ms-teams audio call with 5% loss
// and 30 ms jitter injected at the sender, which the far end echoes back
// with the same sequence numbers and timing. The kernel's receive-side
// RTP figures must match what was injected: loss within 1 percentage
// point of the share of packets skipped; RFC 3550 jitter within 20% of what uniform delays of up to J give
// (E|X-Y| = J/3 for two independent delays).
func TestMediaHintsLive(t *testing.T) {
	sim := testenv.NewSim(t, "tfmed")
	a, err := Start(Config{Netns: []string{sim.ClientNetnsPath}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tr := sim.Play(t, "impaired-audio", "12s")
	time.Sleep(200 * time.Millisecond)
	snap := a.Snapshot()

	audio := findTruth(t, tr, truth.LabelAudio)
	flow := findUDPFlow(t, snap, audio)
	if flow.Protos&observe.ProtoSTUN == 0 || flow.Protos&observe.ProtoRTP == 0 {
		t.Errorf("audio flow protocols %#x: want STUN and RTP", flow.Protos)
	}
	var sent, recv *observe.RTPStream
	for i, r := range snap.RTP {
		if r.Flow != flow.ID {
			continue
		}
		if r.Sent && r.SSRC == audio.SSRC {
			sent = &snap.RTP[i]
		} else if !r.Sent {
			recv = &snap.RTP[i]
		}
	}
	if sent == nil || recv == nil {
		t.Fatalf("RTP sources on the audio flow: sent %v, received %v", sent, recv)
	}
	if sent.PayloadType != 104 || int(sent.Packets) != audio.PacketsSent {
		t.Errorf("sent source: PT %d, %d packets; truth PT 104, %d packets", sent.PayloadType, sent.Packets, audio.PacketsSent)
	}
	lossPct := 100 * float64(recv.Lost) / float64(recv.Expected)
	t.Logf("received: %d packets, %d expected, loss %.2f%%, jitter %v (injected %.0f%%, %.0f ms)",
		recv.Packets, recv.Expected, lossPct, recv.Jitter, 100*audio.InjectedLoss, audio.InjectedJitterMs)
	// The injected loss is random: compare with the share actually skipped.
	skipped := 100 * float64(audio.PacketsSkipped) / float64(audio.PacketsSent+audio.PacketsSkipped)
	if math.Abs(lossPct-skipped) > 1 {
		t.Errorf("loss %.2f%%, injected %.2f%% (%d of %d packets skipped)", lossPct, skipped, audio.PacketsSkipped, audio.PacketsSent+audio.PacketsSkipped)
	}
	want := audio.InjectedJitterMs / 3
	got := float64(recv.Jitter) / float64(time.Millisecond)
	if math.Abs(got-want) > 0.2*want {
		t.Errorf("jitter %.2f ms, want %.2f ms ±20%%", got, want)
	}
	var dns, hellos int
	for _, p := range snap.Payloads {
		switch p.Kind {
		case observe.PayloadDNS:
			dns++
		case observe.PayloadClientHello:
			hellos++
		}
	}
	if dns == 0 || hellos == 0 {
		t.Errorf("%d DNS answers and %d ClientHellos sampled, want some of each", dns, hellos)
	}
}

func findTruth(t *testing.T, tr *truth.File, label string) truth.Stream {
	t.Helper()
	for _, s := range tr.Streams {
		if s.Label == label {
			return s
		}
	}
	t.Fatalf("no %s stream in the truth", label)
	return truth.Stream{}
}

func findUDPFlow(t *testing.T, snap observe.Snapshot, s truth.Stream) observe.Flow {
	t.Helper()
	for _, f := range snap.Flows {
		if f.ID.Transport == observe.UDP && int(f.ID.Local.Port()) == s.LocalPort &&
			f.ID.Peer.Addr().String() == s.PeerAddr && int(f.ID.Peer.Port()) == s.PeerPort {
			return f
		}
	}
	t.Fatalf("no UDP flow %d -> %s:%d", s.LocalPort, s.PeerAddr, s.PeerPort)
	return observe.Flow{}
}

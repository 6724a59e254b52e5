package agent

import (
	"math"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/impair"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// TestMediaHintsLive watches a simulated ms-teams audio call with 5% loss
// and 30 ms jitter injected at the sender, which the far end echoes back
// with the same sequence numbers and timing. The kernel's receive-side
// RTP figures must match what was injected: loss within 1 percentage
// point of the share of packets skipped; RFC 3550 jitter within 20% of
// the mean |D| that the simulator's impairer produces (about J/3).
//
// RFC 3550 jitter is a running average with gain 1/16, so one reading
// swings by about ±1.3 ms around its mean here; the test averages the
// readings taken every 200 ms over the call, as a monitoring system
// plotting the value would see it.
func TestMediaHintsLive(t *testing.T) {
	sim := testenv.NewSim(t, "tfmed")
	a, err := Start(Config{Netns: []string{sim.ClientNetnsPath}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	watch := watchSnapshots(a, 200*time.Millisecond)
	tr := sim.Play(t, "impaired-audio", "12s")
	time.Sleep(200 * time.Millisecond)
	snaps := watch()

	// A closed flow is handed out until one snapshot has carried its final
	// counts: read the audio flow and its sources from the last that has it.
	audio := findTruth(t, tr, truth.LabelAudio)
	snap, flow := lastWithUDPFlow(t, snaps, audio)
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
	meanJitter, readings := meanReceivedJitter(snaps, recv.Flow, recv.SSRC)
	t.Logf("received: %d packets, %d expected, loss %.2f%%, jitter %v now, %.2f ms mean of %d readings (injected %.0f%%, %.0f ms)",
		recv.Packets, recv.Expected, lossPct, recv.Jitter, meanJitter, readings, 100*audio.InjectedLoss, audio.InjectedJitterMs)
	// The injected loss is random: compare with the share actually skipped.
	skipped := 100 * float64(audio.PacketsSkipped) / float64(audio.PacketsSent+audio.PacketsSkipped)
	if math.Abs(lossPct-skipped) > 1 {
		t.Errorf("loss %.2f%%, injected %.2f%% (%d of %d packets skipped)", lossPct, skipped, audio.PacketsSkipped, audio.PacketsSent+audio.PacketsSkipped)
	}
	want := impairedMeanJitterMs(audio)
	if readings < 20 || math.Abs(meanJitter-want) > 0.2*want {
		t.Errorf("jitter %.2f ms (mean of %d readings), want %.2f ms ±20%%", meanJitter, readings, want)
	}
	var dns, hellos int
	for _, p := range allPayloads(snaps) {
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

// lastWithUDPFlow returns the last snapshot that lists the stream's UDP
// flow, and the flow.
func lastWithUDPFlow(t *testing.T, snaps []observe.Snapshot, s truth.Stream) (observe.Snapshot, observe.Flow) {
	t.Helper()
	for i := len(snaps) - 1; i >= 0; i-- {
		for _, f := range snaps[i].Flows {
			if f.ID.Transport == observe.UDP && int(f.ID.Local.Port()) == s.LocalPort &&
				f.ID.Peer.Addr().String() == s.PeerAddr && int(f.ID.Peer.Port()) == s.PeerPort {
				return snaps[i], f
			}
		}
	}
	t.Fatalf("no UDP flow %d -> %s:%d in %d snapshots", s.LocalPort, s.PeerAddr, s.PeerPort, len(snaps))
	return observe.Snapshot{}, observe.Flow{}
}

// watchSnapshots takes a snapshot every interval until the returned
// function is called, which takes a last one and returns them all.
func watchSnapshots(a *Agent, every time.Duration) func() []observe.Snapshot {
	var snaps []observe.Snapshot
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				snaps = append(snaps, a.Snapshot())
			}
		}
	}()
	return func() []observe.Snapshot {
		close(stop)
		<-done
		return append(snaps, a.Snapshot())
	}
}

// meanReceivedJitter averages the jitter of one received RTP source over
// the snapshots, once it has 100 packets (the running average has
// settled by then).
func meanReceivedJitter(snaps []observe.Snapshot, flow observe.FlowID, ssrc uint32) (ms float64, n int) {
	for _, s := range snaps {
		for _, r := range s.RTP {
			if r.Flow == flow && !r.Sent && r.SSRC == ssrc && r.Packets >= 100 {
				ms += float64(r.Jitter) / float64(time.Millisecond)
				n++
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	return ms / float64(n), n
}

// impairedMeanJitterMs is the mean |D| (RFC 3550's transit difference)
// that the simulator's impairer gives a stream at its packet rate: about
// J/3 for uniform delays up to J, a little less because a frame is never
// sent before the one ahead of it.
func impairedMeanJitterMs(s truth.Stream) float64 {
	jitter := time.Duration(s.InjectedJitterMs * float64(time.Millisecond))
	im := impair.New(0, jitter, 1)
	period := time.Duration(float64(time.Second) / s.PacketRate)
	var sum time.Duration
	var prev time.Duration
	const frames = 100000
	for i := range frames {
		due := time.Duration(i) * period
		transit := im.SendAt(due) - due
		if i > 0 {
			sum += (transit - prev).Abs()
		}
		prev = transit
	}
	return float64(sum) / float64(frames-1) / float64(time.Millisecond)
}

func allPayloads(snaps []observe.Snapshot) []observe.Payload {
	var all []observe.Payload
	for _, s := range snaps {
		all = append(all, s.Payloads...)
	}
	return all
}

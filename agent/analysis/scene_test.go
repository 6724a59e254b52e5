package analysis

import (
	"net/netip"
	"time"

	ct "github.com/teamsflow/teamsflow/agent/classify/classifytest"
	"github.com/teamsflow/teamsflow/agent/observe"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// scene builds snapshots of synthetic flows: each flow has an owner,
// protocols, and RTP senders whose packets also count in the flow.
type scene struct {
	flows    []*sceneFlow
	payloads []observe.Payload
}

type sceneFlow struct {
	id       observe.FlowID
	owner    *observe.Owner
	protos   observe.Protocols
	start    time.Duration // first handshake packet
	end      time.Duration // 0: runs to the end
	ctrlPPS  float64       // non-RTP packets per second each way (ICE, keep-alives)
	rtp      []sceneRTP
	dscp     uint8
	closedAt time.Duration // 0: never
}

type sceneRTP struct {
	sent bool
	ssrc uint32
	pt   uint8
	pkts []ct.Packet // times relative to start
	lost uint64
}

func udp(local, peer string) observe.FlowID {
	return observe.FlowID{Transport: observe.UDP, Local: netip.MustParseAddrPort(local), Peer: netip.MustParseAddrPort(peer)}
}

func tcp(local, peer string) observe.FlowID {
	return observe.FlowID{Transport: observe.TCP, Local: netip.MustParseAddrPort(local), Peer: netip.MustParseAddrPort(peer)}
}

func (sc *scene) add(f *sceneFlow) *sceneFlow {
	sc.flows = append(sc.flows, f)
	return f
}

// media adds a sent stream and its echo (the peer sends the same media
// back under its own SSRC, as the simulator's peers do).
func (f *sceneFlow) media(ssrc uint32, pt uint8, pkts []ct.Packet) *sceneFlow {
	f.rtp = append(f.rtp, sceneRTP{sent: true, ssrc: ssrc, pt: pt, pkts: pkts}, sceneRTP{ssrc: ssrc + 1, pt: pt, pkts: pkts})
	return f
}

// snapshot is the state at time at (relative to t0).
func (sc *scene) snapshot(at time.Duration) observe.Snapshot {
	s := observe.Snapshot{Time: t0.Add(at)}
	for _, f := range sc.flows {
		if at <= f.start || (f.end > 0 && at > f.end+90*time.Second) {
			continue
		}
		fl, rtps := f.observe(at)
		s.Flows = append(s.Flows, fl)
		s.RTP = append(s.RTP, rtps...)
	}
	for _, p := range sc.payloads {
		if rel := p.Time.Sub(t0); rel <= at && rel > at-time.Second {
			s.Payloads = append(s.Payloads, p)
		}
	}
	return s
}

func (f *sceneFlow) observe(at time.Duration) (observe.Flow, []observe.RTPStream) {
	until := at
	if f.end > 0 && until > f.end {
		until = f.end
	}
	ctrl := uint64(f.ctrlPPS*(until-f.start).Seconds()) + 1
	fl := observe.Flow{ID: f.id, Owner: f.owner, Protos: f.protos,
		Sent:   observe.Counters{Packets: ctrl, Bytes: ctrl * 120, DSCP: f.dscp, First: t0.Add(f.start), Last: t0.Add(until)},
		Recv:   observe.Counters{Packets: ctrl, Bytes: ctrl * 120, First: t0.Add(f.start), Last: t0.Add(until)},
		Closed: f.closedAt > 0 && at >= f.closedAt,
	}
	var rtps []observe.RTPStream
	for _, r := range f.rtp {
		tot := ct.Cumulative(r.pkts, until-f.start)
		if tot.Packets == 0 {
			continue
		}
		dir := &fl.Recv
		if r.sent {
			dir = &fl.Sent
		}
		dir.Packets += tot.Packets
		dir.Bytes += tot.Payload + tot.Packets*40
		rtps = append(rtps, observe.RTPStream{Flow: f.id, Sent: r.sent, SSRC: r.ssrc, PayloadType: r.pt,
			Packets: tot.Packets, PayloadBytes: tot.Payload, PayloadSquares: tot.Squares, Markers: tot.Markers,
			// A real sender: each sequence number one up, each SSRC's
			// timestamps from a random base (RFC 3550).
			SeqSteps: tot.Packets - 1, Frames: tot.Frames, TSAdvance: tot.TSAdvance, PadOnly: tot.PadOnly,
			MaxTS: tot.MaxTS + r.ssrc*0x9E3779B9,
			First: t0.Add(f.start + tot.First), Last: t0.Add(f.start + tot.Last),
			Expected: tot.Packets + r.lost, Lost: int64(r.lost), Jitter: 3 * time.Millisecond})
		fl.Protos |= observe.ProtoRTP
	}
	return fl, rtps
}

// run feeds snapshots every second from 1 s to dur and returns the pipeline.
func (sc *scene) run(p *Pipeline, from, dur time.Duration, each func(at time.Duration)) {
	for at := from; at <= dur; at += time.Second {
		p.Observe(sc.snapshot(at))
		if each != nil {
			each(at)
		}
	}
}

func proc(pid uint32, comm string, argv ...string) observe.Process {
	return observe.Process{PID: pid, Comm: comm, Exe: "/opt/" + comm + "/" + comm, Cmdline: append([]string{comm}, argv...)}
}

func ownerOf(p observe.Process, ancestors ...observe.Process) *observe.Owner {
	return &observe.Owner{Process: p, UID: 1000, Ancestors: ancestors}
}

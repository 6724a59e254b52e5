package analysis_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/capfile"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv/pkt"
)

// wire builds a capture of UDP packets on the wire, in any order, and
// runs it through the Go packet twin and the pipeline as `analyze` does.
type wire struct {
	pkts []wirePacket
}

type wirePacket struct {
	at       time.Duration
	src, dst netip.AddrPort
	payload  []byte
}

var (
	hostA = netip.MustParseAddrPort("10.0.0.2:50555")
	peerB = netip.MustParseAddrPort("198.51.100.20:3478")
)

// send adds a packet from the host (out) or to it.
func (w *wire) send(at time.Duration, out bool, payload []byte) {
	src, dst := hostA, peerB
	if !out {
		src, dst = dst, src
	}
	w.pkts = append(w.pkts, wirePacket{at, src, dst, payload})
}

// analyse runs the capture through the pipeline with cfg.
func (w *wire) analyse(t *testing.T, cfg analysis.Config) (*analysis.Pipeline, []record.Record) {
	t.Helper()
	sort.SliceStable(w.pkts, func(i, j int) bool { return w.pkts[i].at < w.pkts[j].at })
	var buf bytes.Buffer
	pw := pcapgo.NewWriter(&buf)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for _, p := range w.pkts {
		f := pkt.UDP(p.src, p.dst, p.payload)
		ci := gopacketCaptureInfo(start.Add(p.at), len(f))
		if err := pw.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Linger = 1 << 62
	p := analysis.New(cfg)
	if err := capfile.FeedReader(&buf, int64(buf.Len()), p.Observe, nil); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	return p, p.Records(true)
}

// rtp is an RTP packet: pad > 0 sets the P bit and adds pad bytes.
func rtp(ssrc uint32, pt uint8, seq uint16, ts uint32, marker bool, payload, pad int) []byte {
	b := pkt.RTP(ssrc, pt, seq, ts, marker, payload)
	if pad > 0 {
		b[0] |= 0x20
		b = append(b, make([]byte, pad)...)
		b[len(b)-1] = byte(pad)
	}
	return b
}

// rtpRecords returns the RTP records by SSRC and direction ("s"/"r").
func rtpRecords(rs []record.Record) map[uint32][]record.Record {
	out := map[uint32][]record.Record{}
	for _, r := range rs {
		if r.SSRC != nil {
			out[*r.SSRC] = append(out[*r.SSRC], r)
		}
	}
	return out
}

// Random payloads that start like RTP (version 2): encrypted traffic of
// another app. They make no RTP stream; the candidates are counted.
func TestRandomBytesMakeNoStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var w wire
	for i := range 3000 {
		b := make([]byte, 60+rng.IntN(1000))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		b[0] = 0x80 | b[0]&0x3F
		b[1] &= 0x7F // no RTCP types: every packet is a would-be RTP source
		w.send(time.Duration(i)*20*time.Millisecond, i%3 != 0, b)
	}
	// One app's fixed header: the same "SSRC" and "sequence" in every packet.
	for i := range 200 {
		b := []byte{0x81, 0x10, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0x20, 0x43, 0x4b}
		binary.BigEndian.PutUint32(b[4:], rng.Uint32())
		w.send(time.Duration(i)*300*time.Millisecond, true, b)
	}
	p, rs := w.analyse(t, analysis.Config{})
	if got := rtpRecords(rs); len(got) != 0 {
		t.Errorf("%d RTP streams from random bytes", len(got))
	}
	if c := p.Counters(); c.RTPRejected < 1000 {
		t.Errorf("%d rejected candidates counted, want one per would-be source", c.RTPRejected)
	}
	// Candidates are bounded like streams: beyond the bound they are
	// dropped and counted.
	p, _ = w.analyse(t, analysis.Config{MaxStreams: 100})
	if c := p.Counters(); c.StreamsDropped == 0 || c.RTPRejected == 0 {
		t.Errorf("with 100 streams at most: %d dropped, %d rejected", c.StreamsDropped, c.RTPRejected)
	}
}

func gopacketCaptureInfo(at time.Time, n int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: at, CaptureLength: n, Length: n}
}

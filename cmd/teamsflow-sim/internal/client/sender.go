package client

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/teamsflow/teamsflow/agent/testenv/impair"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/media"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
)

// rtcpEvery is the sender report interval; WebRTC stacks report about
// once a second rather than RFC 3550's 5 s minimum.
const rtcpEvery = time.Second

// sender plays one stream: frames from the media generator, packetised
// into RTP, encrypted with SRTP and paced in real time.
type sender struct {
	st    plan.Stream
	t     *transport
	clock uint32

	mu       sync.Mutex
	seq      uint16
	ts0      uint32
	lastRTP  uint32
	lastSent time.Time
	// paths counts what went out on the first path and, after a relayed
	// call moved to the direct path, on that one.
	paths [2]pathCounts
}

// pathCounts is what a sender put on one 5-tuple.
type pathCounts struct {
	sent, skipped, bytes, frames     int
	payloadBytes, rtcpSent, rtcpByte int
	first, last                      time.Time
	active                           []truth.Interval
	segment                          int
}

// note counts one packet sent at now, opening a new active interval when
// the frame starts a new on-period or pause.
func (pc *pathCounts) note(f media.Frame, size, wire int, now time.Time) {
	n := len(pc.active)
	if n == 0 || pc.segment != f.Segment || pc.active[n-1].Sending != f.Sending {
		pc.active = append(pc.active, truth.Interval{From: now, Sending: f.Sending})
		pc.segment = f.Segment
		n++
	}
	pc.active[n-1].To = now
	pc.active[n-1].Packets++
	if pc.sent == 0 {
		pc.first = now
	}
	pc.last = now
	pc.sent++
	pc.bytes += wire
	pc.payloadBytes += size - media.SRTPOverhead
}

func (s *sender) totalSent() (packets, payload int) {
	for _, pc := range s.paths {
		packets += pc.sent
		payload += pc.payloadBytes
	}
	return packets, payload
}

func newSender(st plan.Stream, t *transport) *sender {
	rng := rand.New(rand.NewPCG(st.Seed, st.Seed>>1))
	return &sender{
		st: st, t: t, clock: media.ClockRate(st.Kind, st.PayloadType),
		seq: uint16(rng.Uint32()), ts0: rng.Uint32(),
	}
}

// run sends until the generator ends or ctx is cancelled. Deadlines are
// absolute from callStart, so slow sends do not make the stream drift.
func (s *sender) run(ctx context.Context, callStart time.Time) {
	gen := media.New(s.st.Stream, s.st.Seed)
	im := impair.New(s.st.Loss, s.st.Jitter, s.st.Seed^0xabcdef)
	begin := callStart.Add(s.st.Start)
	payload := make([]byte, 1500)
	for i := range payload {
		payload[i] = byte(rand.Uint32())
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		f, ok := gen.Next()
		if !ok {
			return
		}
		timer.Reset(time.Until(begin.Add(im.SendAt(f.At))))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		s.sendFrame(f, im, payload)
	}
}

func (s *sender) sendFrame(f media.Frame, im *impair.Line, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.ts0 + f.RTPTime
	pt := s.st.PayloadType
	if f.PayloadType != 0 {
		pt = f.PayloadType
	}
	pc := &s.paths[s.t.path()]
	for i, size := range f.Sizes {
		s.seq++
		if im.Drop() {
			pc.skipped++
			continue
		}
		enc, err := s.packet(rtp.Header{
			Version: 2, PayloadType: uint8(pt), SequenceNumber: s.seq,
			Timestamp: ts, SSRC: s.st.SSRC, Marker: f.Marker && i == len(f.Sizes)-1,
		}, size, f.Padding, payload)
		if err != nil || s.t.write(enc) != nil {
			continue
		}
		s.lastSent = time.Now()
		pc.note(f, size, len(enc), s.lastSent)
	}
	if !f.Padding {
		pc.frames++
		s.lastRTP = ts
	}
}

// packet builds one SRTP packet of size bytes on the wire. A padding-only
// packet has the P bit and nothing but padding (RFC 3550 5.1), which
// SRTP encrypts like a payload.
func (s *sender) packet(hdr rtp.Header, size int, padding bool, payload []byte) ([]byte, error) {
	p := &rtp.Packet{Header: hdr, Payload: payload[:size-media.SRTPOverhead]}
	if padding {
		p.Header.Padding, p.Payload, p.Header.PaddingSize = true, nil, byte(size-media.SRTPOverhead)
	}
	raw, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	return s.t.tx.EncryptRTP(nil, raw, nil)
}

// senderTimeout is RFC 3550 6.4's rule: a participant that has sent no
// RTP in the last two report intervals reports as a receiver.
const senderTimeout = 2 * rtcpEvery

// report sends one SRTCP compound packet: a sender report (a receiver
// report once the stream stopped sending) and the CNAME.
func (s *sender) report(cname string) {
	s.mu.Lock()
	sent, payload := s.totalSent()
	if sent == 0 {
		s.mu.Unlock()
		return
	}
	var head rtcp.Packet = &rtcp.ReceiverReport{SSRC: s.st.SSRC}
	if time.Since(s.lastSent) < senderTimeout {
		head = &rtcp.SenderReport{
			SSRC: s.st.SSRC, NTPTime: ntpTime(time.Now()), RTPTime: s.lastRTP,
			PacketCount: uint32(sent), OctetCount: uint32(payload),
		}
	}
	s.mu.Unlock()
	sdes := rtcp.NewCNAMESourceDescription(s.st.SSRC, cname)
	raw, err := rtcp.Marshal([]rtcp.Packet{head, sdes})
	if err != nil {
		return
	}
	s.t.mu.Lock()
	enc, err := s.t.tx.EncryptRTCP(nil, raw, nil)
	s.t.mu.Unlock()
	if err != nil || s.t.write(enc) != nil {
		return
	}
	s.mu.Lock()
	pc := &s.paths[s.t.path()]
	pc.rtcpSent++
	pc.rtcpByte += len(enc)
	s.mu.Unlock()
}

func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// reportLoop sends sender reports for every stream of the transport.
func (t *transport) reportLoop(ctx context.Context, cname string) {
	tick := time.NewTicker(rtcpEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for _, s := range t.senders {
				s.report(cname)
			}
		}
	}
}

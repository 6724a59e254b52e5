package client

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/media"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/plan"
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

	mu                               sync.Mutex
	seq                              uint16
	ts0                              uint32
	lastRTP                          uint32
	sent, skipped, bytes, frames     int
	payloadBytes, rtcpSent, rtcpByte int
	first, last                      time.Time
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
	im := media.NewImpairer(s.st.Loss, s.st.Jitter, s.st.Seed^0xabcdef)
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

func (s *sender) sendFrame(f media.Frame, im *media.Impairer, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.ts0 + f.RTPTime
	for i, size := range f.Sizes {
		s.seq++
		if im.Drop() {
			s.skipped++
			continue
		}
		hdr := rtp.Header{
			Version: 2, PayloadType: uint8(s.st.PayloadType), SequenceNumber: s.seq,
			Timestamp: ts, SSRC: s.st.SSRC, Marker: f.Marker && i == len(f.Sizes)-1,
		}
		raw, err := (&rtp.Packet{Header: hdr, Payload: payload[:size-media.SRTPOverhead]}).Marshal()
		if err != nil {
			continue
		}
		s.t.mu.Lock()
		enc, err := s.t.tx.EncryptRTP(nil, raw, nil)
		s.t.mu.Unlock()
		if err != nil || s.t.write(enc) != nil {
			continue
		}
		now := time.Now()
		if s.sent == 0 {
			s.first = now
		}
		s.last = now
		s.sent++
		s.bytes += len(enc)
		s.payloadBytes += size - media.SRTPOverhead
	}
	s.frames++
	s.lastRTP = ts
}

// report sends one SRTCP compound packet: a sender report and the CNAME.
func (s *sender) report(cname string) {
	s.mu.Lock()
	if s.sent == 0 {
		s.mu.Unlock()
		return
	}
	sr := &rtcp.SenderReport{
		SSRC: s.st.SSRC, NTPTime: ntpTime(time.Now()), RTPTime: s.lastRTP,
		PacketCount: uint32(s.sent), OctetCount: uint32(s.payloadBytes),
	}
	s.mu.Unlock()
	sdes := rtcp.NewCNAMESourceDescription(s.st.SSRC, cname)
	raw, err := rtcp.Marshal([]rtcp.Packet{sr, sdes})
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
	s.rtcpSent++
	s.rtcpByte += len(enc)
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

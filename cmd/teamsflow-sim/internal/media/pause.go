package media

import (
	"math/rand/v2"
	"sort"
	"time"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// What real senders put on the wire while a stream pauses.
const (
	// CNInterval is how often a comfort-noise SID packet is sent: WebRTC's
	// CNG encoder sends one every 100 ms (RFC 3389 leaves it open).
	CNInterval = 100 * time.Millisecond
	// DTXInterval is Opus DTX's keep-alive: one TOC-only frame every 400 ms.
	DTXInterval = 400 * time.Millisecond
	// Static share frames are one packet of about 130 bytes.
	staticMin, staticMax = 120, 140
	// A padding probe is a cluster of at least 5 packets (libwebrtc's
	// minimum) of padding only, 256-284 bytes on the wire in Chromium's
	// calls; here at most 277, since the simulator's packets carry no
	// header extensions and the padding count is one byte (12 + 255 + 10).
	probePackets       = 5
	probeMin, probeMax = 256, SRTPOverhead + 255
)

// paused cuts a stream's pauses out of its regular frames and puts in
// what the pause sends instead (comfort noise, DTX, static frames,
// probes). After a pause audio marks the first packet of the talkspurt
// (RFC 3551 4.1) and video restarts with a keyframe, as an encoder that
// was stopped does.
type paused struct {
	inner  Generator
	st     scenario.Stream
	extra  []Frame // the pauses' own frames, in time order
	resume bool    // the next regular frame is the first after a pause
	peeked *Frame
}

func newPaused(inner Generator, st scenario.Stream, rng *rand.Rand, clock uint32) *paused {
	p := &paused{inner: inner, st: st}
	for i, ps := range st.Pauses {
		p.extra = append(p.extra, pauseFrames(ps, 2*i+1, st.Duration, rng, clock)...)
	}
	sort.SliceStable(p.extra, func(i, j int) bool { return p.extra[i].At < p.extra[j].At })
	return p
}

// segment is the number of pause boundaries at or before at.
func (p *paused) segment(at time.Duration) (seg int, inPause bool) {
	for _, ps := range p.st.Pauses {
		if at >= ps.At {
			seg++
		}
		if at >= ps.At+ps.For {
			seg++
		}
	}
	return seg, seg%2 == 1
}

func (p *paused) Next() (Frame, bool) {
	f, ok := p.nextRegular()
	if len(p.extra) > 0 && (!ok || p.extra[0].At <= f.At) {
		e := p.extra[0]
		p.extra = p.extra[1:]
		if ok {
			p.peeked = &f
		}
		return e, true
	}
	if !ok {
		return Frame{}, false
	}
	f.Sending = SendingMedia
	f.Segment, _ = p.segment(f.At)
	if p.resume {
		p.resume = false
		p.restart(&f)
	}
	return f, true
}

// nextRegular is the next regular frame outside every pause.
func (p *paused) nextRegular() (Frame, bool) {
	if p.peeked != nil {
		f := *p.peeked
		p.peeked = nil
		return f, true
	}
	for {
		f, ok := p.inner.Next()
		if !ok {
			return f, false
		}
		if _, in := p.segment(f.At); !in {
			return f, true
		}
		p.resume = true
	}
}

// restart shapes the first regular frame after a pause.
func (p *paused) restart(f *Frame) {
	switch p.st.Kind {
	case scenario.KindAudio:
		f.Marker = true
	case scenario.KindVideo:
		total := 0
		for _, s := range f.Sizes {
			total += s
		}
		if !f.Key {
			f.Sizes = split(total*keyframeMult, p.st.MaxPacket)
		}
		f.Key = true
	}
}

// pauseFrames lists what one pause sends, up to the stream's end.
func pauseFrames(ps scenario.Pause, seg int, end time.Duration, rng *rand.Rand, clock uint32) []Frame {
	stop := min(ps.At+ps.For, end)
	var out []Frame
	add := func(f Frame) {
		f.Sending, f.Segment = ps.Send, seg
		f.RTPTime = rtpTime(f.At, clock)
		out = append(out, f)
	}
	switch ps.Send {
	case scenario.SendCN:
		for at := ps.At; at < stop; at += CNInterval {
			// RFC 3389: a noise level byte and up to 10 spectral coefficients.
			size := SRTPOverhead + 1 + rng.IntN(11)
			add(Frame{At: at, Sizes: []int{size}, PayloadType: scenario.PayloadTypeCN})
		}
	case scenario.SendDTX:
		for at := ps.At; at < stop; at += DTXInterval {
			add(Frame{At: at, Sizes: []int{SRTPOverhead + 1 + rng.IntN(2)}})
		}
	case scenario.SendStatic:
		for i := 0; ; i++ {
			at := ps.At + frameTime(i, ps.FPS)
			if at >= stop {
				break
			}
			add(Frame{At: at, Sizes: []int{staticMin + rng.IntN(staticMax-staticMin+1)}, Marker: true})
		}
		out = append(out, probes(ps, seg, stop, rng, clock)...)
	}
	return out
}

// probes are the padding bursts of a static share, half a period off the
// frames; they carry the timestamp of the last frame sent, as libwebrtc's
// padding does.
func probes(ps scenario.Pause, seg int, stop time.Duration, rng *rand.Rand, clock uint32) []Frame {
	if ps.ProbeEvery == 0 {
		return nil
	}
	var out []Frame
	for at := ps.At + ps.ProbeEvery/2; at < stop; at += ps.ProbeEvery {
		sizes := make([]int, probePackets)
		for i := range sizes {
			sizes[i] = probeMin + rng.IntN(probeMax-probeMin+1)
		}
		frames := int((at - ps.At).Seconds() * ps.FPS)
		last := ps.At + frameTime(frames, ps.FPS)
		if last > at {
			last = ps.At + frameTime(max(frames-1, 0), ps.FPS)
		}
		out = append(out, Frame{At: at, RTPTime: rtpTime(last, clock), Sizes: sizes,
			Padding: true, Sending: ps.Send, Segment: seg})
	}
	return out
}

package analysis

import (
	"time"

	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/observe"
)

// candidate is an RTP source not (yet) admitted as a stream. rejected:
// its structure is not RTP's, for good; silentAt: it went silent before it
// was admitted, at that many packets (it is looked at again if it sends
// more: a share's RTX may send a probe, then nothing until a loss).
type candidate struct {
	rejected bool
	silentAt uint64
}

// candidateIdle is how long a source may stay silent before it is
// admitted: one that stops first never showed a stream's structure.
const candidateIdle = 5 * time.Second

func (p *Pipeline) updateRTP(r *observe.RTPStream) {
	k := rtpKey{r.Flow, r.Sent, r.SSRC}
	st := p.rtp[k]
	var base observe.RTPStream
	if st != nil && st.ended() && r.Packets != st.r.Packets {
		// The source resumed after its stream ended: a new stream, counted
		// from where the old one stopped.
		p.ended = append(p.ended, endedStream{rtp: st})
		if r.Packets > st.r.Packets {
			base = st.r
		}
		st = nil
	}
	if st == nil {
		if p.now.Sub(r.Last) > p.cfg.IdleTimeout || (base.Packets == 0 && !p.admit(k, r)) {
			return
		}
		if st = p.newRTP(k, r, base); st == nil {
			return
		}
	}
	if fl := p.flows.get(r.Flow); fl != nil {
		fl.hasRTP = true
	}
	if st.ended() {
		return
	}
	p.sampleRTP(st, r)
}

// newRTP starts a stream of an admitted source; base is its counters at
// the start (a source that resumed) or zero.
func (p *Pipeline) newRTP(k rtpKey, r *observe.RTPStream, base observe.RTPStream) *rtpState {
	if p.streamCount() >= p.cfg.MaxStreams {
		p.counters.StreamsDropped++
		return nil
	}
	kind := "recv"
	if r.Sent {
		kind = "sent"
	}
	st := &rtpState{r: base, base: base, role: classify.RoleMedia}
	st.id = streamID(r.Flow, kind, r.SSRC, p.now)
	first := firstOf(r.First, time.Time{}, p.now)
	if base.Packets > 0 {
		// The first packet after the end came after the previous snapshot,
		// which still saw the old counters, and in this snapshot's interval.
		first = lastOf(p.prev, base.Last, p.now.Add(-p.cfg.Interval))
		if first.After(r.Last) {
			first = r.Last
		}
	}
	st.first = instantOf(first)
	st.prevAt = st.first
	p.rtp[k] = st
	if p.rtpOf[r.Flow] == nil {
		p.rtpOf[r.Flow] = map[rtpKey]struct{}{}
	}
	p.rtpOf[r.Flow][k] = struct{}{}
	return st
}

// admit says whether a source is a stream yet. One packet never is:
// sequence steps and a media clock must show (classify.Admit). A source
// rejected, or silent for candidateIdle before it was admitted, is
// counted once; a rejected one is ignored for the rest of its flow's life,
// a silent one until it sends again.
func (p *Pipeline) admit(k rtpKey, r *observe.RTPStream) bool {
	cs := p.cands[k.flow]
	c := cs[k]
	if c != nil && (c.rejected || c.silentAt == r.Packets) {
		return false
	}
	verdict := classify.Admit(classify.Source{
		Packets: r.Packets, SeqSteps: r.SeqSteps, Frames: r.Frames, TSAdvance: r.TSAdvance, Wall: r.Last.Sub(r.First),
	})
	if verdict == classify.Admitted {
		if c != nil {
			delete(cs, k)
			p.nCands--
		}
		return true
	}
	if c == nil {
		if p.nCands >= p.cfg.MaxStreams {
			p.counters.StreamsDropped++
			return false
		}
		if cs == nil {
			cs = map[rtpKey]*candidate{}
			p.cands[k.flow] = cs
		}
		c = &candidate{}
		cs[k] = c
		p.nCands++
	}
	switch {
	case verdict == classify.Rejected:
		c.rejected = true
		if c.silentAt == 0 {
			p.counters.RTPRejected++
		}
	case p.now.Sub(r.Last) > candidateIdle && c.silentAt == 0:
		c.silentAt = r.Packets
		p.counters.RTPRejected++
	}
	return false
}

// dropCandidates forgets a flow's candidates; those still pending never
// became streams and count as rejected.
func (p *Pipeline) dropCandidates(id observe.FlowID) {
	for _, c := range p.cands[id] {
		if !c.rejected && c.silentAt == 0 {
			p.counters.RTPRejected++
		}
	}
	p.nCands -= len(p.cands[id])
	delete(p.cands, id)
}

// sampleRTP adds the interval since the previous counters to the stream's
// life.
func (p *Pipeline) sampleRTP(st *rtpState, r *observe.RTPStream) {
	prev := st.r
	if r.Packets < prev.Packets {
		prev = observe.RTPStream{} // restarted
	}
	if st.prevAt.Time().Before(p.now) {
		span := p.now.Sub(st.prevAt.Time())
		if quiet := span - p.cfg.Interval; st.prevAt != st.first && quiet > p.cfg.Interval/2 {
			// Snapshots skipped a quiet stretch: the packets came in the
			// last interval, and the stretch is an idle one.
			st.life.Add(classify.Sample{Span: quiet, HasShape: true})
			span = p.cfg.Interval
		}
		bits := float64((r.PayloadBytes-prev.PayloadBytes)*8) / span.Seconds()
		if r.Sent {
			st.rateSent = bits
		} else {
			st.rateRecv = bits
		}
		st.life.Add(classify.Sample{
			Span: span, Packets: r.Packets - prev.Packets, Payload: r.PayloadBytes - prev.PayloadBytes,
			Squares: r.PayloadSquares - prev.PayloadSquares, Markers: r.Markers - prev.Markers,
			Silence: max(0, p.now.Sub(r.Last)), HasShape: true,
			Frames: r.Frames - min(r.Frames, prev.Frames), TSAdvance: r.TSAdvance - min(r.TSAdvance, prev.TSAdvance),
			PadOnly:    r.PadOnly - min(r.PadOnly, prev.PadOnly),
			ClockReset: st.prevAt == st.first && st.base.Packets > 0,
		})
	}
	st.r, st.prevAt = *r, instantOf(p.now)
	st.last = instantOf(lastOf(r.Last, st.last.Time()))
	if o := st.own(); !st.lossOutOfRange && lossOutOfRange(&o) {
		st.lossOutOfRange = true
		p.counters.LossOutOfRange++
		p.log.Warn().Uint32("ssrc", o.SSRC).Int64("lost", o.Lost).Uint64("expected", o.Expected).
			Msg("RTP loss outside 0-100%: shown clamped")
	}
}

// own is the stream's own counters: the source's less those of the
// stream that ended before it resumed.
func (st *rtpState) own() observe.RTPStream {
	r, b := st.r, st.base
	if b.Packets == 0 || r.Packets < b.Packets {
		return r
	}
	r.Packets -= b.Packets
	r.PayloadBytes -= b.PayloadBytes
	r.PayloadSquares -= b.PayloadSquares
	r.Markers -= b.Markers
	r.Frames -= min(r.Frames, b.Frames)
	r.TSAdvance -= min(r.TSAdvance, b.TSAdvance)
	r.PadOnly -= min(r.PadOnly, b.PadOnly)
	r.PadBytes -= min(r.PadBytes, b.PadBytes)
	r.SeqSteps -= min(r.SeqSteps, b.SeqSteps)
	r.Expected -= min(r.Expected, b.Expected)
	r.Duplicates -= min(r.Duplicates, b.Duplicates)
	// Lost is the kernel's A.1 count (expected less received, duplicates
	// apart), never the packets' difference: Packets also holds duplicates
	// and the packets of probation.
	r.Lost = max(r.Lost-b.Lost, 0)
	return r
}

// labelRTPs finds repair streams, labels the media streams and gives each
// repair stream its media's label.
func (p *Pipeline) labelRTPs() {
	var repairs []*rtpState
	for id, keys := range p.rtpOf {
		if len(keys) > 1 {
			repairs = p.roles(id, keys, repairs)
			continue
		}
		for k := range keys {
			p.rtp[k].role = classify.RoleMedia // its siblings are gone
		}
	}
	for k, st := range p.rtp {
		if st.analysable() && st.role == classify.RoleMedia {
			p.labelRTP(k, st)
		}
	}
	for _, st := range repairs {
		if m := p.rtp[rtpKey{st.r.Flow, st.r.Sent, st.protects}]; m != nil {
			st.follows = m.settler.Current()
		}
	}
}

// roles marks the repair streams among a flow's running sources, by
// direction, and appends them to repairs. Roles are judged again at every
// snapshot from the life's counters: an RTX source busy with probes at
// the start may outnumber its media for a while.
func (p *Pipeline) roles(id observe.FlowID, keys map[rtpKey]struct{}, repairs []*rtpState) []*rtpState {
	for _, sent := range []bool{true, false} {
		var sibs []classify.Sibling
		for k := range keys {
			if st := p.rtp[k]; k.sent == sent && !st.ended() {
				o := st.own()
				sibs = append(sibs, classify.Sibling{SSRC: k.ssrc, PayloadType: o.PayloadType, Packets: o.Packets,
					PadOnly: o.PadOnly, Markers: o.Markers, MaxTS: o.MaxTS, Clock: st.life.Features().Clock, Last: o.Last})
			}
		}
		if len(sibs) < 2 {
			continue
		}
		for _, s := range sibs {
			st := p.rtp[rtpKey{id, sent, s.SSRC}]
			st.role, st.protects = classify.RepairOf(s, sibs)
			if st.role == "" {
				st.role = classify.RoleMedia
			} else {
				repairs = append(repairs, st)
			}
		}
	}
	return repairs
}

func (p *Pipeline) labelRTP(k rtpKey, st *rtpState) {
	fl := p.flows.get(k.flow)
	m := classify.Media{
		LocalPort: k.flow.Local.Port(), PeerPort: k.flow.Peer.Port(),
		PayloadType: st.r.PayloadType, Features: st.life.Features(), Prev: st.settler.Settled(),
	}
	if fl != nil {
		m.Teams, m.Browser = fl.isTeams, browser(fl.process)
		m.TeamsRelay = fl.destination && p.cfg.Names.IsRelayPort(m.PeerPort)
	}
	st.settler.Update(p.classify.Media(m))
}

// shown is the label a record shows: a repair stream's is its media's.
func (st *rtpState) shown() classify.Result {
	if st.role != classify.RoleMedia && st.follows.Label != "" {
		return st.follows
	}
	return st.settler.Current()
}

package analysis

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/calls"
	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/health/stunrtt"
	"github.com/teamsflow/teamsflow/agent/names"
	"github.com/teamsflow/teamsflow/agent/observe"
)

// Pipeline holds the state of every stream between snapshots. It is not
// safe for concurrent use: one goroutine feeds it and asks for records.
type Pipeline struct {
	cfg      Config
	log      zerolog.Logger
	names    *names.Table
	classify *classify.Classifier
	calls    *calls.Tracker

	flows flowMap
	rtp   map[rtpKey]*rtpState
	// rtpOf indexes rtp by flow, so that ending a flow's sub-streams does
	// not scan every RTP source of every other flow.
	rtpOf map[observe.FlowID]map[rtpKey]struct{}
	// cands are RTP sources not (yet) admitted as streams, by flow.
	cands  map[observe.FlowID]map[rtpKey]*candidate
	nCands int           // candidates in cands
	ended  []endedStream // streams replaced by a new one of the same key, lingering
	hellos map[observe.FlowID]*helloBuffer
	snis   map[observe.FlowID]string // learned before the flow's counters arrived
	keys   keyStrings
	// stun matches STUN Binding requests with their responses per flow:
	// the round trip of UDP media paths (ICE consent checks).
	stun *stunrtt.Matcher[observe.FlowID]

	now      time.Time
	prev     time.Time // the previous snapshot
	counters Counters
}

// endedStream is an ended stream whose key has a new stream; it only
// lingers for the exporter.
type endedStream struct {
	flow *flowState
	rtp  *rtpState
}

// New makes a pipeline.
func New(cfg Config) *Pipeline {
	cfg = cfg.withDefaults()
	return &Pipeline{
		cfg: cfg, log: cfg.Log.With().Str("component", "analysis").Logger(),
		names:    names.NewTable(cfg.Names, cfg.MaxNames),
		classify: classify.New(cfg.QoS),
		calls:    calls.New(cfg.CallGap),
		flows:    flowMap{},
		rtp:      map[rtpKey]*rtpState{},
		rtpOf:    map[observe.FlowID]map[rtpKey]struct{}{},
		cands:    map[observe.FlowID]map[rtpKey]*candidate{},
		hellos:   map[observe.FlowID]*helloBuffer{},
		snis:     map[observe.FlowID]string{},
		stun:     stunrtt.New[observe.FlowID](0),
	}
}

// Counters returns how often a bound was hit or input was bad.
func (p *Pipeline) Counters() Counters {
	c := p.counters
	c.NamesDropped = p.names.Dropped
	c.STUN = p.stun.Counters()
	return c
}

// Observe takes one snapshot. Snapshots must come in time order.
func (p *Pipeline) Observe(s observe.Snapshot) {
	if s.Time.Before(p.now) {
		p.log.Warn().Time("snapshot", s.Time).Time("previous", p.now).Msg("snapshot out of order: ignored")
		return
	}
	p.prev, p.now = p.now, s.Time
	if !p.prev.IsZero() && p.now.Sub(p.prev) > p.cfg.IdleTimeout {
		// A quiet stretch no snapshot saw: what went idle in it ended
		// before this snapshot's packets came.
		p.expireIdleAt(p.now.Add(-p.cfg.Interval))
	}
	p.payloads(s.Payloads)
	for i := range s.Flows {
		p.updateFlow(&s.Flows[i])
	}
	if s.OnlyChanged {
		p.sampleSilent()
	}
	for i := range s.RTP {
		p.updateRTP(&s.RTP[i])
	}
	p.gone(s.Gone)
	p.stun.Expire(p.now)
	p.expireIdle()
	p.analyse()
	p.forget()
}

// Stop ends every running stream with "agent_stop".
func (p *Pipeline) Stop() {
	for _, st := range p.flows {
		st.end(EndAgentStop, p.now)
	}
	for _, st := range p.rtp {
		st.end(EndAgentStop, p.now)
	}
}

func (p *Pipeline) streamCount() int { return len(p.flows) + len(p.rtp) + len(p.ended) }

func (p *Pipeline) updateFlow(f *observe.Flow) {
	st := p.flows.get(f.ID)
	if st != nil && st.ended() && busier(f, &st.f) {
		p.ended = append(p.ended, endedStream{flow: st})
		st = nil // new traffic after the end: a new stream
	}
	if st == nil {
		if p.now.Sub(lastOf(f.Sent.Last, f.Recv.Last)) > p.cfg.IdleTimeout {
			return // a flow the source still lists but that ended long ago
		}
		if p.streamCount() >= p.cfg.MaxStreams {
			p.counters.StreamsDropped++
			return
		}
		st = newFlowState(*f, p.now, &p.keys)
		p.flows[st.f.ID] = st
	}
	if !st.ended() {
		p.sampleFlow(st, f)
	}
}

// sampleSilent gives each running flow that a snapshot of changes left
// out the silent interval it would have had with its unchanged counters.
func (p *Pipeline) sampleSilent() {
	for _, st := range p.flows {
		if !st.ended() && st.prevAt.Time().Before(p.now) {
			f := st.f.observation()
			p.sampleFlow(st, &f)
		}
	}
}

// sampleFlow takes a running flow's counters: the interval since the
// previous ones goes into its window.
func (p *Pipeline) sampleFlow(st *flowState, f *observe.Flow) {
	if st.f.Owner == nil && f.Owner != nil {
		st.setOwner(f.Owner, &p.keys)
	}
	dSent := delta(f.Sent, st.f.Sent)
	dRecv := delta(f.Recv, st.f.Recv)
	if st.prevAt.Time().Before(p.now) {
		span := p.now.Sub(st.prevAt.Time())
		st.rateSent = float64(dSent.Bytes*8) / span.Seconds()
		st.rateRecv = float64(dRecv.Bytes*8) / span.Seconds()
		packets := dSent.Packets + dRecv.Packets
		payload := (dSent.Bytes + dRecv.Bytes) - min(dSent.Bytes+dRecv.Bytes, packets*headerBytes(f.ID))
		st.window.Add(classify.Sample{Span: span, Packets: packets, Payload: payload})
	}
	st.f, st.prevAt = keepFlow(f, st.f.ID), instantOf(p.now)
	st.last = instantOf(lastOf(f.Sent.Last, f.Recv.Last, st.last.Time()))
	if f.Closed {
		st.end(EndClosed, p.now)
	}
}

// busier says whether a flow's counters grew past an earlier copy (or were
// reset, after the source dropped and re-created it).
func busier(f *observe.Flow, old *lastFlow) bool {
	n, o := f.Sent.Packets+f.Recv.Packets, old.Sent.Packets+old.Recv.Packets
	return n != o
}

func delta(cur observe.Counters, prev counts) observe.Counters {
	if cur.Packets < prev.Packets || cur.Bytes < prev.Bytes {
		return cur // counters restarted
	}
	return observe.Counters{Packets: cur.Packets - prev.Packets, Bytes: cur.Bytes - prev.Bytes}
}

// gone ends the streams of flows the source dropped. A TCP flow or a
// closed socket ended by closing; a dropped UDP flow went idle.
func (p *Pipeline) gone(ids []observe.FlowID) {
	for _, id := range ids {
		st := p.flows.get(id)
		if st == nil {
			continue
		}
		reason := EndIdle
		if st.f.Closed || id.Transport == observe.TCP {
			reason = EndClosed
		}
		st.end(reason, p.now)
		for k := range p.rtpOf[id] {
			p.rtp[k].end(reason, p.now)
		}
		p.dropCandidates(id)
		delete(p.hellos, id)
	}
}

func (p *Pipeline) expireIdle() {
	p.expireIdleAt(p.now)
	for _, st := range p.flows {
		p.quiet(&st.stream)
	}
	for _, st := range p.rtp {
		p.quiet(&st.stream)
	}
}

// expireIdleAt ends the streams without packets for IdleTimeout at now.
func (p *Pipeline) expireIdleAt(now time.Time) {
	idle := func(s *stream) {
		if !s.ended() && now.Sub(s.last.Time()) > p.cfg.IdleTimeout {
			s.end(EndIdle, s.last.Time().Add(p.cfg.IdleTimeout))
		}
	}
	for _, st := range p.flows {
		idle(&st.stream)
	}
	for _, st := range p.rtp {
		idle(&st.stream)
	}
}

// quiet zeroes the rate of a stream the snapshot did not report.
func (p *Pipeline) quiet(s *stream) {
	if s.prevAt.Time().Before(p.now) {
		s.rateSent, s.rateRecv = 0, 0
	}
}

// forget drops streams that ended more than Linger ago and state that
// only served them.
func (p *Pipeline) forget() {
	gone := func(s *stream) bool { return s.ended() && p.now.Sub(s.endAt.Time()) > p.cfg.Linger }
	for k, st := range p.flows {
		if gone(&st.stream) {
			delete(p.flows, k)
			id := k.id()
			delete(p.snis, id)
			delete(p.hellos, id)
		}
	}
	for k, st := range p.rtp {
		if gone(&st.stream) {
			delete(p.rtp, k)
			delete(p.rtpOf[k.flow], k)
			if len(p.rtpOf[k.flow]) == 0 {
				delete(p.rtpOf, k.flow)
			}
		}
	}
	kept := p.ended[:0]
	for _, e := range p.ended {
		if (e.flow != nil && !gone(&e.flow.stream)) || (e.rtp != nil && !gone(&e.rtp.stream)) {
			kept = append(kept, e)
		}
	}
	p.ended = kept
	// Samples of flows the source never reported (or we could not track).
	for id := range p.hellos {
		if p.flows.get(id) == nil {
			delete(p.hellos, id)
		}
	}
	for id := range p.snis {
		if p.flows.get(id) == nil {
			delete(p.snis, id)
		}
	}
	// Round trips of flows that ended, or that were never tracked.
	p.stun.Retain(func(id observe.FlowID) bool { return p.flows.get(id) != nil })
	for id := range p.cands {
		if p.flows.get(id) == nil {
			p.dropCandidates(id)
		}
	}
	p.names.Expire(p.now)
	p.calls.Prune(p.now, p.cfg.Linger)
}

//go:build linux

package main

import (
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent"
	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/api"
	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/config"
	"github.com/teamsflow/teamsflow/agent/names"
	"github.com/teamsflow/teamsflow/agent/observe"
	"github.com/teamsflow/teamsflow/agent/record"
)

// streamTable is the agent's stream table: the analysis pipeline fed with
// the agent's observations at every poll. The API and the exporter read it.
type streamTable struct {
	agent *agent.Agent
	paths *pathsProxy
	mu    sync.Mutex
	p     *analysis.Pipeline
}

// pathsProxy is the pipeline's Paths before the agent runs (none) and
// after (the agent's live paths).
type pathsProxy struct{ live *livePaths }

func (p *pathsProxy) TCPRTT(id observe.FlowID) (time.Duration, bool) {
	if p.live == nil {
		return 0, false
	}
	return p.live.TCPRTT(id)
}

func (p *pathsProxy) InterfaceKind(id observe.FlowID) string {
	if p.live == nil {
		return ""
	}
	return p.live.InterfaceKind(id)
}

// newStreamTable reads the names file before anything is attached, so
// that a bad file stops the agent with nothing to undo; the agent comes
// later (see attach).
func newStreamTable(cfg config.Config) (*streamTable, error) {
	paths := &pathsProxy{}
	acfg := analysis.Config{QoS: qosPorts(cfg.QoS), IdleTimeout: cfg.IdleTimeout, Paths: paths}
	if cfg.NamesFile != "" {
		data, err := names.LoadData(cfg.NamesFile)
		if err != nil {
			return nil, err
		}
		acfg.Names = data
	}
	return &streamTable{p: analysis.New(acfg), paths: paths}, nil
}

// attach gives the table the running agent to read at every update, and
// its paths (TCP round trips, interface kinds) in the namespaces it watches.
func (s *streamTable) attach(a *agent.Agent, nsPaths []string, log zerolog.Logger) {
	s.mu.Lock()
	s.agent = a
	s.paths.live = newLivePaths(a, nsPaths, log.With().Str("component", "paths").Logger())
	s.mu.Unlock()
}

func qosPorts(q config.QoS) classify.QoSPorts {
	conv := func(r config.PortRange) names.PortRange { return names.PortRange{First: r.Low, Last: r.High} }
	return classify.QoSPorts{Audio: conv(q.AudioPorts), Video: conv(q.VideoPorts), Screenshare: conv(q.ScreensharePorts)}
}

// update reads the kernel and feeds the pipeline.
func (s *streamTable) update() {
	s.paths.live.refresh(time.Now())
	snap := s.agent.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p.Observe(snap)
}

// Records are the current streams and those that ended a short while ago.
func (s *streamTable) Records(allApps bool) []record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p.Records(allApps)
}

// stop ends every stream with "agent_stop" and returns their last records.
func (s *streamTable) stop(allApps bool) []record.Record {
	s.update()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p.Stop()
	return s.p.Records(allApps)
}

func (s *streamTable) metrics() []api.Metric {
	s.mu.Lock()
	c := s.p.Counters()
	s.mu.Unlock()
	m := func(name, help string, v uint64) api.Metric {
		return api.Metric{Name: "analysis_" + name + "_total", Help: help, Counter: true, Value: float64(v)}
	}
	return []api.Metric{
		m("streams_dropped", "New streams not tracked: the stream limit was reached.", c.StreamsDropped),
		m("names_dropped", "DNS answers not remembered: the name limit was reached.", c.NamesDropped),
		m("hello_buffers_dropped", "ClientHellos not joined: the buffer limit was reached.", c.HelloBuffersDropped),
		m("dns_errors", "DNS samples that did not parse.", c.DNSErrors),
		m("hello_errors", "ClientHellos without a usable server name.", c.HelloErrors),
		m("rtp_rejected", "Would-be RTP sources that never became streams (no sequence steps or media clock).", c.RTPRejected),
		m("rtp_loss_out_of_range", "Received RTP streams whose loss fell outside 0-100% (shown clamped).", c.LossOutOfRange),
		m("health_input_rejected", "Streams with a health figure no measurement can give, left out of the verdict.", c.HealthInputRejected),
		m("stun_rtt_samples", "STUN checks matched with their responses: round-trip samples.", c.STUN.Samples),
		m("stun_not_stun", "STUN samples whose bytes are not a STUN header.", c.STUN.NotSTUN),
		m("stun_unmatched", "STUN responses to no request seen: no round trip.", c.STUN.Unmatched),
		m("stun_duplicates", "Duplicated STUN responses: no round trip.", c.STUN.Duplicates),
		m("stun_late", "STUN responses after the timeout: no round trip.", c.STUN.Late),
		m("stun_retransmitted", "STUN responses to a request sent twice under one ID: no round trip.", c.STUN.Retransmitted),
		m("stun_reused_ids", "STUN requests reusing an answered or expired transaction ID.", c.STUN.ReusedIDs),
		m("stun_expired", "STUN requests without a response within the timeout.", c.STUN.Expired),
		m("stun_overflow", "STUN requests dropped past the per-flow bound.", c.STUN.Overflow),
	}
}

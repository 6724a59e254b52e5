//go:build linux

package main

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent"
	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/record"
)

// captureAnalysis feeds the agent's observations to the analysis pipeline
// once a second while capture watches, so that the flows it prints carry
// their app, label and server name, and RTP sources get records of their
// own.
type captureAnalysis struct {
	a     *agent.Agent
	paths *livePaths
	p     *analysis.Pipeline
	stop  chan struct{}
	done  chan struct{}
}

func startCaptureAnalysis(a *agent.Agent, nsPaths []string, log zerolog.Logger) *captureAnalysis {
	paths := newLivePaths(a, nsPaths, log.With().Str("component", "paths").Logger())
	c := &captureAnalysis{a: a, paths: paths, p: analysis.New(analysis.Config{Linger: 24 * time.Hour, Paths: paths}),
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				paths.refresh(time.Now())
				c.p.Observe(a.Snapshot())
			}
		}
	}()
	return c
}

// records ends the analysis and returns the agent's flow records with the
// analysis fields filled in, followed by one record per RTP source.
func (c *captureAnalysis) records() []record.Record {
	close(c.stop)
	<-c.done
	c.paths.readRTTs(time.Now()) // the round trips as they are at the end
	c.p.Observe(c.a.Snapshot())
	flows := c.a.Records()
	type flowKey struct {
		netns                  uint64
		transport, local, peer string
		localPort, peerPort    uint16
	}
	key := func(r *record.Record) flowKey {
		return flowKey{r.Netns, r.Transport, r.LocalAddr, r.PeerAddr, r.LocalPort, r.PeerPort}
	}
	analysed := map[flowKey]record.Record{}
	var rtp []record.Record
	for _, r := range c.p.Records(true) {
		if r.SSRC != nil {
			rtp = append(rtp, r)
		} else {
			analysed[key(&r)] = r
		}
	}
	for i := range flows {
		if an, ok := analysed[key(&flows[i])]; ok {
			copyAnalysis(&flows[i], &an)
		}
	}
	return append(flows, rtp...)
}

func copyAnalysis(dst, src *record.Record) {
	dst.App, dst.AppEvidence, dst.ServerName = src.App, src.AppEvidence, src.ServerName
	dst.Label, dst.LabelReason, dst.Confidence = src.Label, src.LabelReason, src.Confidence
	dst.RateSentBps, dst.RateRecvBps = src.RateSentBps, src.RateRecvBps
	dst.CallID, dst.StreamID, dst.EndReason = src.CallID, src.StreamID, src.EndReason
	dst.RTTMs, dst.InterfaceKind, dst.PathWarning = src.RTTMs, src.InterfaceKind, src.PathWarning
}

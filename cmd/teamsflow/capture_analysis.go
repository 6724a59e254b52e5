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
// once a second while capture watches: the pipeline makes every record
// capture prints, as it does for `run` and `analyze`.
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

// records ends the analysis and returns its records of every app: one per
// flow, and one per RTP source and direction (see agent/analysis).
func (c *captureAnalysis) records() []record.Record {
	close(c.stop)
	<-c.done
	c.paths.readRTTs(time.Now()) // the round trips as they are at the end
	c.p.Observe(c.a.Snapshot())
	return c.p.Records(true)
}

// Package client is the simulated Teams (or Zoom) client: the code that
// runs inside the process named ms-teams, teams-for-linux, chrome, msedge
// or zoom in the client namespace. It resolves names, signals over HTTPS,
// gathers candidates at the relay, runs ICE checks and sends SRTP media,
// then reports what it sent.
package client

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// Run plays the call and returns the result for the controller. Errors
// end up in Result.Error so that what was sent is reported anyway.
func Run(ctx context.Context, p plan.Call, log zerolog.Logger) plan.Result {
	res := plan.Result{PID: os.Getpid(), PPID: os.Getppid(), Cmdline: os.Args}
	if b, err := os.ReadFile("/proc/self/comm"); err == nil {
		res.Comm = strings.TrimSpace(string(b))
	}
	res.Exe, _ = os.Readlink("/proc/self/exe")
	c := &call{p: p, log: log}
	err := c.play(ctx)
	res.Streams = c.truth()
	if err != nil {
		res.Error = err.Error()
	}
	for i := range res.Streams {
		s := &res.Streams[i]
		s.CallID, s.PID, s.Comm, s.Client, s.Mode, s.App = p.ID, res.PID, res.Comm, p.Client, p.Mode, p.App
	}
	return res
}

type call struct {
	p          plan.Call
	log        zerolog.Logger
	res        *resolver
	sig        *signalling
	transports []*transport
}

func (c *call) play(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(c.p.Start):
	}
	defer c.close()
	if err := c.setup(ctx); err != nil {
		return err
	}
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if c.p.Keepalive != nil {
		wg.Go(func() { c.sig.keepalive(bg, *c.p.Keepalive, c.p.KeepEvery) })
	}
	start := time.Now()
	var senders sync.WaitGroup
	for _, t := range c.transports {
		if len(t.p.Candidates) > 0 {
			wg.Go(func() { t.consent(bg) })
		}
		wg.Go(func() { t.reportLoop(bg, c.p.ID+"@teamsflow-sim") })
		for _, s := range t.senders {
			senders.Go(func() { s.run(ctx, start) })
		}
	}
	if c.p.DirectAfter > 0 {
		wg.Go(func() { c.goDirect(bg) })
	}
	c.log.Info().Int("transports", len(c.transports)).Msg("media started")
	senders.Wait()
	for _, t := range c.transports {
		for _, s := range t.senders {
			s.report(c.p.ID + "@teamsflow-sim") // final report covers the last frames
		}
	}
	stop()
	wg.Wait()
	// Let the peer's last echoes arrive before the sockets close.
	time.Sleep(150 * time.Millisecond)
	return nil
}

// setup is everything before media: DNS, HTTPS signalling, candidate
// gathering at the relay and ICE checks.
func (c *call) setup(ctx context.Context) error {
	var err error
	if c.res, err = newResolver(c.p.DNSServer); err != nil {
		return err
	}
	for _, name := range c.p.Lookups {
		if err := c.res.lookup(name); err != nil {
			return err
		}
	}
	if c.sig, err = newSignalling(c.res, c.p.CAPEM); err != nil {
		return err
	}
	for _, r := range c.p.Requests {
		if err := c.sig.do(ctx, r); err != nil {
			return err
		}
	}
	relayMode := c.p.Mode == scenario.ModeRelay
	for i, tp := range c.p.Transports {
		t, err := newTransport(tp, c.p.ClientIP, c.log)
		if err != nil {
			return err
		}
		c.transports = append(c.transports, t)
		for _, st := range tp.Streams {
			t.senders = append(t.senders, newSender(st, t))
		}
		if c.p.Relay != nil && (relayMode || i == 0) {
			if err := t.gather(c.p.Relay, relayMode); err != nil {
				return err
			}
		}
		if len(tp.Candidates) > 0 {
			if err := t.connect(ctx); err != nil {
				return fmt.Errorf("connecting transport %d: %w", i, err)
			}
		}
	}
	return nil
}

// goDirect moves every relayed transport to the direct path once the
// plan's DirectAfter has passed since media started.
func (c *call) goDirect(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(c.p.DirectAfter):
	}
	for _, t := range c.transports {
		if err := t.goDirect(ctx); err != nil {
			c.log.Warn().Err(err).Msg("media stays on the relay")
		}
	}
}

func (c *call) close() {
	for _, t := range c.transports {
		t.close()
	}
	if c.res != nil {
		c.res.close()
	}
}

// truth lists every flow the call used with what was really sent.
func (c *call) truth() []truth.Stream {
	var out []truth.Stream
	if c.res != nil {
		out = append(out, c.res.truth())
	}
	if c.sig != nil {
		out = append(out, c.sig.finish()...)
	}
	for _, t := range c.transports {
		out = append(out, t.truth()...)
	}
	return out
}

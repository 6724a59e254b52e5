// Package sim is the controller behind `teamsflow-sim play`: it brings up
// the namespaces, starts the cloud servers, launches one client process
// per call, optionally captures the client veth, and writes the ground
// truth from what the clients and the far ends report.
package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/testenv/capture"
	"github.com/teamsflow/teamsflow/agent/testenv/topo"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/cloud"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/launch"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/plan"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
)

// Options configure one play.
type Options struct {
	Scenario *scenario.Scenario
	// Duration, when set, overrides every call's duration.
	Duration  time.Duration
	TruthPath string
	PcapPath  string
	ClientNS  string
	CloudNS   string
	Log       zerolog.Logger
	// OnStart, when set, is called with each call's top process id as
	// soon as it runs (tests inspect /proc with it).
	OnStart func(callID string, pid int)
}

type running struct {
	call       plan.Call
	cmd        *exec.Cmd
	resultPath string
	waitErr    chan error
}

// Play runs the scenario to the end (or until ctx is cancelled) and
// returns the ground truth, which it also writes to TruthPath when set.
func Play(ctx context.Context, o Options) (*truth.File, error) {
	log := o.Log.With().Str("component", "sim").Logger()
	pki, err := cloud.NewPKI()
	if err != nil {
		return nil, err
	}
	calls, err := plan.Build(o.Scenario, o.Duration, pki.CAPEM)
	if err != nil {
		return nil, err
	}
	answer, silent := plan.PeerEndpoints(calls)
	top, err := topo.Up(o.ClientNS, o.CloudNS, hosts(append(answer, silent...)))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := top.Down(); err != nil {
			log.Warn().Err(err).Msg("removing namespaces")
		}
	}()
	cl, err := cloud.Start(top.Cloud, pki, calls, o.Log.With().Str("component", "cloud").Logger())
	if err != nil {
		return nil, err
	}
	defer func() { _ = cl.Stop(context.Background()) }()

	var capt *capture.Capture
	if o.PcapPath != "" {
		if capt, err = capture.Start(top.Client, topo.ClientIface, o.PcapPath); err != nil {
			return nil, err
		}
	}
	tf := &truth.File{Scenario: o.Scenario.Name, Started: time.Now().UTC(),
		ClientNetns: o.ClientNS, CloudNetns: o.CloudNS, ClientIface: topo.ClientIface}
	playErr := playCalls(ctx, o, top, calls, tf, log)
	if capt != nil {
		time.Sleep(100 * time.Millisecond) // drain the last packets in flight
		n, err := capt.Stop()
		playErr = errors.Join(playErr, err)
		log.Info().Int("packets", n).Str("file", o.PcapPath).Msg("capture written")
	}
	tf.Ended = time.Now().UTC()
	addPeerStats(tf, cl.Peers.Stats())
	sortStreams(tf.Streams)
	if o.TruthPath != "" {
		playErr = errors.Join(playErr, truth.Write(o.TruthPath, tf))
	}
	return tf, playErr
}

func hosts(endpoints []string) []string {
	var out []string
	for _, e := range endpoints {
		out = append(out, e[:strings.LastIndex(e, ":")])
	}
	return out
}

// playCalls starts every client, waits for all of them (stopping them on
// cancellation) and collects their results into tf.
func playCalls(ctx context.Context, o Options, top *topo.Topology, calls []plan.Call, tf *truth.File, log zerolog.Logger) error {
	dir, err := os.MkdirTemp("", "tfsim-")
	if err != nil {
		return fmt.Errorf("making work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	var runs []*running
	var errs []error
	for _, c := range calls {
		r, err := startCall(top, dir, c, o.Log.GetLevel().String())
		if err != nil {
			errs = append(errs, err)
			break
		}
		log.Info().Str("call", c.ID).Str("client", c.Client).Str("mode", c.Mode).Int("pid", r.cmd.Process.Pid).Msg("client started")
		if o.OnStart != nil {
			o.OnStart(c.ID, r.cmd.Process.Pid)
		}
		runs = append(runs, r)
	}
	for _, r := range runs {
		errs = append(errs, r.wait(ctx))
		tc, streams, err := r.collect()
		errs = append(errs, err)
		tf.Calls = append(tf.Calls, tc)
		tf.Streams = append(tf.Streams, streams...)
	}
	return errors.Join(errs...)
}

func startCall(top *topo.Topology, dir string, c plan.Call, level string) (*running, error) {
	exe, err := launch.Install(filepath.Join(dir, "root"), c.Client)
	if err != nil {
		return nil, err
	}
	r := &running{call: c, resultPath: filepath.Join(dir, c.ID+".result.json"), waitErr: make(chan error, 1)}
	planPath := filepath.Join(dir, c.ID+".plan.json")
	if err := plan.WriteJSON(planPath, c); err != nil {
		return nil, err
	}
	r.cmd, err = launch.Start(launch.Spec{NS: top.Client, Client: c.Client, WebApp: c.WebApp, Exe: exe,
		PlanPath: planPath, ResultPath: r.resultPath, LogLevel: level})
	if err != nil {
		return nil, err
	}
	go func() { r.waitErr <- r.cmd.Wait() }()
	return r, nil
}

// wait lets the client finish; on cancellation it sends SIGTERM to the
// client's process group (the clients stop sending and still report), and
// SIGKILL if they do not exit in time.
func (r *running) wait(ctx context.Context) error {
	var err error
	select {
	case err = <-r.waitErr:
	case <-ctx.Done():
		pgid := r.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case err = <-r.waitErr:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			err = <-r.waitErr
		}
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("call %s (%s): %w", r.call.ID, r.call.Client, err)
	}
	return nil
}

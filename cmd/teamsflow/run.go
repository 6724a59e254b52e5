//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/teamsflow/teamsflow/agent"
	"github.com/teamsflow/teamsflow/agent/api"
	"github.com/teamsflow/teamsflow/agent/config"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/exporter"
)

// Exporter ships stream records as spans. Observe gets every record once
// per poll interval, plus the final records of streams that ended.
type Exporter interface {
	Observe(now time.Time, recs []record.Record)
	Stats() map[string]uint64 // e.g. spans_exported, spans_dropped
	Shutdown(ctx context.Context) error
}

// newExporter builds the OTLP exporter when an endpoint is configured
// (export.endpoint, or the standard OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT);
// nil means no export.
func newExporter(ctx context.Context, cfg config.Config, log zerolog.Logger) (Exporter, error) {
	ecfg, ok := exporterConfig(cfg, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if !ok {
		return nil, nil
	}
	exp, err := exporter.New(ctx, ecfg, log.With().Str("component", "exporter").Logger())
	if err != nil {
		return nil, err
	}
	return exp, nil
}

// exporterConfig is the OTLP exporters' configuration; ok is false when no
// endpoint is set, neither in the configuration nor in
// OTEL_EXPORTER_OTLP_ENDPOINT or the signal's own variable (signalEnv).
func exporterConfig(cfg config.Config, signalEnv string) (exporter.Config, bool) {
	e := cfg.Export
	fromEnv := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv(signalEnv) != ""
	if !e.Enabled() && !fromEnv {
		return exporter.Config{}, false
	}
	ecfg := exporter.Config{Endpoint: e.Endpoint, Protocol: e.Protocol, Insecure: e.Insecure, CAFile: e.CAFile,
		ClientCertFile: e.CertFile, ClientKeyFile: e.KeyFile, Headers: e.Headers, ActiveTimeout: e.ActiveTimeout,
		QueueSize: e.QueueSize, MetricsInterval: e.MetricsInterval, AllApps: cfg.AllApps, CommandLine: e.CommandLine, ServiceVersion: version}
	if !e.Enabled() {
		ecfg.Protocol = "" // the OTEL_* variables decide
	}
	return ecfg, true
}

func newRunCmd() *cobra.Command {
	var file string
	var printConfig bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: watch every flow, serve the local API, export spans",
		Long: `run is the long-running agent (usually started by systemd). It attaches the
kernel programs, keeps the flow and stream tables, answers 'teamsflow streams'
over a unix socket, and ships spans when an OTLP endpoint is configured.
SIGINT or SIGTERM stop it: it stops serving, exports what it has, detaches.

` + configHelp(),
		Example: `  sudo teamsflow run
  sudo teamsflow run --config ./teamsflow.yaml --print-config
  sudo teamsflow run --netns /run/netns/vdi1 --export-endpoint collector:4317`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAgent(cmd, file, printConfig) },
	}
	cmd.Flags().StringVar(&file, "config", "", "YAML configuration file (default "+config.DefaultFile+", which may be missing)")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective configuration as YAML and exit")
	bindConfigFlags(cmd.Flags())
	return cmd
}

func runAgent(cmd *cobra.Command, file string, printConfig bool) error {
	cfg, err := loadConfig(cmd, file)
	if err != nil {
		return err
	}
	if printConfig {
		out, err := cfg.YAML()
		if err == nil {
			_, err = cmd.OutOrStdout().Write(out)
		}
		return err
	}
	_ = cmd.Flags().Set("log-level", cfg.LogLevel)
	log, err := newLogger(cmd)
	if err != nil {
		return err
	}
	warnings, err := cfg.CheckSystem()
	if err != nil {
		return err
	}
	for _, w := range append(cfg.Warnings, warnings...) {
		log.Warn().Msg(w)
	}
	limit := setMemoryLimit(cfg.MemoryLimitMB, os.Getenv)
	if limit.current != math.MaxInt64 {
		log.Debug().Int64("bytes", limit.current).Msg("soft memory limit")
	}
	acfg := agent.Config{Interfaces: cfg.Interfaces, Netns: append([]string{""}, cfg.Netns...),
		TCMode: bpf.TCMode(cfg.TCMode), Maps: bpf.Config{FlowMapEntries: cfg.FlowMapSize, FlowSlots: bpf.SlotsPerCPU(cfg.FlowSlots)},
		PollInterval: cfg.PollInterval, IdleTimeout: cfg.IdleTimeout, Log: log}
	warning, err := agent.CheckPrivileges(acfg)
	if err != nil {
		return err
	}
	if warning != "" {
		log.Warn().Msg(warning)
	}
	d := &daemon{cfg: cfg, log: log.With().Str("component", "run").Logger(), started: time.Now(), memory: limit}
	return d.run(cmd.Context(), acfg)
}

// daemon is a running `teamsflow run`.
type daemon struct {
	cfg      config.Config
	log      zerolog.Logger
	agent    *agent.Agent
	streams  *streamTable
	exporter Exporter
	feed     *healthFeed // path warnings and stream health metrics
	memory   *memoryLimit
	started  time.Time
	lastTick atomic.Int64 // unix ns of the last completed tick
}

func (d *daemon) run(ctx context.Context, acfg agent.Config) error {
	// The socket comes first: a second agent must stop before attaching.
	srv, err := api.Listen(api.Options{Socket: d.cfg.API.Socket, Group: d.cfg.API.Group, Streams: d,
		Metrics: d.metrics, Health: d.health, Log: d.log.With().Str("component", "api").Logger()})
	if err != nil {
		return err
	}
	// The names file and the exporter's settings are checked before
	// anything is attached.
	streams, err := newStreamTable(d.cfg)
	if err != nil {
		return errors.Join(err, srv.Close())
	}
	if d.exporter, err = newExporter(context.Background(), d.cfg, d.log); err != nil {
		return errors.Join(err, srv.Close())
	}
	if d.feed, err = newHealthFeed(context.Background(), d.cfg, d.log); err != nil {
		return errors.Join(err, d.shutdownExporter(), srv.Close())
	}
	if d.agent, err = agent.Start(acfg); err != nil {
		return errors.Join(err, d.shutdownExporter(), srv.Close())
	}
	if err := releaseBinaryPages(); err != nil {
		d.log.Debug().Err(err).Msg("the pages of starting stay resident")
	}
	streams.attach(d.agent, acfg.Netns, d.log)
	d.streams = streams
	d.lastTick.Store(time.Now().UnixNano())
	srv.Serve()
	d.log.Info().Str("socket", d.cfg.API.Socket).Strs("interfaces", d.agent.Attached()).
		Bool("export", d.exporter != nil).Bool("metrics", d.feed.metrics != nil).Msg("agent running")
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			d.tick(now)
		case <-ctx.Done():
			return d.stop(srv)
		}
	}
}

// tick feeds the stream table and hands its records to the exporter;
// streams that ended stay in them with their end reason for a while.
func (d *daemon) tick(now time.Time) {
	d.streams.update()
	// Other apps' records only for the exporter: path warnings concern
	// Teams media, and 10k other flows' records each second are garbage.
	recs := d.streams.Records(d.cfg.AllApps && d.exporter != nil)
	if d.exporter != nil {
		d.exporter.Observe(now, recs)
	}
	d.feed.observe(now, recs)
	wasConfigured := d.memory.current == d.memory.configured
	if limit, moved := d.memory.follow(); moved {
		ev := d.log.Debug()
		if wasConfigured {
			ev = d.log.Info() // once per excursion past memory_limit_mb
		}
		ev.Int64("bytes", limit).Uint32("memory_limit_mb", d.cfg.MemoryLimitMB).
			Msg("soft memory limit follows the live heap (more flows than memory_limit_mb is sized for)")
	}
	d.lastTick.Store(now.UnixNano())
}

func (d *daemon) shutdownExporter() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := d.feed.shutdown(ctx)
	if d.exporter == nil {
		return err
	}
	return errors.Join(err, d.exporter.Shutdown(ctx))
}

// stop ends serving first (no answers from a half-closed agent), then
// exports the last figures, then detaches.
func (d *daemon) stop(srv *api.Server) error {
	d.log.Info().Msg("stopping")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errs := []error{srv.Shutdown(ctx)}
	if d.exporter != nil || d.feed.metrics != nil {
		last := d.streams.stop(d.cfg.AllApps)
		if d.exporter != nil {
			d.exporter.Observe(time.Now(), last)
		}
		d.feed.record(last)
		errs = append(errs, d.shutdownExporter())
	}
	errs = append(errs, d.agent.Close())
	err := errors.Join(errs...)
	if err == nil {
		d.log.Info().Msg("stopped")
	}
	return err
}

// Records serves the API; it exists before the agent so the socket can
// be claimed first.
func (d *daemon) Records(allApps bool) []record.Record {
	if d.streams == nil {
		return []record.Record{}
	}
	return d.streams.Records(allApps)
}

func (d *daemon) health() api.Health {
	h := api.Health{OK: true, Version: version, Started: d.started, Export: d.exporter != nil,
		LastPoll: time.Unix(0, d.lastTick.Load())}
	if d.agent != nil {
		h.Attached = d.agent.Attached()
	}
	if age := time.Since(h.LastPoll); age > 3*d.cfg.PollInterval+time.Second {
		h.OK = false
		h.Problems = append(h.Problems, fmt.Sprintf("no poll for %s", age.Round(time.Second)))
	}
	if d.agent == nil {
		return h
	}
	c, err := d.agent.Counters()
	if err != nil {
		h.OK = false
		h.Problems = append(h.Problems, "reading kernel counters: "+err.Error())
	}
	for name, n := range c.Losses() {
		h.Problems = append(h.Problems, fmt.Sprintf("%s: %d", name, n))
	}
	return h
}

func (d *daemon) metrics() []api.Metric {
	ms := []api.Metric{{Name: "start_time_seconds", Help: "When the agent started, Unix seconds.",
		Value: float64(d.started.Unix())}}
	if d.agent == nil {
		return ms
	}
	c, _ := d.agent.Counters()
	ms = append(ms,
		api.Metric{Name: "flows_tracked", Help: "Flows in the agent's table.", Value: float64(c.FlowsTracked)},
		api.Metric{Name: "processes_known", Help: "Processes in the agent's cache.", Value: float64(c.Processes)},
		api.Metric{Name: "events_malformed_total", Help: "Kernel events that did not decode.", Counter: true, Value: float64(c.BadEvents)},
		api.Metric{Name: "events_dropped_total", Help: "Kernel events dropped because the event queue was full.", Counter: true, Value: float64(c.DroppedEvents)})
	for name, v := range c.Kernel {
		ms = append(ms, api.Metric{Name: "kernel_" + name + "_total", Help: "Kernel counter " + name + ".", Counter: true, Value: float64(v)})
	}
	if d.streams != nil {
		ms = append(ms, d.streams.metrics()...)
	}
	if d.exporter != nil {
		ms = append(ms, exportMetrics(d.exporter.Stats())...)
	}
	return ms
}

// exporterGauges are the exporter's figures that go up and down; the
// rest only grow.
var exporterGauges = map[string]string{
	"queue_length":   "Spans waiting for the collector.",
	"queue_capacity": "Spans the queue holds before it drops (export.queue_size).",
}

func exportMetrics(stats map[string]uint64) []api.Metric {
	var ms []api.Metric
	for name, v := range stats {
		if help, ok := exporterGauges[name]; ok {
			ms = append(ms, api.Metric{Name: "export_" + name, Help: help, Value: float64(v)})
			continue
		}
		ms = append(ms, api.Metric{Name: "export_" + name + "_total", Help: "Exporter counter " + name + ".", Counter: true, Value: float64(v)})
	}
	return ms
}

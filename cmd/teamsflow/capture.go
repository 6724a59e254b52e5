//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamsflow/teamsflow/agent"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/bpf"
)

type captureOptions struct {
	duration   time.Duration
	json       bool
	interfaces []string
	netns      []string
	tcMode     string
	flowMap    uint32
	flowSlots  uint32
}

func newCaptureCmd() *cobra.Command {
	var o captureOptions
	cmd := &cobra.Command{
		Use:   "capture",
		Short: "Watch every TCP and UDP flow for a while, then print them with their owners",
		Long: `capture attaches the kernel programs, watches for --duration (or until
Ctrl-C), prints every TCP and UDP flow seen with the process that owns its
socket and its traffic in each direction, and detaches. No daemon needed.`,
		Example: `  sudo teamsflow capture --duration 10s
  sudo teamsflow capture --duration 30s --json --interfaces eth0,lo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCapture(cmd, o) },
	}
	f := cmd.Flags()
	f.DurationVar(&o.duration, "duration", 10*time.Second, "how long to watch (e.g. 10s, 2m)")
	f.BoolVar(&o.json, "json", false, "print one JSON record per line instead of a table")
	f.StringSliceVar(&o.interfaces, "interfaces", nil, "watch only these interfaces (comma-separated; default: all, including ones that appear)")
	f.StringSliceVar(&o.netns, "netns", nil, "also watch the interfaces of these network namespaces (e.g. /run/netns/NAME)")
	f.StringVar(&o.tcMode, "tc-mode", "auto", "how to attach to interfaces: auto, tcx or clsact")
	f.Uint32Var(&o.flowMap, "flow-map-size", 65536, "flows the kernel tracks at once")
	f.Uint32Var(&o.flowSlots, "flow-slots", bpf.DefaultFlowSlots, "fast flow slots per CPU in front of the flow map (a power of two, 0 for none)")
	return cmd
}

func (o captureOptions) config(cmd *cobra.Command) (agent.Config, error) {
	if o.duration <= 0 {
		return agent.Config{}, fmt.Errorf("invalid --duration %s: must be greater than zero", o.duration)
	}
	mode := bpf.TCMode(o.tcMode)
	if mode != bpf.TCAuto && mode != bpf.TCX && mode != bpf.TCClsact {
		return agent.Config{}, fmt.Errorf("invalid --tc-mode %q: use auto, tcx or clsact", o.tcMode)
	}
	if o.flowMap == 0 {
		return agent.Config{}, errors.New("invalid --flow-map-size 0: must be at least 1")
	}
	if n := o.flowSlots; n&(n-1) != 0 || n > 1<<20 {
		return agent.Config{}, fmt.Errorf("invalid --flow-slots %d: use a power of two up to 1048576, or 0 for none", n)
	}
	for _, p := range o.netns {
		if _, err := os.Stat(p); err != nil {
			return agent.Config{}, fmt.Errorf("invalid --netns %q: %w", p, errors.Unwrap(err))
		}
	}
	log, err := newLogger(cmd)
	if err != nil {
		return agent.Config{}, err
	}
	return agent.Config{Interfaces: o.interfaces, Netns: append([]string{""}, o.netns...), TCMode: mode,
		Maps: bpf.Config{FlowMapEntries: o.flowMap, FlowSlots: bpf.SlotsPerCPU(o.flowSlots)}, Log: log}, nil
}

func runCapture(cmd *cobra.Command, o captureOptions) error {
	cfg, err := o.config(cmd)
	if err != nil {
		return err
	}
	warning, err := agent.CheckPrivileges(cfg)
	if err != nil {
		return err
	}
	if warning != "" {
		cfg.Log.Warn().Msg(warning)
	}
	a, err := agent.Start(cfg)
	if err != nil {
		return err
	}
	cfg.Log.Info().Strs("interfaces", a.Attached()).Dur("duration", o.duration).Msg("capturing")
	an := startCaptureAnalysis(a, cfg.Netns, cfg.Log)
	select {
	case <-time.After(o.duration):
	case <-cmd.Context().Done():
		cfg.Log.Info().Msg("interrupted: printing what was seen")
	}
	records := an.records()
	counters, cerr := a.Counters()
	closeErr := a.Close()
	out := cmd.OutOrStdout()
	if o.json {
		err = printJSON(out, records)
	} else {
		err = printTable(out, records)
	}
	reportLosses(cmd.ErrOrStderr(), counters, cerr)
	return errors.Join(err, closeErr)
}

func printTable(w io.Writer, records []record.Record) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tPID\tAPP\tLABEL\tPROTO\tLOCAL\tPEER\tSERVER\tSSRC\tSENT\tRECV\tDSCP\tIFACE\tLAST SEEN")
	for _, r := range records {
		comm, pid := r.Comm, "-"
		if comm == "" {
			comm = "?"
		}
		if r.PID != 0 {
			pid = fmt.Sprint(r.PID)
		}
		ssrc := "-"
		if r.SSRC != nil {
			ssrc = fmt.Sprintf("%#08x", *r.SSRC)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", comm, pid, dash(r.App), dash(r.Label),
			r.Transport, hostPort(r.LocalAddr, r.LocalPort), hostPort(r.PeerAddr, r.PeerPort), dash(r.ServerName), ssrc,
			traffic(r.BytesSent, r.PacketsSent), traffic(r.BytesRecv, r.PacketsRecv),
			r.DSCPSent, dash(r.Interface), r.LastSeen.Local().Format("15:04:05.000"))
	}
	return tw.Flush()
}

// traffic prints "1.2 MB/845p".
func traffic(bytes, packets uint64) string {
	return fmt.Sprintf("%s/%dp", humanBytes(bytes), packets)
}

func humanBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1fGB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1fKB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%dB", b)
}

// reportLosses prints what the kernel or agent dropped; nothing when all
// is well.
func reportLosses(w io.Writer, c agent.Counters, err error) {
	if err != nil {
		fmt.Fprintln(w, "teamsflow: could not read loss counters:", err)
		return
	}
	losses := c.Losses()
	if len(losses) == 0 {
		return
	}
	var parts []string
	for k, v := range losses {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	fmt.Fprintf(w, "teamsflow: lost during capture: %s\n", strings.Join(parts, " "))
}

package main

import (
	"fmt"
	"time"
)

// cpuWindow is the daemon's CPU over one measured window at one rate.
type cpuWindow struct {
	asked int     // RTP packets/s asked of the pacer (0: idle)
	pps   float64 // achieved
	pct   float64 // daemon CPU, % of one core, from /proc/PID/stat
	// precisePct is the same from the threads' schedstat, to the ns.
	precisePct float64
}

// cpuReport is the daemon's CPU at rest and at each rate.
type cpuReport struct {
	startMs float64
	idle    cpuWindow
	windows []cpuWindow
	losses  map[string]float64 // the daemon's loss counters that grew
}

func (r *cpuReport) first() cpuWindow { return r.windows[0] }
func (r *cpuReport) last() cpuWindow  { return r.windows[len(r.windows)-1] }

// misses checks each rate against its budget. A call's rate must be met
// for the figure to count; at a flood's rate the machine's most will do.
func (r *cpuReport) misses() []string {
	if r == nil {
		return nil
	}
	var m []string
	if r.idle.precisePct > budgetCPUIdle {
		m = append(m, fmt.Sprintf("agent_cpu_pct_idle %.2f%% > %.1f%% (schedstat)", r.idle.precisePct, budgetCPUIdle))
	}
	for _, w := range r.windows {
		budget := budgetCPUFlood
		if w.asked <= budgetCallRate {
			budget = budgetCPUCall
			if w.pps < minAchieved*float64(w.asked) {
				m = append(m, fmt.Sprintf("agent cpu at %d pps untested: the pacer reached %.0f pps", w.asked, w.pps))
			}
		}
		if w.pct > budget {
			m = append(m, fmt.Sprintf("agent_cpu_pct %.2f%% > %.0f%% at %.0f pps", w.pct, budget, w.pps))
		}
	}
	return m
}

// measureCPU runs the daemon in the client namespace and reads its CPU
// time from /proc over a window at rest, then over a window at each rate
// while the pacer sends RTP media from the same namespace.
func (b *bench) measureCPU() (*cpuReport, error) {
	fmt.Printf("\n== daemon CPU: teamsflow run in the client namespace, RTP media (%d SSRCs, one flow each) at %v packets/s, %v windows\n",
		len(callStreams), b.cfg.cpuRates, b.cfg.cpuWindow)
	d, err := startDaemon(b.ctx, b.daemonBin, b.topo.client)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	r := &cpuReport{startMs: d.startMs}
	before, err := d.counters()
	if err != nil {
		return nil, err
	}
	// Let the daemon's start-up work (backfill, first polls) pass.
	if err := b.sleep(2 * time.Second); err != nil {
		return nil, err
	}
	if r.idle, err = b.cpuOver(d, nil, min(b.cfg.cpuWindow, 5*time.Second)); err != nil {
		return nil, err
	}
	fmt.Printf("%-10s %12s %10s %16s\n", "asked pps", "sent pps", "cpu %", "cpu % schedstat")
	fmt.Printf("%-10s %12s %10.2f %16.2f\n", "idle", "-", r.idle.pct, r.idle.precisePct)
	for _, rate := range b.cfg.cpuRates {
		w, err := b.paced(d, rate)
		if err != nil {
			return nil, err
		}
		fmt.Printf("%-10d %12.0f %10.2f %16.2f\n", w.asked, w.pps, w.pct, w.precisePct)
		r.windows = append(r.windows, w)
	}
	after, err := d.counters()
	if err != nil {
		return nil, err
	}
	r.losses = grownLosses(before, after)
	return r, nil
}

// paced runs the pacer at rate and measures the window after a warm-up.
func (b *bench) paced(d *daemon, rate int) (cpuWindow, error) {
	p, err := startPacer(b.topo, rate)
	if err != nil {
		return cpuWindow{}, err
	}
	defer p.stop()
	if err := b.sleep(time.Second); err != nil {
		return cpuWindow{}, err
	}
	w, err := b.cpuOver(d, p, b.cfg.cpuWindow)
	if err == nil {
		err = p.err()
	}
	w.asked = rate
	return w, err
}

// cpuOver reads the daemon's CPU time around a window of length d.
func (b *bench) cpuOver(dm *daemon, p *pacer, d time.Duration) (cpuWindow, error) {
	t0, err := dm.cpuTicks()
	if err != nil {
		return cpuWindow{}, err
	}
	ns0, err := dm.runNs()
	if err != nil {
		return cpuWindow{}, err
	}
	start, sent0 := time.Now(), p.count()
	if err := b.sleep(d); err != nil {
		return cpuWindow{}, err
	}
	t1, err := dm.cpuTicks()
	if err != nil {
		return cpuWindow{}, err
	}
	ns1, err := dm.runNs()
	if err != nil {
		return cpuWindow{}, err
	}
	wall := time.Since(start).Seconds()
	return cpuWindow{pps: float64(p.count()-sent0) / wall, pct: 100 * float64(t1-t0) / clockTicks / wall,
		precisePct: 100 * float64(ns1-ns0) / 1e9 / wall}, nil
}

// sleep waits d unless the bench is interrupted.
func (b *bench) sleep(d time.Duration) error {
	select {
	case <-b.ctx.Done():
		return b.ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// grownLosses is how much each of the daemon's loss counters grew.
func grownLosses(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, name := range lossCounters {
		if d := after[name] - before[name]; d > 0 {
			out[name] = d
		}
	}
	return out
}

// lossCounters are the daemon's /v1/counters names of things dropped.
var lossCounters = []string{"kernel_flow_map_full_total", "kernel_events_lost_total", "kernel_owner_store_fail_total",
	"kernel_rtp_map_full_total", "events_malformed_total", "events_dropped_total"}

func printCPU(r *cpuReport) {
	fmt.Printf("daemon: healthy and attached %.0f ms after exec; idle %.2f%% of a core; losses during the windows %v\n",
		r.startMs, r.idle.pct, r.losses)
	for _, w := range r.windows {
		fmt.Printf("agent_cpu_pct=%.2f at %.0f pps (asked %d)\n", w.pct, w.pps, w.asked)
	}
}

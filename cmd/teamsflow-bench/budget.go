package main

import (
	"fmt"
	"strings"
)

// The budgets of issue #8, checked by --strict.
const (
	budgetPPSKept     = 0.965 // agent in the sender's namespace
	budgetPPSKeptBoth = 0.95  // agent on both ends
	budgetTCNs        = 120.0 // classifier ns per run, 1 and 1000 flows
	budgetStartMs     = 1000.0
	budgetCPUCall     = 1.0 // % of a core at a call's packet rate (<= 10k/s)
	budgetCPUFlood    = 5.0 // % of a core above that (200k/s)
	budgetCallRate    = 10_000
	budgetRSSMB       = 40.0
	// A measurement whose load fell short of what was asked for by more
	// than this did not test the budget.
	minAchieved = 0.95
)

// budgetMisses lists every budget missed by what was measured.
func (r *results) budgetMisses() []string {
	var m []string
	miss := func(format string, args ...any) { m = append(m, fmt.Sprintf(format, args...)) }
	if r.one != nil {
		if k := r.ppsKept(modeOn); k < budgetPPSKept {
			miss("pps_kept %.3f < %.3f", k, budgetPPSKept)
		}
		if _, ok := r.one.trials[modeBoth]; ok && r.ppsKept(modeBoth) < budgetPPSKeptBoth {
			miss("pps_kept_both %.3f < %.3f", r.ppsKept(modeBoth), budgetPPSKeptBoth)
		}
		if ns := r.one.tc[modeOn].nsPerRun(); ns > budgetTCNs {
			miss("tc_ns_per_packet %.1f > %.0f", ns, budgetTCNs)
		}
		if ms := summarize(r.one.starts).median; ms > budgetStartMs {
			miss("start_ms %.0f > %.0f", ms, budgetStartMs)
		}
	}
	if r.many != nil {
		if ns := r.many.tc[modeOn].nsPerRun(); ns > budgetTCNs {
			miss("tc_ns_per_packet_%dflows %.1f > %.0f", r.many.m.flows, ns, budgetTCNs)
		}
	}
	if r.tcp != nil && r.tcp.kept() < 1-r.tcp.noise() {
		miss("tcp_kept %.3f below the off trials' own spread (1-%.3f)", r.tcp.kept(), r.tcp.noise())
	}
	m = append(m, r.cpu.misses()...)
	m = append(m, r.rss.misses()...)
	m = append(m, r.churn.misses()...)
	return m
}

// ppsKept is the switched kept rate when the trials switched, else the
// ratio of the whole trials' medians.
func (r *results) ppsKept(md mode) float64 {
	if sw := r.one.switched[md]; len(sw) > 0 {
		return summarize(sw).median
	}
	return ratio(medianPPS(r.one, md), medianPPS(r.one, modeOff))
}

// finalLine is the line `make bench` and CI read: the budgets' figures in
// a fixed order, then the others; "na" marks a measurement not selected.
func (r *results) finalLine() string {
	f := []string{"bench:"}
	add := func(name string, ok bool, format string, v func() any) {
		if ok {
			f = append(f, name+"="+fmt.Sprintf(format, v()))
		} else {
			f = append(f, name+"=na")
		}
	}
	one := r.one != nil
	both := false
	if one {
		_, both = r.one.trials[modeBoth]
	}
	add("pps_kept", one, "%.3f", func() any { return r.ppsKept(modeOn) })
	add("tcp_kept", r.tcp != nil, "%.3f", func() any { return r.tcp.kept() })
	add("tc_ns_per_packet", one, "%.1f", func() any { return r.one.tc[modeOn].nsPerRun() })
	add("agent_cpu_pct", r.cpu != nil, "%.2f", func() any { return r.cpu.first().pct })
	add("agent_rss_mb", r.rss != nil, "%.1f", func() any { return r.rss.rssMB })
	add("churn_lost", r.churn != nil, "%d", func() any { return r.churn.lost() })
	add("pps_kept_both", both, "%.3f", func() any { return r.ppsKept(modeBoth) })
	add("tc_ns_per_packet_1000flows", r.many != nil, "%.1f", func() any { return r.many.tc[modeOn].nsPerRun() })
	add("agent_cpu_pct_200k", r.cpu != nil, "%.2f", func() any { return r.cpu.last().pct })
	add("agent_cpu_200k_pps", r.cpu != nil, "%.0f", func() any { return r.cpu.last().pps })
	add("agent_cpu_pct_schedstat", r.cpu != nil, "%.2f", func() any { return r.cpu.first().precisePct })
	add("agent_cpu_pct_200k_schedstat", r.cpu != nil, "%.2f", func() any { return r.cpu.last().precisePct })
	add("churn_events_lost", r.churn != nil, "%d", func() any { return r.churn.eventsLost() })
	add("churn_rate", r.churn != nil, "%.0f", func() any { return r.churn.sent.rate() })
	add("start_ms", one, "%.0f", func() any { return summarize(r.one.starts).median })
	add("tcp_noise", r.tcp != nil, "%.3f", func() any { return r.tcp.noise() })
	add("daemon_start_ms", r.cpu != nil, "%.0f", func() any { return r.cpu.startMs })
	add("agent_rss_mb_idle", r.rss != nil, "%.1f", func() any { return r.rss.idleMB })
	add("agent_rss_mb_peak", r.rss != nil, "%.1f", func() any { return r.rss.hwmMB })
	add("pps_kept_cpu", one, "%.3f", func() any { return cpuKept(r.one, modeOn) })
	add("pps_kept_both_cpu", both, "%.3f", func() any { return cpuKept(r.one, modeBoth) })
	floor := func(sr *series, md mode) (bool, func() any) {
		if sr == nil {
			return false, nil
		}
		st, ok := sr.tc[md]
		return ok, func() any { return st.nsPerRun() }
	}
	for _, f := range []struct {
		name string
		sr   *series
		md   mode
	}{{"tc_noop_ns", r.one, modeNoop}, {"tc_ref_ns", r.one, modeRef},
		{"tc_noop_ns_1000flows", r.many, modeNoop}, {"tc_ref_ns_1000flows", r.many, modeRef}} {
		ok, v := floor(f.sr, f.md)
		add(f.name, ok, "%.1f", v)
	}
	noopBoth := false
	if one {
		_, noopBoth = r.one.trials[modeNoopBoth]
	}
	add("pps_kept_noop_both", noopBoth, "%.3f", func() any { return r.ppsKept(modeNoopBoth) })
	add("pps_off", one, "%.0f", func() any { return medianPPS(r.one, modeOff) })
	add("pps_on", one, "%.0f", func() any { return medianPPS(r.one, modeOn) })
	return strings.Join(f, " ")
}

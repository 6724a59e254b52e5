package main

import (
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
)

// spread is a sample's median and range.
type spread struct{ median, min, max float64 }

func summarize(v []float64) spread {
	if len(v) == 0 {
		return spread{}
	}
	s := slices.Sorted(slices.Values(v))
	mid := len(s) / 2
	med := s[mid]
	if len(s)%2 == 0 {
		med = (s[mid-1] + s[mid]) / 2
	}
	return spread{median: med, min: s[0], max: s[len(s)-1]}
}

// quartiles are the 25th, 50th and 75th percentiles (nearest rank).
func quartiles(v []float64) [3]float64 {
	s := slices.Sorted(slices.Values(v))
	at := func(p float64) float64 { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return [3]float64{at(0.25), summarize(v).median, at(0.75)}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// rate reads one figure from every trial.
func rate(trials []trialResult, f func(trialResult) float64) []float64 {
	out := make([]float64, len(trials))
	for i, t := range trials {
		out[i] = f(t)
	}
	return out
}

// pairedKept is the median of each pair's md/off ratio: the pairs ran
// back to back, so a slow spell of the machine affects both sides.
func pairedKept(s *series, md mode, f func(trialResult) float64) float64 {
	off, other := s.trials[modeOff], s.trials[md]
	var r []float64
	for i := range min(len(off), len(other)) {
		r = append(r, ratio(f(other[i]), f(off[i])))
	}
	return summarize(r).median
}

// medianPPS is the median sender rate of a mode's trials.
func medianPPS(s *series, md mode) float64 {
	return summarize(rate(s.trials[md], trialResult.pps)).median
}

func printTrialHeader(m measurement) {
	fmt.Printf("\n== %s\n%-5s %-9s %10s %14s %14s\n", m.title, "pair", "agent", "pps", "pkts/cpu-s", "pps_stats_on")
}

// printTrial prints the trial just finished, as progress.
func printTrial(s *series, pair int, md mode) {
	t := s.trials[md][len(s.trials[md])-1]
	stats := "-"
	if v := s.statTrials[md]; len(v) > 0 && len(v) == len(s.trials[md]) {
		stats = fmt.Sprintf("%.0f", v[len(v)-1].pps())
	}
	fmt.Printf("%-5d %-9s %10.0f %14.0f %14s\n", pair, md, t.pps(), t.cpuPPS(), stats)
}

// printSeries prints the summary table of one measurement and what the
// figures mean next to each other.
func printSeries(s *series) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "agent\tmedian pps\tmin\tmax\tkept\tpaired kept\tswitched kept\tspells\tpkts/cpu-s\tcpu kept\ttc ns/run\truns\t")
	off := medianPPS(s, modeOff)
	for _, md := range s.m.modes {
		p := summarize(rate(s.trials[md], trialResult.pps))
		c := summarize(rate(s.trials[md], trialResult.cpuPPS)).median
		tc, runs := "-", "-"
		if st, ok := s.tc[md]; ok {
			tc, runs = fmt.Sprintf("%.1f", st.nsPerRun()), fmt.Sprintf("%d", st.runs)
		}
		sw, spells := "-", "-"
		if r := s.switched[md]; len(r) > 0 {
			q := quartiles(r)
			sw, spells = fmt.Sprintf("%.3f", q[1]), fmt.Sprintf("%d (%.3f-%.3f)", len(r), q[0], q[2])
		}
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%.0f\t%.3f\t%.3f\t%s\t%s\t%.0f\t%.3f\t%s\t%s\t\n", md, p.median, p.min, p.max,
			ratio(p.median, off), pairedKept(s, md, trialResult.pps), sw, spells, c, cpuKept(s, md), tc, runs)
	}
	w.Flush()
	offs := summarize(rate(s.trials[modeOff], trialResult.pps))
	fmt.Printf("off trials spread %.1f%% (max-min over median): smaller differences in kept are noise; "+
		"cpu kept (packets per sender cpu-second) holds still when other work takes the sender's core\n",
		100*ratio(offs.max-offs.min, offs.median))
	if len(s.switched) > 0 {
		fmt.Printf("switched kept: within each trial the programs went off and on every %v; the median of each spell on "+
			"over the spells off beside it (spells: how many, quartiles), what the budgets are checked with\n", s.m.switchEvery)
	}
	printCosts(s)
	printHookKinds(s)
}

// printHookKinds sets each hook kind, switched alone while the rest of
// the agent ran, beside the no-op and the reference counter of the same
// series: packets/s kept, and ns per run from the statistics trials.
func printHookKinds(s *series) {
	noop, ref := s.kept(modeNoop), s.kept(modeRef)
	noopNs, refNs := s.tc[modeNoop].nsPerRun(), s.tc[modeRef].nsPerRun()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, md := range append([]mode{modeOn, modeOnDgram, modeBoth}, hookModes()...) {
		if _, ok := s.trials[md]; !ok {
			continue
		}
		if !header {
			fmt.Printf("hooks side by side (switched kept; the no-op kept %.3f at %.1f ns/run, the reference counter %.3f at %.1f ns/run; "+
				"what the agent's switch flips: on/both all its hooks, hook:KIND that kind alone)\n", noop, noopNs, ref, refNs)
			fmt.Fprintln(w, "hooks\tswitched kept\tover the no-op's\tover the reference's\tns/run\tover the no-op's\tover the reference's\truns\t")
			header = true
		}
		st := s.tc[md]
		fmt.Fprintf(w, "%s\t%.3f\t%+.3f\t%+.3f\t%.1f\t%.2fx\t%.2fx\t%d\t\n", md, s.kept(md), s.kept(md)-noop, s.kept(md)-ref,
			st.nsPerRun(), ratio(st.nsPerRun(), noopNs), ratio(st.nsPerRun(), refNs), st.runs)
	}
	w.Flush()
}

// cpuKept is a mode's median packets per sender cpu-second over the off
// trials': the per-packet cost, whatever share of its core the sender got.
func cpuKept(s *series, md mode) float64 {
	return ratio(summarize(rate(s.trials[md], trialResult.cpuPPS)).median,
		summarize(rate(s.trials[modeOff], trialResult.cpuPPS)).median)
}

// printCosts turns the rates into per-packet costs, to set beside the
// classifier's own run time.
func printCosts(s *series) {
	cost := func(md mode) float64 {
		return ratio(1e9, summarize(rate(s.trials[md], trialResult.cpuPPS)).median)
	}
	fmt.Printf("sender cpu ns/packet: off %.0f", cost(modeOff))
	for _, md := range s.m.modes[1:] {
		fmt.Printf(", %s %+.0f", md, cost(md)-cost(modeOff))
	}
	on := s.tc[modeOn].nsPerRun()
	fmt.Printf("; tc_ns_per_packet=%.1f", on)
	if st, ok := s.tc[modeNoop]; ok {
		fmt.Printf(" tc_noop_ns=%.1f (classifier above the no-op: %.1f)", st.nsPerRun(), on-st.nsPerRun())
	}
	if st, ok := s.tc[modeRef]; ok {
		fmt.Printf(" tc_ref_ns=%.1f (a minimal per-flow counter)", st.nsPerRun())
	}
	fmt.Println()
	st := summarize(s.starts)
	var errs uint64
	for _, ts := range [][]trialResult{s.trials[modeOff], s.trials[modeOn], s.statTrials[modeOn]} {
		for _, t := range ts {
			errs += t.errors
		}
	}
	// The agent runs in the bench process, and so does the unconnected
	// series' sink reader: there the figure is mostly the reader's.
	whose := "the bench process, where the agent runs,"
	if s.m.unconnected {
		whose = "the bench process, where the agent and the sink's reader run,"
	}
	fmt.Printf("agent: start %.0f ms median (max %.0f), cpu of %s %.1f%% of a core during ON trials; send errors %d\n",
		st.median, st.max, whose, 100*ratio(s.agentCPU.Seconds(), s.agentWall.Seconds()), errs)
}

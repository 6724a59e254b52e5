package main

import (
	"strings"
	"testing"
	"time"
)

// trialsAt makes trials of the given packet rates over one second.
func trialsAt(pps ...float64) []trialResult {
	var out []trialResult
	for _, p := range pps {
		out = append(out, trialResult{packets: uint64(p), elapsed: time.Second, cpu: time.Second})
	}
	return out
}

func TestFinalLineStartsWithTheBudgetsAndMarksWhatDidNotRun(t *testing.T) {
	r := &results{churn: &churnReport{missing: 2, noOwner: 1, target: 20_000,
		sent: churnResult{flows: 20_000, elapsed: time.Second}}}
	line := r.finalLine()
	want := "bench: pps_kept=na tcp_kept=na tc_ns_per_packet=na agent_cpu_pct=na agent_rss_mb=na churn_lost=3 "
	if !strings.HasPrefix(line, want) {
		t.Errorf("final line\n%s\nwant it to start with\n%s", line, want)
	}
	if !strings.Contains(line, " churn_rate=20000 ") || strings.Contains(line, "\n") {
		t.Errorf("final line %q: want churn_rate=20000, one line", line)
	}
}

func TestEveryBudgetMissedIsListed(t *testing.T) {
	one := &series{trials: map[mode][]trialResult{
		modeOff: trialsAt(100, 100, 100), modeOn: trialsAt(96, 96, 96), modeBoth: trialsAt(94, 94, 94),
		modeNoop: trialsAt(98, 98, 98), modeNoopBoth: trialsAt(97, 97, 97)},
		tc:     map[mode]runStats{modeOn: {runtime: 130 * time.Second, runs: 1e9}, modeRef: {runtime: 100 * time.Second, runs: 1e9}},
		starts: []float64{900, 1200, 1300}}
	unconn := &series{trials: map[mode][]trialResult{modeOff: trialsAt(100), modeOn: trialsAt(90), modeNoop: trialsAt(99)},
		switched: map[mode][]float64{modeOn: {0.95, 0.96, 0.97}, modeNoop: {0.99, 0.98, 0.99}}}
	r := &results{
		one:    one,
		unconn: unconn,
		many: &series{m: measurement{flows: 1000}, tc: map[mode]runStats{modeOn: {runtime: 121 * time.Second, runs: 1e9},
			modeRef: {runtime: 160 * time.Second, runs: 1e9}}},
		tcp: &tcpReport{off: []float64{10, 10.1, 9.9}, paired: []float64{0.95, 0.96, 0.97}},
		cpu: &cpuReport{idle: cpuWindow{precisePct: 0.3},
			windows: []cpuWindow{{asked: 10_000, pps: 9_000, pct: 1.2}, {asked: 200_000, pps: 150_000, pct: 5.5}}},
		rss:   &rssReport{flows: 10_000, tracked: 9_000, rssMB: 37},
		churn: &churnReport{wrongOwner: 1, losses: map[string]uint64{"events_lost": 3}, target: 20_000, sent: churnResult{flows: 10_000, elapsed: time.Second}},
	}
	missed := strings.Join(r.budgetMisses(), "\n")
	for _, want := range []string{"pps_kept 0.960 < 0.970", "pps_kept_both 0.940 < 0.950", "pps_kept_unconn 0.960 < 0.980",
		"tc_ns_per_packet 130.0 > 100.0", "start_ms 1200", "tc_ns_per_packet_1000flows 121.0 > 112.0", "tcp_kept 0.960",
		"agent_cpu_pct_idle 0.30%", "at 10000 pps untested", "agent_cpu_pct 1.20% > 1%", "agent_cpu_pct 5.50% > 5%",
		"agent_rss_mb 37.0", "tracked 9000 of 10000", "churn_lost 1", "churn_events_lost 3", "churn_rate 10000"} {
		if !strings.Contains(missed, want) {
			t.Errorf("misses lack %q:\n%s", want, missed)
		}
	}
	if strings.Contains(missed, "150000 pps untested") {
		t.Errorf("a flood's rate short of 200k is the machine's most, not a miss:\n%s", missed)
	}
}

// The packet budgets are relative: without the floor they are set beside,
// they say so rather than pass.
func TestRelativeBudgetsWithoutTheirFloorAreUntested(t *testing.T) {
	r := &results{one: &series{trials: map[mode][]trialResult{modeOff: trialsAt(100), modeOn: trialsAt(99)},
		tc: map[mode]runStats{modeOn: {runtime: 80 * time.Second, runs: 1e9}}, starts: []float64{300}}}
	missed := strings.Join(r.budgetMisses(), "\n")
	for _, want := range []string{"pps_kept untested", "tc_ns_per_packet untested"} {
		if !strings.Contains(missed, want) {
			t.Errorf("misses lack %q:\n%s", want, missed)
		}
	}
}

func TestFiguresWithinBudgetMissNothing(t *testing.T) {
	r := &results{
		one: &series{trials: map[mode][]trialResult{modeOff: trialsAt(100, 101), modeOn: trialsAt(99, 98), modeBoth: trialsAt(97, 96),
			modeNoop: trialsAt(99, 99), modeNoopBoth: trialsAt(98, 98)},
			tc:     map[mode]runStats{modeOn: {runtime: 80 * time.Second, runs: 1e9}, modeRef: {runtime: 97 * time.Second, runs: 1e9}},
			starts: []float64{300, 400}},
		many: &series{m: measurement{flows: 1000}, tc: map[mode]runStats{modeOn: {runtime: 69 * time.Second, runs: 1e9},
			modeRef: {runtime: 100 * time.Second, runs: 1e9}}},
		tcp:   &tcpReport{off: []float64{10, 11, 9}, paired: []float64{0.97, 1.02, 0.99}},
		cpu:   &cpuReport{idle: cpuWindow{precisePct: 0.1}, windows: []cpuWindow{{asked: 10_000, pps: 10_000, pct: 0.4}, {asked: 200_000, pps: 190_000, pct: 2}}},
		rss:   &rssReport{flows: 10_000, tracked: 10_000, rssMB: 35},
		churn: &churnReport{target: 20_000, sent: churnResult{flows: 600_000, elapsed: 30 * time.Second}},
	}
	if m := r.budgetMisses(); len(m) != 0 {
		t.Errorf("misses within budget: %v", m)
	}
}

func TestTCPNoiseIsTheOffTrialsOwnSpread(t *testing.T) {
	r := &tcpReport{off: []float64{10, 9, 11.5}, paired: []float64{0.9, 1.0, 1.05}}
	if n := r.noise(); n < 0.149 || n > 0.151 {
		t.Errorf("noise %.3f, want 0.150 (11.5 against the median 10)", n)
	}
	if r.kept() != 1.0 {
		t.Errorf("kept %.3f, want the median pair 1.0", r.kept())
	}
}

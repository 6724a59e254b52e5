package main

import (
	"strings"
	"testing"
	"time"
)

func TestOnlyNamesKnownMeasurements(t *testing.T) {
	c, err := parseFlags([]string{"--only", "churn, rss"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.runs("churn") || !c.runs("rss") || c.runs("udp") || c.runs("cpu") {
		t.Errorf("--only churn,rss selected %v", c.only)
	}
	_, err = parseFlags([]string{"--only", "udp,pps"})
	if err == nil || !strings.Contains(err.Error(), `"pps"`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("unknown measurement: %v, want one line naming it", err)
	}
}

func TestQuickShortensOnlyWhatWasNotGiven(t *testing.T) {
	c, err := parseFlags([]string{"--quick", "--churn-duration", "12s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.churnDuration != 12*time.Second || c.pairs != 3 || c.trial != time.Second || c.cpuWindow != 4*time.Second {
		t.Errorf("quick: churn %v, pairs %d, trial %v, cpu window %v", c.churnDuration, c.pairs, c.trial, c.cpuWindow)
	}
	full, _ := parseFlags(nil)
	if full.churnDuration != 30*time.Second || full.churnRate != 20_000 || full.rssFlows != 10_000 ||
		len(full.cpuRates) != 2 || full.cpuRates[0] != 10_000 || full.cpuRates[1] != 200_000 || len(full.only) != len(measurementNames) {
		t.Errorf("defaults are not issue #8's loads: %+v", full)
	}
}

func TestBadLoadsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--cpu-rates", "10000,fast"}, {"--cpu-rates", "0"}, {"--churn-rate", "0"}, {"--tcp-pairs", "0"},
		{"--cpu-window", "-1s"}, {"stray"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

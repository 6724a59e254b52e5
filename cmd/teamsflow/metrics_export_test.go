//go:build linux

package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
	"github.com/teamsflow/teamsflow/exporter"
)

// lossyCallScenario: desktop audio losing 15% and a camera, so that every
// stream health metric has a stream to describe. 15%, not 12%: the
// simulator drops at random, and 700 packets at 12% measure below the 10%
// threshold one time in twenty; this test is about the metrics.
const lossyCallScenario = `name: audio-loss-and-video
description: ms-teams call, audio losing 15%, camera video
duration: 16s
client: ms-teams
mode: qos
streams:
  - kind: audio
    loss: 0.15
  - kind: video
`

// metricAttrs are the only attributes a stream health metric may carry:
// each takes few values, so a fleet's series stay few.
var metricAttrs = []string{string(exporter.AttrLabel), string(exporter.AttrApp), string(exporter.AttrRelayed),
	string(exporter.AttrInterfaceKind), string(exporter.AttrQuality), string(exporter.AttrDirection)}

// A real `teamsflow run` watching a simulated call sends the stream health
// metrics to a real collector, with the same endpoint setting as its spans:
// every metric name, low-cardinality attributes only, and the poor received
// audio as such.
func TestRunExportsHealthMetrics(t *testing.T) {
	testenv.RequirePrivileged(t)
	col := otelcol.Start(t, otelcol.Options{})
	scenario := filepath.Join(t.TempDir(), "call.yaml")
	if err := os.WriteFile(scenario, []byte(lossyCallScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	sim := newSim(t)
	agent := startRunWrapped(t, []string{"env", "OTEL_METRIC_EXPORT_INTERVAL=2000"},
		filepath.Join(t.TempDir(), "api.sock"), "--netns", sim.ClientNetnsPath,
		"--export-endpoint", col.GRPCAddr, "--export-insecure")
	sim.Play(t, scenario, "")
	agent.stop(t)
	names := []string{exporter.MetricRTT, exporter.MetricJitter, exporter.MetricLoss, exporter.MetricBitrate,
		exporter.MetricMOS, exporter.MetricFrameRate, exporter.MetricStreams}
	var metrics []otelcol.Metric
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if metrics = col.Metrics(t); hasPoorReceivedAudioLoss(metrics) && len(metricNames(metrics)) >= len(names) {
			break
		}
	}
	got := metricNames(metrics)
	for _, n := range names {
		if !got[n] {
			t.Errorf("metric %s did not arrive (got %v)", n, got)
		}
	}
	for _, m := range metrics {
		for _, p := range m.Points {
			for k := range p.Attrs {
				if !slices.Contains(metricAttrs, k) {
					t.Errorf("%s carries attribute %s=%v", m.Name, k, p.Attrs[k])
				}
			}
		}
	}
	if !hasPoorReceivedAudioLoss(metrics) {
		t.Error("no loss point of poor received Teams audio on a virtual interface")
		for _, m := range metrics {
			for _, p := range m.Points {
				if m.Name == exporter.MetricLoss {
					t.Logf("%s %v: count %d sum %.3f", m.Name, p.Attrs, p.Count, p.Sum)
				}
			}
		}
	}
}

func metricNames(ms []otelcol.Metric) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		out[m.Name] = true
	}
	return out
}

// hasPoorReceivedAudioLoss: a loss histogram point of received Teams
// audio judged poor, seen on the simulator's veth (virtual), above 10%.
func hasPoorReceivedAudioLoss(ms []otelcol.Metric) bool {
	for _, m := range ms {
		if m.Name != exporter.MetricLoss {
			continue
		}
		for _, p := range m.Points {
			a := p.Attrs
			if a[string(exporter.AttrLabel)] == "audio" && a[string(exporter.AttrDirection)] == "received" &&
				a[string(exporter.AttrQuality)] == "poor" && a[string(exporter.AttrApp)] == "teams" &&
				a[string(exporter.AttrInterfaceKind)] == "virtual" && a[string(exporter.AttrRelayed)] == false &&
				p.Count > 0 && p.Sum/float64(p.Count) > 0.1 {
				return true
			}
		}
	}
	return false
}

package exporter

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// TestMetricsReachCollector ships one snapshot's stream health to a real
// collector over each protocol and reads back what its file exporter wrote:
// every name, unit, attribute set and value.
func TestMetricsReachCollector(t *testing.T) {
	for _, proto := range []string{ProtocolGRPC, ProtocolHTTP} {
		t.Run(proto, func(t *testing.T) {
			col := otelcol.Start(t, otelcol.Options{})
			addr := col.GRPCAddr
			if proto == ProtocolHTTP {
				addr = "http://" + col.HTTPAddr // a URL, to check /v1/metrics is added
			}
			m, err := NewMetrics(t.Context(), Config{Endpoint: addr, Protocol: proto, Insecure: true,
				MetricsInterval: time.Hour, ServiceVersion: "1.2.3"}, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			sent := StreamHealth{Label: "video", App: "teams", Direction: "sent", InterfaceKind: "vpn",
				Quality: "unknown", RTTMs: f(80), BitrateBps: f(1.5e6), FramesPerSec: f(30)}
			m.Record(t.Context(), []StreamHealth{receivedAudio, sent})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := m.Shutdown(ctx); err != nil { // flushes: the interval is an hour
				t.Fatalf("shutdown: %v", err)
			}
			got := col.WaitMetrics(t, 10*time.Second, func(ms []otelcol.Metric) bool { return len(ms) >= 7 })
			checkCollectedMetrics(t, got)
		})
	}
}

func checkCollectedMetrics(t *testing.T, got []otelcol.Metric) {
	t.Helper()
	byName := map[string]otelcol.Metric{}
	for _, m := range got {
		byName[m.Name] = m
		if m.Resource["service.name"] != ServiceName || m.Resource["service.version"] != "1.2.3" {
			t.Errorf("%s: resource %v", m.Name, m.Resource)
		}
	}
	want := map[string]struct {
		unit, kind string
		count      uint64 // histogram values, or the gauge's sum
		sum        float64
	}{
		MetricRTT:       {"s", "histogram", 2, 0.692},
		MetricJitter:    {"s", "histogram", 1, 0.035},
		MetricLoss:      {"1", "histogram", 1, 0.12},
		MetricBitrate:   {"bit/s", "histogram", 2, 1.54e6},
		MetricMOS:       {"1", "histogram", 1, 2.0},
		MetricFrameRate: {"{frame}/s", "histogram", 1, 30},
		MetricStreams:   {"{stream}", "gauge", 0, 2},
	}
	allowed := []string{"teamsflow.app", "teamsflow.interface.kind", "teamsflow.relayed",
		"teamsflow.stream.direction", "teamsflow.stream.label", "teamsflow.stream.quality"}
	for name, w := range want {
		m, ok := byName[name]
		if !ok {
			t.Errorf("%s: not received; got %v", name, slices.Sorted(maps.Keys(byName)))
			continue
		}
		if m.Unit != w.unit || m.Kind != w.kind {
			t.Errorf("%s: %s in %q, want %s in %q", name, m.Kind, m.Unit, w.kind, w.unit)
		}
		var count uint64
		var sum float64
		for _, p := range m.Points {
			count += p.Count
			sum += p.Sum + p.Value
			if keys := slices.Sorted(maps.Keys(p.Attrs)); !slices.Equal(keys, allowed) {
				t.Errorf("%s: attributes %v, want exactly %v", name, keys, allowed)
			}
		}
		if count != w.count || sum < w.sum-1e-9 || sum > w.sum+1e-9 {
			t.Errorf("%s: count %d sum %g, want %d and %g", name, count, sum, w.count, w.sum)
		}
	}
	loss := byName[MetricLoss]
	if len(loss.Points) == 1 {
		p := loss.Points[0]
		if p.Attrs["teamsflow.stream.direction"] != "received" || p.Attrs["teamsflow.stream.quality"] != "poor" ||
			p.Attrs["teamsflow.relayed"] != true || p.Attrs["teamsflow.interface.kind"] != "wifi" {
			t.Errorf("loss point attributes %v: want the received audio stream's", p.Attrs)
		}
		// 0.12 falls in (0.1, 0.15]: bucket 6 of the bounds.
		if len(p.BucketCounts) != len(p.Bounds)+1 || p.BucketCounts[6] != 1 {
			t.Errorf("loss buckets %v over bounds %v", p.BucketCounts, p.Bounds)
		}
	}
}

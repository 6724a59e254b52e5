package exporter

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func f(v float64) *float64 { return &v }

func newManualMetrics(t *testing.T) (*Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	s, err := resolveFor(Config{}, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMetricsWithReader(t.Context(), s, reader, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	return m, reader
}

func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

var receivedAudio = StreamHealth{
	Label: "audio", App: "teams", Direction: "received", Relayed: true, InterfaceKind: "wifi", Quality: "poor",
	RTTMs: f(612), JitterMs: f(35), LossRate: f(0.12), BitrateBps: f(40000), MOS: f(2.0),
}

func TestMetricsNamesUnitsValues(t *testing.T) {
	m, reader := newManualMetrics(t)
	sent := StreamHealth{Label: "audio", App: "teams", Direction: "sent", Relayed: true, InterfaceKind: "wifi",
		Quality: "good", RTTMs: f(40), BitrateBps: f(36000)}
	video := StreamHealth{Label: "video", App: "teams", Direction: "received", InterfaceKind: "wired",
		Quality: "good", BitrateBps: f(1.2e6), FramesPerSec: f(30), LossRate: f(0), JitterMs: f(4)}
	m.Record(t.Context(), []StreamHealth{receivedAudio, sent, video})
	got := collect(t, reader)

	units := map[string]string{MetricRTT: "s", MetricJitter: "s", MetricLoss: "1", MetricBitrate: "bit/s",
		MetricMOS: "1", MetricFrameRate: "{frame}/s", MetricStreams: "{stream}"}
	for name, unit := range units {
		if got[name].Unit != unit {
			t.Errorf("%s: unit %q, want %q", name, got[name].Unit, unit)
		}
	}
	// Sums per metric: rtt 0.612 + 0.040 s; jitter 0.035 + 0.004; loss
	// 0.12 + 0 (the sent stream's is absent, not 0); three bitrates; one MOS.
	sums := map[string]struct {
		count uint64
		sum   float64
	}{
		MetricRTT: {2, 0.652}, MetricJitter: {2, 0.039}, MetricLoss: {2, 0.12},
		MetricBitrate: {3, 1276000}, MetricMOS: {1, 2.0}, MetricFrameRate: {1, 30},
	}
	for name, want := range sums {
		h, ok := got[name].Data.(metricdata.Histogram[float64])
		if !ok {
			t.Fatalf("%s: %T, want a float histogram", name, got[name].Data)
		}
		var count uint64
		var sum float64
		for _, dp := range h.DataPoints {
			count += dp.Count
			sum += dp.Sum
		}
		if count != want.count || sum < want.sum-1e-9 || sum > want.sum+1e-9 {
			t.Errorf("%s: %d values summing %g, want %d summing %g", name, count, sum, want.count, want.sum)
		}
	}
	rtt := got[MetricRTT].Data.(metricdata.Histogram[float64])
	for _, dp := range rtt.DataPoints {
		if dp.Count == 1 && dp.Sum > 0.6 {
			wantAttrs := attribute.NewSet(AttrLabel.String("audio"), AttrApp.String("teams"),
				AttrDirection.String("received"), AttrRelayed.Bool(true), AttrInterfaceKind.String("wifi"),
				AttrQuality.String("poor"))
			if !dp.Attributes.Equals(&wantAttrs) {
				t.Errorf("rtt attributes %v, want %v", dp.Attributes.ToSlice(), wantAttrs.ToSlice())
			}
		}
	}
}

func TestMetricsStreamCountAndCardinality(t *testing.T) {
	m, reader := newManualMetrics(t)
	odd := receivedAudio
	odd.Label, odd.InterfaceKind, odd.App = "10.1.2.3:50000", "eth0", "chrome"
	m.Record(t.Context(), []StreamHealth{receivedAudio, receivedAudio, odd})
	counts := streamCounts(t, collect(t, reader))
	if counts["audio"] != 2 || counts["other"] != 1 || len(counts) != 2 {
		t.Errorf("stream counts %v, want audio 2, other 1", counts)
	}
	for _, m := range collect(t, reader) {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
			for _, dp := range h.DataPoints {
				for _, kv := range dp.Attributes.ToSlice() {
					if v := kv.Value.String(); v == "10.1.2.3:50000" || v == "eth0" || v == "chrome" {
						t.Errorf("%s: attribute %s=%s reached the metrics", m.Name, kv.Key, v)
					}
				}
			}
		}
	}
	// The next snapshot has no streams: the gauge reads 0 for both sets.
	m.Record(t.Context(), nil)
	if counts := streamCounts(t, collect(t, reader)); counts["audio"] != 0 || counts["other"] != 0 || len(counts) != 2 {
		t.Errorf("after an empty snapshot: %v, want both 0", counts)
	}
	if m.Recorded() != 3 {
		t.Errorf("recorded %d, want 3", m.Recorded())
	}
}

func streamCounts(t *testing.T, got map[string]metricdata.Metrics) map[string]int64 {
	t.Helper()
	g, ok := got[MetricStreams].Data.(metricdata.Gauge[int64])
	if !ok {
		t.Fatalf("%s: %T, want an int gauge", MetricStreams, got[MetricStreams].Data)
	}
	out := map[string]int64{}
	for _, dp := range g.DataPoints {
		label, _ := dp.Attributes.Value(AttrLabel)
		out[label.AsString()] += dp.Value
	}
	return out
}

func TestHTTPMetricsURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://c:4318":            "http://c:4318/v1/metrics",
		"https://c:4318/":          "https://c:4318/v1/metrics",
		"https://c/otlp/v1/traces": "https://c/otlp/v1/metrics",
		"https://c/custom/ingest":  "https://c/custom/ingest",
	} {
		if got := httpMetricsURL(in); got != want {
			t.Errorf("httpMetricsURL(%q) = %q, want %q", in, got, want)
		}
	}
}

package otelcol

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// Metric is one metric of one export as the collector wrote it, flattened
// for assertions.
type Metric struct {
	Name, Unit string
	Kind       string // histogram, gauge or sum
	Points     []Point
	Resource   map[string]any
}

// Point is one data point: Value for gauges and sums, Count, Sum and the
// buckets for histograms.
type Point struct {
	Attrs        map[string]any
	Value        float64
	Count        uint64
	Sum          float64
	Bounds       []float64
	BucketCounts []uint64
}

// OTLP JSON metrics: 64-bit integers (asInt, count, bucketCounts) are strings.
type otlpMetricsFile struct {
	ResourceMetrics []struct {
		Resource struct {
			Attributes []otlpKV `json:"attributes"`
		} `json:"resource"`
		ScopeMetrics []struct {
			Metrics []otlpMetric `json:"metrics"`
		} `json:"scopeMetrics"`
	} `json:"resourceMetrics"`
}

type otlpMetric struct {
	Name      string          `json:"name"`
	Unit      string          `json:"unit"`
	Histogram *otlpPointsJSON `json:"histogram"`
	Gauge     *otlpPointsJSON `json:"gauge"`
	Sum       *otlpPointsJSON `json:"sum"`
}

type otlpPointsJSON struct {
	DataPoints []struct {
		Attributes   []otlpKV  `json:"attributes"`
		AsInt        *string   `json:"asInt"`
		AsDouble     *float64  `json:"asDouble"`
		Count        string    `json:"count"`
		Sum          float64   `json:"sum"`
		Bounds       []float64 `json:"explicitBounds"`
		BucketCounts []string  `json:"bucketCounts"`
	} `json:"dataPoints"`
}

// Metrics reads every metric export the collector wrote so far, over all
// its runs, in the order written.
func (c *Collector) Metrics(t testing.TB) []Metric {
	t.Helper()
	return readExports(t, c.Dir, "metrics-*.json", decodeMetrics)
}

// WaitMetrics polls Metrics until ok accepts them or the timeout passes.
func (c *Collector) WaitMetrics(t testing.TB, timeout time.Duration, ok func([]Metric) bool) []Metric {
	t.Helper()
	return waitExports(t, c, "metrics", timeout, func() []Metric { return c.Metrics(t) }, ok)
}

// decodeMetrics flattens one OTLP JSON metrics request.
func decodeMetrics(line []byte) ([]Metric, bool) {
	var req otlpMetricsFile
	if err := json.Unmarshal(line, &req); err != nil {
		return nil, false
	}
	var out []Metric
	for _, rm := range req.ResourceMetrics {
		res := attrMap(rm.Resource.Attributes)
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				out = append(out, flattenMetric(m, res))
			}
		}
	}
	return out, true
}

func flattenMetric(m otlpMetric, res map[string]any) Metric {
	out := Metric{Name: m.Name, Unit: m.Unit, Resource: res}
	var pts *otlpPointsJSON
	switch {
	case m.Histogram != nil:
		out.Kind, pts = "histogram", m.Histogram
	case m.Gauge != nil:
		out.Kind, pts = "gauge", m.Gauge
	case m.Sum != nil:
		out.Kind, pts = "sum", m.Sum
	default:
		return out
	}
	for _, dp := range pts.DataPoints {
		p := Point{Attrs: attrMap(dp.Attributes), Sum: dp.Sum, Bounds: dp.Bounds}
		p.Count, _ = strconv.ParseUint(dp.Count, 10, 64)
		switch {
		case dp.AsInt != nil:
			n, _ := strconv.ParseInt(*dp.AsInt, 10, 64)
			p.Value = float64(n)
		case dp.AsDouble != nil:
			p.Value = *dp.AsDouble
		}
		for _, b := range dp.BucketCounts {
			n, _ := strconv.ParseUint(b, 10, 64)
			p.BucketCounts = append(p.BucketCounts, n)
		}
		out.Points = append(out.Points, p)
	}
	return out
}

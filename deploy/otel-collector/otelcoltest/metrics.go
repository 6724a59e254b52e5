package otelcoltest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	files, _ := filepath.Glob(filepath.Join(c.Dir, "metrics-*.json"))
	var out []Metric
	for _, f := range files {
		got, err := readMetrics(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

// WaitMetrics polls Metrics until ok accepts them or the timeout passes.
func (c *Collector) WaitMetrics(t testing.TB, timeout time.Duration, ok func([]Metric) bool) []Metric {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := c.Metrics(t)
		if ok(ms) {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector: %d metrics after %s, not the expected ones; log:\n%s", len(ms), timeout, c.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readMetrics reads a file exporter output, one OTLP JSON request a line; a
// last line still being written is skipped, as readSpans does.
func readMetrics(path string) ([]Metric, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Metric
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var req otlpMetricsFile
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			continue
		}
		for _, rm := range req.ResourceMetrics {
			res := attrMap(rm.Resource.Attributes)
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					out = append(out, flattenMetric(m, res))
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
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

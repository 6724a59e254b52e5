package exporter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// The metric exporter reads the METRICS_ variables, which win over the
// general ones: here the general ones point at gRPC and a dead port.
func TestMetricsEnv(t *testing.T) {
	col := otelcol.Start(t, otelcol.Options{})
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+otelcol.FreeAddr(t))
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://"+col.HTTPAddr+"/v1/metrics")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "teamsflow-ci")
	m, err := NewMetrics(t.Context(), Config{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	m.Record(t.Context(), []StreamHealth{receivedAudio})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	got := col.WaitMetrics(t, 10*time.Second, func(ms []otelcol.Metric) bool { return len(ms) >= 6 })
	if got[0].Resource["service.name"] != "teamsflow-ci" {
		t.Errorf("resource %v", got[0].Resource)
	}
}

func TestMetricsConfigErrors(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "carrier-pigeon")
	_, err := NewMetrics(t.Context(), Config{}, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL") {
		t.Errorf("bad METRICS protocol: %v, want an error naming the variable", err)
	}
	_, err = NewMetrics(t.Context(), Config{Protocol: "grpc", MetricsInterval: time.Millisecond}, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "metrics_interval") {
		t.Errorf("1 ms interval: %v, want an error naming metrics_interval", err)
	}
}

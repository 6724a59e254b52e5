package otelcollector

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
	"github.com/teamsflow/teamsflow/exporter"
)

var configs = []string{"agent-collector.yaml", "gateway.yaml"}

// The example configurations must load in the real collector, with their
// defaults and with a bad value from the environment refused.
func TestConfigsValidate(t *testing.T) {
	bin := otelcol.Binary(t)
	for _, cfg := range configs {
		t.Run(cfg, func(t *testing.T) {
			if out, err := validate(bin, cfg); err != nil {
				t.Errorf("validate: %v\n%s", err, out)
			}
			if out, err := validate(bin, cfg, "TEAMSFLOW_BACKEND_INSECURE=perhaps"); err == nil {
				t.Errorf("validate accepted tls.insecure=perhaps:\n%s", out)
			}
		})
	}
}

func validate(bin, cfg string, env ...string) ([]byte, error) {
	cmd := exec.Command(bin, "validate", "--config", cfg)
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// TestAgentToGatewayToBackend runs the fleet path with real collectors:
// teamsflow's exporter -> agent-collector.yaml -> gateway.yaml (routing by
// trace ID to its own routed receiver) -> a backend collector. Every span
// of each call must arrive, in its call's trace, under its root.
func TestAgentToGatewayToBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for two batch timeouts")
	}
	backend := otelcol.Start(t, otelcol.Options{})
	gwGRPC, gwHTTP, gwRouted := otelcol.FreeAddr(t), otelcol.FreeAddr(t), otelcol.FreeAddr(t)
	_, routedPort, _ := net.SplitHostPort(gwRouted)
	otelcol.Run(t, "gateway.yaml", []string{
		"TEAMSFLOW_OTLP_GRPC_ENDPOINT=" + gwGRPC, "TEAMSFLOW_OTLP_HTTP_ENDPOINT=" + gwHTTP,
		"TEAMSFLOW_ROUTED_ENDPOINT=" + gwRouted, "TEAMSFLOW_GATEWAY_PEERS=127.0.0.1",
		"TEAMSFLOW_ROUTED_PORT=" + routedPort,
		"TEAMSFLOW_BACKEND_ENDPOINT=" + backend.GRPCAddr, "TEAMSFLOW_BACKEND_INSECURE=true",
		metricsPort(t),
	}, gwGRPC, gwRouted)
	agGRPC, agHTTP := otelcol.FreeAddr(t), otelcol.FreeAddr(t)
	otelcol.Run(t, "agent-collector.yaml", []string{
		"TEAMSFLOW_OTLP_GRPC_ENDPOINT=" + agGRPC, "TEAMSFLOW_OTLP_HTTP_ENDPOINT=" + agHTTP,
		"TEAMSFLOW_BACKEND_ENDPOINT=" + gwGRPC, "TEAMSFLOW_BACKEND_INSECURE=true",
		metricsPort(t),
	}, agGRPC, agHTTP)

	exp, err := exporter.New(t.Context(), exporter.Config{Endpoint: agHTTP, Protocol: "http", Insecure: true},
		zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var recs []record.Record
	for c := range 4 {
		for s := range 3 {
			recs = append(recs, endedStream(fmt.Sprintf("call-%d", c), fmt.Sprintf("c%d-s%d", c, s), now))
		}
	}
	exp.Observe(now, recs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	sendHealthMetrics(t, ctx, agHTTP)

	// 12 stream spans and 4 roots, after the two collectors' 5 s batches.
	spans := backend.WaitSpans(t, 40*time.Second, func(s []otelcol.Span) bool { return len(s) >= 16 })
	roots := map[string]string{} // trace -> root span
	for _, s := range spans {
		if s.ParentSpanID == "" {
			roots[s.TraceID] = s.SpanID
		}
	}
	for _, s := range spans {
		callID, _ := s.Attrs["teamsflow.call.id"].(string)
		if want := exp.CallTraceID(callID).String(); s.TraceID != want {
			t.Errorf("span %s of %s in trace %s, want %s", s.Name, callID, s.TraceID, want)
		}
		if s.ParentSpanID != "" && s.ParentSpanID != roots[s.TraceID] {
			t.Errorf("span %s: parent %s is not its call's root", s.Name, s.ParentSpanID)
		}
	}
	if len(spans) != 16 || len(roots) != 4 {
		t.Errorf("backend got %d spans in %d traces, want 16 in 4", len(spans), len(roots))
	}
	waitHealthMetrics(t, backend)
}

// sendHealthMetrics ships one snapshot of stream health into the agent
// collector's metrics pipeline.
func sendHealthMetrics(t *testing.T, ctx context.Context, agentHTTP string) {
	t.Helper()
	m, err := exporter.NewMetrics(ctx, exporter.Config{Endpoint: agentHTTP, Protocol: "http", Insecure: true},
		zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	rtt := 42.0
	m.Record(ctx, []exporter.StreamHealth{{Label: "audio", App: "teams", Direction: "received", RTTMs: &rtt}})
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitHealthMetrics checks that the snapshot crossed the gateway to the backend.
func waitHealthMetrics(t *testing.T, backend *otelcol.Collector) {
	t.Helper()
	backend.WaitMetrics(t, 40*time.Second, func(ms []otelcol.Metric) bool {
		for _, m := range ms {
			if m.Name == exporter.MetricRTT && len(m.Points) == 1 && m.Points[0].Count == 1 &&
				m.Points[0].Attrs["teamsflow.stream.label"] == "audio" {
				return true
			}
		}
		return false
	})
}

// metricsPort moves the collector's own metrics off 8888, which another
// collector on this machine may hold.
func metricsPort(t *testing.T) string {
	_, port, _ := net.SplitHostPort(otelcol.FreeAddr(t))
	return "TEAMSFLOW_COLLECTOR_METRICS_PORT=" + port
}

func endedStream(callID, streamID string, now time.Time) record.Record {
	return record.Record{
		Kind: "stream", Transport: "udp", Family: "ipv4",
		LocalAddr: "10.20.0.5", LocalPort: 50010, PeerAddr: "52.115.62.17", PeerPort: 3479,
		PID: 4242, Comm: "ms-teams", App: "teams", Label: "audio", LabelReason: "qos_port",
		CallID: callID, StreamID: streamID, EndReason: "closed",
		FirstSeen: now.Add(-10 * time.Second), LastSeen: now,
	}
}

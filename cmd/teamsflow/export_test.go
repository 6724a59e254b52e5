//go:build linux

package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
	"github.com/teamsflow/teamsflow/agent/testenv/truth"
)

// The running agent ships a simulated Teams call to a real OpenTelemetry
// Collector as one trace: a root span for the call and a child span for
// each stream, with the simulator's labels, ports, process and SSRCs.
func TestRunExportsCallAsTrace(t *testing.T) {
	testenv.RequirePrivileged(t)
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Run(proto, func(t *testing.T) {
			col := otelcol.Start(t, otelcol.Options{})
			addr := col.GRPCAddr
			if proto != "grpc" {
				addr = "http://" + col.HTTPAddr
			}
			sim := newSim(t)
			agent := startRun(t, filepath.Join(t.TempDir(), "api.sock"), "--netns", sim.ClientNetnsPath,
				"--export-endpoint", addr, "--export-protocol", proto, "--export-insecure")
			tr := sim.Play(t, "desktop-qos", "8s")
			agent.stop(t)
			spans := col.WaitSpans(t, 20*time.Second, func(s []otelcol.Span) bool { return rootOf(s) != nil })
			checkCallTrace(t, tr, spans)
		})
	}
}

// rootOf finds the root span of a Teams call.
func rootOf(spans []otelcol.Span) *otelcol.Span {
	for i, s := range spans {
		if s.ParentSpanID == "" && s.Attrs["teamsflow.call.id"] != nil && s.Attrs["teamsflow.stream.id"] == nil {
			return &spans[i]
		}
	}
	return nil
}

func checkCallTrace(t *testing.T, tr *truth.File, spans []otelcol.Span) {
	t.Helper()
	root := rootOf(spans)
	traces := map[string]bool{}
	var children []otelcol.Span
	for _, s := range spans {
		if s.Attrs["teamsflow.call.id"] == nil {
			continue
		}
		traces[s.TraceID] = true
		if s.TraceID == root.TraceID && s.ParentSpanID == root.SpanID {
			children = append(children, s)
		} else if s.SpanID != root.SpanID {
			t.Errorf("span %q of stream %v (ssrc %v) carries the call id but is in trace %s under %q, not under the call's root",
				s.Name, s.Attrs["teamsflow.stream.id"], s.Attrs["teamsflow.rtp.ssrc"], s.TraceID, s.ParentSpanID)
		}
	}
	if len(traces) != 1 {
		t.Errorf("%d traces for one call, want 1", len(traces))
	}
	labels := map[string]int{}
	for _, c := range children {
		labels[fmt.Sprint(c.Attrs["teamsflow.stream.label"])]++
	}
	t.Logf("call trace: root %q, %d child spans, labels %v", root.Name, len(children), labels)
	for _, s := range tr.Streams {
		if s.SSRC == 0 || s.Label == truth.LabelRTCP {
			continue
		}
		if !hasSpan(children, s) {
			t.Errorf("no child span for the simulator's %s stream ssrc %#x from port %d", s.Label, s.SSRC, s.LocalPort)
		}
	}
	if labels["signalling"] == 0 {
		t.Error("no signalling span in the call")
	}
}

func hasSpan(children []otelcol.Span, s truth.Stream) bool {
	for _, c := range children {
		a := c.Attrs
		if a["teamsflow.rtp.ssrc"] == int64(s.SSRC) && a["teamsflow.stream.label"] == s.Label &&
			a["network.local.port"] == int64(s.LocalPort) && a["network.peer.port"] == int64(s.PeerPort) &&
			a["process.pid"] == int64(s.PID) && a["process.executable.name"] == s.Comm {
			return true
		}
	}
	return false
}

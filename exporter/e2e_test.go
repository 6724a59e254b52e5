package exporter

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// These tests ship spans to a real OpenTelemetry Collector (agent/testenv/otelcol)
// and read back what its file exporter wrote.

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
}

func newTestExporter(t *testing.T, cfg Config) *Exporter {
	t.Helper()
	e, err := New(t.Context(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func shutdown(t *testing.T, e *Exporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestExportCall(t *testing.T) {
	for _, proto := range []string{ProtocolGRPC, ProtocolHTTP} {
		t.Run(proto, func(t *testing.T) {
			col := otelcol.Start(t, otelcol.Options{})
			addr := col.GRPCAddr
			if proto == ProtocolHTTP {
				addr = col.HTTPAddr
			}
			e := newTestExporter(t, Config{
				Endpoint: addr, Protocol: proto, Insecure: true,
				ActiveTimeout: 5 * time.Second, BatchTimeout: 100 * time.Millisecond, ServiceVersion: "1.2.3",
			})
			base := time.Now().Add(-time.Minute).Truncate(time.Second)
			playCall(e.Observe, base, 14*time.Second)
			shutdown(t, e)

			st := e.Counters()
			if st.SpansDropped != 0 || st.SpansExported != st.SpansEnded || st.SpansEnded != 12 {
				t.Errorf("stats %+v: want 12 spans (11 stream intervals, 1 root) all exported", st)
			}
			if m := e.Stats(); m["spans_exported"] != 12 || m["spans_dropped"] != 0 {
				t.Errorf("Stats() %v: want spans_exported 12, spans_dropped 0", m)
			}
			spans := col.WaitSpans(t, 10*time.Second, func(s []otelcol.Span) bool { return len(s) >= 12 })
			checkCallTrace(t, spans, e.CallTraceID(testCallID).String())
		})
	}
}

// checkCallTrace asserts the collector got the call as one trace: a root
// span and, under it, each stream's interval spans with its attributes.
func checkCallTrace(t *testing.T, spans []otelcol.Span, traceID string) {
	t.Helper()
	var root otelcol.Span
	streams := map[string][]otelcol.Span{}
	for _, s := range spans {
		if s.TraceID != traceID {
			t.Errorf("span %q in trace %s, want the call's %s", s.Name, s.TraceID, traceID)
		}
		if s.Name == "teams call" {
			root = s
			continue
		}
		id, _ := s.Attrs[string(AttrStreamID)].(string)
		streams[id] = append(streams[id], s)
	}
	if root.SpanID == "" || root.ParentSpanID != "" || root.Attrs[string(AttrCallID)] != testCallID {
		t.Fatalf("root span %+v: want one, without parent, with the call id", root)
	}
	checkResource(t, root.Resource)
	if got := slices.Sorted(maps.Keys(streams)); !slices.Equal(got, []string{"s-audio", "s-share", "s-sig", "s-stun", "s-video"}) {
		t.Errorf("streams %v, want the five Teams streams", got)
	}
	for id, list := range streams {
		slices.SortFunc(list, func(a, b otelcol.Span) int { return a.Start.Compare(b.Start) })
		for i, s := range list {
			if s.ParentSpanID != root.SpanID {
				t.Errorf("%s[%d]: parent %s, want the root %s", id, i, s.ParentSpanID, root.SpanID)
			}
			if i > 0 && (len(s.Links) != 1 || s.Links[0].SpanID != list[i-1].SpanID) {
				t.Errorf("%s[%d]: links %v, want the previous interval %s", id, i, s.Links, list[i-1].SpanID)
			}
		}
	}
	if n := len(streams["s-video"]); n != 3 {
		t.Errorf("video: %d spans, want 3 (two active_timeout intervals and the stop)", n)
	}
	checkAttrs(t, "video", streams["s-video"][0].Attrs, map[string]any{
		"network.transport": "udp", "network.type": "ipv4",
		"network.local.address": "10.20.0.5", "network.local.port": int64(50025),
		"network.peer.address": "52.115.62.17", "network.peer.port": int64(3480),
		"process.pid": int64(teamsPID), "process.parent_pid": int64(4200), "process.owner": "root",
		"process.executable.name": "ms-teams", "process.executable.path": "/opt/microsoft/teams/ms-teams",
		"teamsflow.stream.label": "video", "teamsflow.stream.label_reason": "qos_port",
		"teamsflow.rtp.ssrc": int64(0x2222), "teamsflow.rtp.payload_type": int64(107),
		"teamsflow.ip.dscp": int64(34), "teamsflow.app": "teams", "teamsflow.call.id": testCallID,
		"teamsflow.rtp.lost": int64(3), "teamsflow.rtp.jitter_ms": 4.5, "teamsflow.relayed": false,
		"teamsflow.flow.packets_sent": int64(250), "teamsflow.stream.interval": int64(0),
		"thread.name": "MediaIO",
	})
	if _, ok := root.Attrs["thread.name"]; ok {
		t.Errorf("the call's root span names a thread: %v", root.Attrs)
	}
	checkAttrs(t, "audio", streams["s-audio"][1].Attrs, map[string]any{
		"teamsflow.stream.label": "audio", "teamsflow.rtp.ssrc": int64(0x1111), "teamsflow.ip.dscp": int64(46),
		"teamsflow.end_reason": "closed", "network.local.port": int64(50010),
	})
	checkAttrs(t, "signalling", streams["s-sig"][0].Attrs, map[string]any{
		"teamsflow.stream.label": "signalling", "network.transport": "tcp", "server.address": "teams.microsoft.com",
		"network.peer.port": int64(443), "teamsflow.app_evidence": []any{"process", "sni"},
	})
	checkAttrs(t, "stun", streams["s-stun"][0].Attrs, map[string]any{"teamsflow.end_reason": "idle"})
	checkAttrs(t, "video end", streams["s-video"][2].Attrs, map[string]any{"teamsflow.end_reason": EndAgentStop})
}

func checkResource(t *testing.T, res map[string]any) {
	t.Helper()
	if res["service.name"] != ServiceName || res["service.version"] != "1.2.3" || res["os.type"] != "linux" {
		t.Errorf("resource %v: want service.name teamsflow, service.version 1.2.3, os.type linux", res)
	}
	for _, k := range []string{"host.name", "host.id"} {
		if s, _ := res[k].(string); s == "" {
			t.Errorf("resource has no %s: %v", k, res)
		}
	}
}

func checkAttrs(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if g := got[k]; !equalAttr(g, w) {
			t.Errorf("%s: %s = %#v, want %#v", what, k, g, w)
		}
	}
}

func equalAttr(a, b any) bool {
	as, ok1 := a.([]any)
	bs, ok2 := b.([]any)
	if ok1 && ok2 {
		return slices.Equal(as, bs)
	}
	return a == b
}

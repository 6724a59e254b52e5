//go:build linux

package main

import (
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
)

func TestMetricsInterval(t *testing.T) {
	for env, want := range map[string]time.Duration{"": 60 * time.Second, "5000": 5 * time.Second,
		"200": time.Second, "soon": 60 * time.Second, "-3": 60 * time.Second} {
		if got := metricsInterval(0, func(string) string { return env }); got != want {
			t.Errorf("OTEL_METRIC_EXPORT_INTERVAL=%q: %v, want %v", env, got, want)
		}
	}
	// export.metrics_interval, when set, comes before the variable.
	if got := metricsInterval(15*time.Second, func(string) string { return "5000" }); got != 15*time.Second {
		t.Errorf("export.metrics_interval 15s beside OTEL_METRIC_EXPORT_INTERVAL=5000: %v", got)
	}
}

// Metrics take media streams and flows with a round trip; a sent stream
// carries no loss, and its bitrate is the sent one.
func TestStreamHealthOfRecords(t *testing.T) {
	ssrc := uint32(7)
	sent := record.Record{Label: "audio", App: "teams", SSRC: &ssrc, PacketsSent: 900, RateSentBps: 40_000,
		RTTMs: ptr(38.0), Quality: "good", InterfaceKind: "wired"}
	recv := record.Record{Label: "audio", App: "teams", SSRC: &ssrc, PacketsRecv: 900, RateRecvBps: 39_000,
		RTPLossPct: ptr(12.5), RTPJitterMs: ptr(4.0), MOS: ptr(3.9), Quality: "poor"}
	sig := record.Record{Label: "signalling", App: "teams", RTTMs: ptr(20.0)}
	quiet := record.Record{Label: "stun", App: "teams"}
	s, ok := streamHealth(&sent)
	if !ok || s.Direction != "sent" || *s.BitrateBps != 40_000 || s.LossRate != nil || *s.RTTMs != 38 || s.InterfaceKind != "wired" {
		t.Errorf("sent: %+v", s)
	}
	r, ok := streamHealth(&recv)
	if !ok || r.Direction != "received" || *r.LossRate != 0.125 || *r.JitterMs != 4 || *r.MOS != 3.9 || r.Quality != "poor" {
		t.Errorf("received: %+v", r)
	}
	if g, ok := streamHealth(&sig); !ok || g.Direction != "" || g.BitrateBps != nil || *g.RTTMs != 20 {
		t.Errorf("signalling: %+v", g)
	}
	if _, ok := streamHealth(&quiet); ok {
		t.Error("a flow with nothing measured was taken")
	}
}

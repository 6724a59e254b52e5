//go:build linux

package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/teamsflow/teamsflow/agent/classify"
	"github.com/teamsflow/teamsflow/agent/config"
	"github.com/teamsflow/teamsflow/agent/health"
	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/exporter"
)

// defaultMetricsInterval is OpenTelemetry's default export interval
// (OTEL_METRIC_EXPORT_INTERVAL unset).
const defaultMetricsInterval = 60 * time.Second

// maxWarned bounds the (interface, call) pairs remembered as warned.
const maxWarned = 4096

// healthFeed takes each tick's records for what is not the span exporter's:
// one log warning per interface and call when Teams media goes through a
// VPN, and the stream health metrics once per metrics interval.
type healthFeed struct {
	log      zerolog.Logger
	metrics  *exporter.Metrics // nil without an OTLP endpoint
	interval time.Duration
	next     time.Time
	warned   map[string]bool
}

// newHealthFeed builds the OTLP metric exporter when an endpoint is set
// (export.endpoint, OTEL_EXPORTER_OTLP_ENDPOINT or its _METRICS_ variant),
// with the span exporter's settings.
func newHealthFeed(ctx context.Context, cfg config.Config, log zerolog.Logger) (*healthFeed, error) {
	h := &healthFeed{log: log, warned: map[string]bool{}, interval: metricsInterval(cfg.Export.MetricsInterval, os.Getenv)}
	ecfg, ok := exporterConfig(cfg, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
	if !ok {
		return h, nil
	}
	var err error
	h.metrics, err = exporter.NewMetrics(ctx, ecfg, log)
	return h, err
}

// metricsInterval is export.metrics_interval when set, else
// OTEL_METRIC_EXPORT_INTERVAL (milliseconds): what the metric SDK's
// periodic reader exports by (exporterConfig hands it the same setting),
// so that the agent records one observation per stream per export.
func metricsInterval(configured time.Duration, getenv func(string) string) time.Duration {
	if configured > 0 {
		return configured
	}
	if ms, err := strconv.Atoi(getenv("OTEL_METRIC_EXPORT_INTERVAL")); err == nil && ms > 0 {
		return max(time.Duration(ms)*time.Millisecond, time.Second)
	}
	return defaultMetricsInterval
}

// observe takes one tick's records.
func (h *healthFeed) observe(now time.Time, recs []record.Record) {
	h.warn(recs)
	if h.metrics == nil || now.Before(h.next) {
		return
	}
	h.next = now.Add(h.interval)
	h.record(recs)
}

// record puts the running streams' health into the metrics.
func (h *healthFeed) record(recs []record.Record) {
	if h.metrics == nil {
		return
	}
	var streams []exporter.StreamHealth
	for i := range recs {
		if s, ok := streamHealth(&recs[i]); ok {
			streams = append(streams, s)
		}
	}
	h.metrics.Record(context.Background(), streams)
}

// streamHealth is a record's health for the metrics: RTP media streams,
// media flows judged by their path (no readable RTP), and flows with a
// measured round trip (TCP signalling, ICE paths).
func streamHealth(r *record.Record) (exporter.StreamHealth, bool) {
	media := r.SSRC != nil && classify.IsMedia(r.Label)
	path := r.QualityCovers == string(health.Path)
	if !media && !path && r.RTTMs == nil {
		return exporter.StreamHealth{}, false
	}
	s := exporter.StreamHealth{Label: r.Label, App: r.App, Relayed: r.Relayed, InterfaceKind: r.InterfaceKind,
		Quality: r.Quality, RTTMs: r.RTTMs, JitterMs: r.RTPJitterMs, MOS: r.MOS, FramesPerSec: r.FramesPerSec}
	if media {
		rate := r.RateRecvBps
		s.Direction = "received"
		if r.PacketsSent > 0 {
			rate, s.Direction = r.RateSentBps, "sent"
		}
		s.BitrateBps = &rate
	}
	if path {
		s.Direction = string(health.Path)
	}
	if r.RTPLossPct != nil {
		loss := *r.RTPLossPct / 100
		s.LossRate = &loss
	}
	return s, true
}

// warn logs each path warning once per interface and call.
func (h *healthFeed) warn(recs []record.Record) {
	for i := range recs {
		r := &recs[i]
		if r.PathWarning == "" {
			continue
		}
		key := r.Interface + "|" + r.CallID
		if h.warned[key] {
			continue
		}
		if len(h.warned) >= maxWarned {
			h.warned = map[string]bool{}
		}
		h.warned[key] = true
		h.log.Warn().Str("interface", r.Interface).Str("interface_kind", r.InterfaceKind).Str("call_id", r.CallID).
			Str("label", r.Label).Str("peer", hostPort(r.PeerAddr, r.PeerPort)).Msg(r.PathWarning)
	}
}

func (h *healthFeed) shutdown(ctx context.Context) error {
	if h == nil || h.metrics == nil {
		return nil
	}
	return h.metrics.Shutdown(ctx)
}

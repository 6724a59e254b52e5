package exporter

import (
	"github.com/teamsflow/teamsflow/agent/record"

	"context"
	"errors"
	"sync"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// StreamHealth is one stream's health in one snapshot, as the agent's
// records carry it. Pointers are metrics that may be missing (a sent
// stream's loss, a stream without RTP): missing is not recorded, never 0.
type StreamHealth struct {
	// Attributes; each takes few values, so a fleet's series stay few.
	Label         string // audio, video, screenshare, ... (record `label`)
	App           string // "teams" or "" (record `app`)
	Direction     string // received, sent or path (health.Direction)
	Relayed       bool   // through a TURN relay
	InterfaceKind string // wired, wifi, vpn, loopback, virtual or ""
	Quality       string // good, poor, unknown or ""

	RTTMs        *float64 // record `rtt_ms`
	JitterMs     *float64 // record `rtp_jitter_ms`
	LossRate     *float64 // 0..1, from `rtp_lost` over packets expected
	BitrateBps   *float64 // bits per second in the stream's direction
	MOS          *float64 // record `mos`
	FramesPerSec *float64 // record `frames_per_sec`
}

// Metric names and units (UCUM, as OpenTelemetry's conventions want: times
// in seconds, ratios as 1).
const (
	MetricRTT       = "teamsflow.stream.rtt"
	MetricJitter    = "teamsflow.stream.jitter"
	MetricLoss      = "teamsflow.stream.loss"
	MetricBitrate   = "teamsflow.stream.bitrate"
	MetricMOS       = "teamsflow.stream.mos"
	MetricFrameRate = "teamsflow.stream.frame_rate"
	MetricStreams   = "teamsflow.streams"
)

// Metric attribute keys. Addresses, ports, SSRCs and call IDs are never
// attributes here: each would make a series per stream.
const (
	AttrDirection     = attribute.Key("teamsflow.stream.direction")
	AttrInterfaceKind = attribute.Key("teamsflow.interface.kind")
	AttrQuality       = attribute.Key("teamsflow.stream.quality")
)

// Metrics ships per-stream health as OTLP metrics. Each snapshot's streams
// go into histograms (a fleet charts how many streams fall in each band, and
// percentiles, per label, path and quality) and a gauge counts the streams
// per attribute set. Safe for use from several goroutines.
type Metrics struct {
	log      zerolog.Logger
	provider *sdkmetric.MeterProvider
	inst     instruments

	mu       sync.Mutex
	lastSets map[attribute.Distinct]attribute.Set // sets counted in the last snapshot
	recorded uint64
}

// NewMetrics builds the metric pipeline from the span exporter's Config:
// same endpoint, protocol, TLS, headers and environment variables (the
// METRICS_ ones where they differ), a periodic reader at MetricsInterval.
func NewMetrics(ctx context.Context, cfg Config, log zerolog.Logger) (*Metrics, error) {
	log = log.With().Str("component", "metrics").Logger()
	s, err := resolveFor(cfg, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
	if err != nil {
		return nil, err
	}
	client, err := newMetricClient(ctx, s)
	if err != nil {
		return nil, err
	}
	var readerOpts []sdkmetric.PeriodicReaderOption
	if s.MetricsInterval > 0 {
		readerOpts = append(readerOpts, sdkmetric.WithInterval(s.MetricsInterval))
	}
	return newMetricsWithReader(ctx, s, sdkmetric.NewPeriodicReader(client, readerOpts...), log)
}

// newMetricsWithReader is NewMetrics over any reader (a manual one in tests).
func newMetricsWithReader(ctx context.Context, s settings, reader sdkmetric.Reader, log zerolog.Logger) (*Metrics, error) {
	res, err := newResource(ctx, s.ServiceVersion)
	if res == nil {
		return nil, err
	}
	if err != nil {
		log.Warn().Err(err).Msg("some resource attributes are missing")
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
	inst, err := newInstruments(provider.Meter(ScopeName))
	if err != nil {
		_ = provider.Shutdown(ctx)
		return nil, err
	}
	return &Metrics{log: log, provider: provider, inst: inst, lastSets: map[attribute.Distinct]attribute.Set{}}, nil
}

// Record takes one snapshot of the streams: call it once per snapshot
// interval with every live media stream.
func (m *Metrics) Record(ctx context.Context, streams []StreamHealth) {
	m.mu.Lock()
	defer m.mu.Unlock()
	counts := map[attribute.Distinct]int64{}
	sets := map[attribute.Distinct]attribute.Set{}
	for _, s := range streams {
		set := healthAttrs(s)
		opt := metric.WithAttributeSet(set)
		m.inst.record(ctx, s, opt)
		counts[set.Equivalent()]++
		sets[set.Equivalent()] = set
	}
	// A set that had streams last time and has none now reads 0, not its
	// old count: the gauge keeps the last value it was given.
	for k, set := range m.lastSets {
		if _, ok := sets[k]; !ok {
			m.inst.streams.Record(ctx, 0, metric.WithAttributeSet(set))
		}
	}
	for k, n := range counts {
		m.inst.streams.Record(ctx, n, metric.WithAttributeSet(sets[k]))
	}
	m.lastSets = sets
	m.recorded += uint64(len(streams))
}

// Recorded is how many stream observations Record has taken.
func (m *Metrics) Recorded() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recorded
}

// Flush exports what was recorded now, not at the next interval.
func (m *Metrics) Flush(ctx context.Context) error { return m.provider.ForceFlush(ctx) }

// Shutdown exports what is left and stops the pipeline.
func (m *Metrics) Shutdown(ctx context.Context) error {
	err := m.provider.Shutdown(ctx)
	if errors.Is(err, sdkmetric.ErrReaderShutdown) {
		return nil
	}
	return err
}

// knownValues limits each attribute to the values the agent produces, so a
// bug elsewhere cannot flood a fleet's backend with series.
var knownValues = map[attribute.Key]map[string]bool{
	AttrLabel:         setOf(record.Labels()),
	AttrApp:           {"teams": true},
	AttrDirection:     {"received": true, "sent": true, "path": true},
	AttrInterfaceKind: {"wired": true, "wifi": true, "vpn": true, "loopback": true, "virtual": true},
	AttrQuality:       {"good": true, "poor": true, "unknown": true},
}

func healthAttrs(s StreamHealth) attribute.Set {
	kvs := []attribute.KeyValue{AttrRelayed.Bool(s.Relayed)}
	for key, v := range map[attribute.Key]string{
		AttrLabel: s.Label, AttrApp: s.App, AttrDirection: s.Direction,
		AttrInterfaceKind: s.InterfaceKind, AttrQuality: s.Quality,
	} {
		if v == "" {
			continue // absent, as in the records
		}
		if !knownValues[key][v] {
			v = "other"
		}
		kvs = append(kvs, key.String(v))
	}
	return attribute.NewSet(kvs...)
}

func setOf(values []string) map[string]bool {
	set := make(map[string]bool, len(values))
	for _, v := range values {
		set[v] = true
	}
	return set
}

package exporter

import (
	"context"

	"go.opentelemetry.io/otel/metric"
)

// instruments are the per-stream histograms and the stream-count gauge.
// Bucket bounds put a boundary at each Call Quality Dashboard threshold
// (rtt 500 ms, jitter 30 ms, loss 10% and 15%, 7 and 2 frames/s) and at MOS
// 3.1 (the E-model's R 60, "many users dissatisfied"), so a backend can
// count the streams past each exactly.
type instruments struct {
	rtt, jitter, loss, bitrate, mos, frameRate metric.Float64Histogram
	streams                                    metric.Int64Gauge
}

type histogramSpec struct {
	dst    *metric.Float64Histogram
	name   string
	unit   string
	desc   string
	bounds []float64
}

func newInstruments(meter metric.Meter) (instruments, error) {
	var in instruments
	specs := []histogramSpec{
		{&in.rtt, MetricRTT, "s", "Round-trip time of the stream's path (STUN checks or TCP)",
			[]float64{0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2}},
		{&in.jitter, MetricJitter, "s", "RFC 3550 interarrival jitter of a received RTP stream",
			[]float64{0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2}},
		{&in.loss, MetricLoss, "1", "Fraction of a received RTP stream's packets lost",
			[]float64{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5}},
		{&in.bitrate, MetricBitrate, "bit/s", "Bit rate of the stream in its direction",
			[]float64{16e3, 32e3, 64e3, 128e3, 256e3, 512e3, 1e6, 1.5e6, 2.5e6, 4e6, 8e6}},
		{&in.mos, MetricMOS, "1", "Estimated network MOS of a received audio stream (ITU-T G.107 E-model)",
			[]float64{1, 1.5, 2, 2.5, 3, 3.1, 3.5, 3.8, 4, 4.2, 4.4, 4.5}},
		{&in.frameRate, MetricFrameRate, "{frame}/s", "Video frames per second from RTP marker bits",
			[]float64{1, 2, 5, 7, 10, 15, 20, 25, 30, 60}},
	}
	for _, s := range specs {
		h, err := meter.Float64Histogram(s.name, metric.WithUnit(s.unit), metric.WithDescription(s.desc),
			metric.WithExplicitBucketBoundaries(s.bounds...))
		if err != nil {
			return in, err
		}
		*s.dst = h
	}
	var err error
	in.streams, err = meter.Int64Gauge(MetricStreams, metric.WithUnit("{stream}"),
		metric.WithDescription("Streams with these attributes in the last snapshot"))
	return in, err
}

// record puts one stream's present metrics into the histograms; ms become s.
func (in instruments) record(ctx context.Context, s StreamHealth, opt metric.RecordOption) {
	for _, r := range []struct {
		h     metric.Float64Histogram
		v     *float64
		scale float64
	}{
		{in.rtt, s.RTTMs, 1e-3}, {in.jitter, s.JitterMs, 1e-3}, {in.loss, s.LossRate, 1},
		{in.bitrate, s.BitrateBps, 1}, {in.mos, s.MOS, 1}, {in.frameRate, s.FramesPerSec, 1},
	} {
		if r.v != nil {
			r.h.Record(ctx, *r.v*r.scale, opt)
		}
	}
}

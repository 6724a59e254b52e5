package exporter

import (
	"fmt"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/teamsflow/teamsflow/agent/record"
)

// BenchmarkObserve measures a poll of 100 running Teams streams (audio and
// video of many calls) where every stream's interval is over: the agent's
// cost per stream span, without the network.
func BenchmarkObserve(b *testing.B) {
	s, err := resolve(Config{ActiveTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	// No span processor: the spans are built, recorded and ended, then let go.
	tp := sdktrace.NewTracerProvider(sdktrace.WithIDGenerator(fixedIDs{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	tr := newTracker(tp.Tracer("bench"), idSource{host: "host-a"}, s)
	recs := make([]record.Record, 100)
	for i := range recs {
		recs[i] = media(fmt.Sprintf("s-%d", i), uint16(50000+i), 3479, "audio", uint32(i), 111, 46)
		recs[i].CallID = fmt.Sprintf("call-%d", i/4)
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Second)
		tr.observe(now, recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/span")
}

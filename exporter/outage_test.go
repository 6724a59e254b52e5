package exporter

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// TestCollectorOutage stops the collector for 12 s while the agent keeps
// producing spans at about 2000/s: the exporter must keep running, hold at
// most its queue, count what it drops, and deliver again once the collector
// is back on the same port.
func TestCollectorOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 20 s")
	}
	col := otelcol.Start(t, otelcol.Options{})
	const queue = 256
	e := newTestExporter(t, Config{
		Endpoint: col.GRPCAddr, Insecure: true,
		QueueSize: queue, BatchSize: 64, BatchTimeout: 50 * time.Millisecond, RetryMax: 2 * time.Second,
	})
	produce := func(prefix string, polls int) {
		for i := range polls {
			e.Observe(time.Now(), shortStreams(fmt.Sprintf("%s-%d", prefix, i), 200, time.Now()))
			time.Sleep(100 * time.Millisecond)
		}
	}

	produce("before", 5)
	col.WaitSpans(t, 10*time.Second, func(s []otelcol.Span) bool { return len(s) >= 1000 })

	col.Stop()
	heapBefore := heapInUse()
	start := time.Now()
	maxQueue := 0
	for i := 0; time.Since(start) < 12*time.Second; i++ {
		produce(fmt.Sprintf("away-%d", i), 1)
		maxQueue = max(maxQueue, e.Counters().QueueLength)
	}
	heapGrowth := int64(heapInUse()) - int64(heapBefore)
	away := e.Counters()
	t.Logf("during the outage: %+v, max queue %d, heap growth %d KiB", away, maxQueue, heapGrowth/1024)
	if away.SpansDropped == 0 || away.ExportErrors == 0 {
		t.Errorf("collector away: no drops or export errors counted: %+v", away)
	}
	if maxQueue > queue {
		t.Errorf("queue held %d spans, capacity %d", maxQueue, queue)
	}
	// ~24000 spans of ~1.5 KiB each would be ~35 MiB if they piled up.
	if heapGrowth > 16<<20 {
		t.Errorf("heap grew %d MiB while the collector was away", heapGrowth>>20)
	}

	col.Restart()
	back := time.Now()
	deadline := back.Add(40 * time.Second)
	for i := 0; !hasStream(col.Spans(t), "after-"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no span reached the restarted collector in 40 s: %+v", e.Counters())
		}
		produce(fmt.Sprintf("after-%d", i), 1)
	}
	t.Logf("spans arrive again %s after the collector's restart", time.Since(back).Round(100*time.Millisecond))
	shutdown(t, e)
	final := e.Counters()
	if final.SpansEnded != final.SpansExported+final.SpansDropped {
		t.Errorf("stats %+v: ended != exported + dropped", final)
	}
	col.Stop()
	if got := uniqueSpans(col.Spans(t)); uint64(got) < final.SpansExported {
		t.Errorf("collector has %d spans, exporter counted %d exported", got, final.SpansExported)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func hasStream(spans []otelcol.Span, prefix string) bool {
	for _, s := range spans {
		if id, _ := s.Attrs[string(AttrStreamID)].(string); strings.HasPrefix(id, prefix) {
			return true
		}
	}
	return false
}

func uniqueSpans(spans []otelcol.Span) int {
	seen := map[string]bool{}
	for _, s := range spans {
		seen[s.SpanID] = true
	}
	return len(seen)
}

package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) routes() http.Handler {
	reg := prometheus.NewRegistry()
	// The Go and process collectors give the agent's own memory and CPU,
	// which an operator wants next to its flow counters.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		metricsCollector{s})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/streams", s.streams)
	mux.HandleFunc("GET /v1/calls", s.calls)
	mux.HandleFunc("GET /v1/health", s.health)
	mux.HandleFunc("GET /v1/counters", s.counters)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return s.checkPeer(mux)
}

func (s *Server) streams(w http.ResponseWriter, r *http.Request) {
	allApps, err := boolParam(r, "all_apps")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, Denial{Error: err.Error()})
		return
	}
	writeJSONList(w, s.opts.Streams.Records(allApps))
}

func (s *Server) calls(w http.ResponseWriter, _ *http.Request) {
	writeJSONList(w, Calls(s.opts.Streams.Records(false)))
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	h := s.opts.Health()
	code := http.StatusOK
	if !h.OK {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func (s *Server) counters(w http.ResponseWriter, _ *http.Request) {
	out := map[string]float64{}
	for _, m := range s.metrics() {
		out[m.Name] = m.Value
	}
	writeJSON(w, http.StatusOK, out)
}

// metrics are the caller's figures plus the API's own.
func (s *Server) metrics() []Metric {
	var ms []Metric
	if s.opts.Metrics != nil {
		ms = s.opts.Metrics()
	}
	return append(ms,
		Metric{Name: "api_requests_total", Help: "Requests to the local API.", Counter: true, Value: float64(s.requests.Load())},
		Metric{Name: "api_requests_denied_total", Help: "Local API requests refused by the credential check.", Counter: true, Value: float64(s.denied.Load())})
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONList answers 200 with items as a JSON array ("[]" when there
// are none), the bytes writeJSON would write, encoded one item at a time:
// encoding 10k stream records at once held all of their JSON (~7 MB, and
// the buffer's growth) in memory besides the records.
func writeJSONList[T any](w http.ResponseWriter, items []T) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	out := bufio.NewWriterSize(w, 32<<10)
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	_ = out.WriteByte('[')
	for i := range items {
		item.Reset()
		if err := enc.Encode(&items[i]); err != nil {
			return // the client sees a truncated list, as with a failed write
		}
		if i > 0 {
			_ = out.WriteByte(',')
		}
		// Encode ends each value with a newline; the array has none inside.
		if _, err := out.Write(bytes.TrimSuffix(item.Bytes(), []byte{'\n'})); err != nil {
			return
		}
	}
	_, _ = out.WriteString("]\n")
	_ = out.Flush()
}

// metricsCollector turns Metric values into Prometheus samples at scrape
// time, so /metrics and /v1/counters always agree.
type metricsCollector struct{ s *Server }

// Describe sends nothing: the set of metrics is known only at scrape time
// (kernel counters, exporter figures), which makes this an unchecked
// collector.
func (metricsCollector) Describe(chan<- *prometheus.Desc) {}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.s.metrics() {
		kind := prometheus.GaugeValue
		if m.Counter {
			kind = prometheus.CounterValue
		}
		desc := prometheus.NewDesc("teamsflow_"+m.Name, m.Help, nil, nil)
		ch <- prometheus.MustNewConstMetric(desc, kind, m.Value)
	}
}

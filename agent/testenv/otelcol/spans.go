package otelcol

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// Span is one span as the collector wrote it, flattened for assertions.
type Span struct {
	TraceID, SpanID, ParentSpanID string // hex, as OTLP JSON has them
	Name                          string
	Start, End                    time.Time
	Attrs                         map[string]any // string, int64, float64, bool or []any
	Links                         []Link
	Resource                      map[string]any
}

// Link is a span link.
type Link struct{ TraceID, SpanID string }

// OTLP JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// IDs are hex, 64-bit integers are strings.
type otlpFile struct {
	ResourceSpans []struct {
		Resource struct {
			Attributes []otlpKV `json:"attributes"`
		} `json:"resource"`
		ScopeSpans []struct {
			Spans []otlpSpan `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

type otlpSpan struct {
	TraceID      string   `json:"traceId"`
	SpanID       string   `json:"spanId"`
	ParentSpanID string   `json:"parentSpanId"`
	Name         string   `json:"name"`
	Start        string   `json:"startTimeUnixNano"`
	End          string   `json:"endTimeUnixNano"`
	Attributes   []otlpKV `json:"attributes"`
	Links        []struct {
		TraceID string `json:"traceId"`
		SpanID  string `json:"spanId"`
	} `json:"links"`
}

type otlpKV struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

type otlpValue struct {
	String *string                       `json:"stringValue"`
	Int    *string                       `json:"intValue"`
	Double *float64                      `json:"doubleValue"`
	Bool   *bool                         `json:"boolValue"`
	Array  *struct{ Values []otlpValue } `json:"arrayValue"`
}

func (v otlpValue) decode() any {
	switch {
	case v.String != nil:
		return *v.String
	case v.Int != nil:
		n, _ := strconv.ParseInt(*v.Int, 10, 64)
		return n
	case v.Double != nil:
		return *v.Double
	case v.Bool != nil:
		return *v.Bool
	case v.Array != nil:
		out := make([]any, len(v.Array.Values))
		for i, e := range v.Array.Values {
			out[i] = e.decode()
		}
		return out
	}
	return nil
}

func attrMap(kvs []otlpKV) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.decode()
	}
	return m
}

// Spans reads every span the collector wrote so far, over all its runs.
func (c *Collector) Spans(t testing.TB) []Span {
	t.Helper()
	return readExports(t, c.Dir, "spans-*.json", decodeSpans)
}

// WaitSpans polls Spans until ok accepts them or the timeout passes.
func (c *Collector) WaitSpans(t testing.TB, timeout time.Duration, ok func([]Span) bool) []Span {
	t.Helper()
	return waitExports(t, c, "spans", timeout, func() []Span { return c.Spans(t) }, ok)
}

// decodeSpans flattens one OTLP JSON trace request.
func decodeSpans(line []byte) ([]Span, bool) {
	var req otlpFile
	if err := json.Unmarshal(line, &req); err != nil {
		return nil, false
	}
	var spans []Span
	for _, rs := range req.ResourceSpans {
		res := attrMap(rs.Resource.Attributes)
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				spans = append(spans, flatten(s, res))
			}
		}
	}
	return spans, true
}

func flatten(s otlpSpan, res map[string]any) Span {
	out := Span{
		TraceID: s.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, Name: s.Name,
		Start: unixNano(s.Start), End: unixNano(s.End), Attrs: attrMap(s.Attributes), Resource: res,
	}
	for _, l := range s.Links {
		out.Links = append(out.Links, Link{TraceID: l.TraceID, SpanID: l.SpanID})
	}
	return out
}

func unixNano(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Unix(0, n)
}

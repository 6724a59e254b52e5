package exporter

import (
	"context"
	"crypto/tls"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// newMetricClient builds the OTLP metric exporter from the same settings as
// the span exporter. As there, only what the Config sets becomes an option,
// so OTEL_EXPORTER_OTLP_METRICS_* and OTEL_EXPORTER_OTLP_* apply otherwise
// (the metric exporters read them). OTLP/HTTP metrics are always protobuf:
// the Go metric exporter has no JSON encoding.
func newMetricClient(ctx context.Context, s settings) (sdkmetric.Exporter, error) {
	tlsCfg, err := tlsConfig(s.Config)
	if err != nil {
		return nil, err
	}
	if s.protocol == ProtocolHTTP {
		return otlpmetrichttp.New(ctx, metricHTTPOptions(s, tlsCfg)...)
	}
	return otlpmetricgrpc.New(ctx, metricGRPCOptions(s, tlsCfg)...)
}

func metricGRPCOptions(s settings, tlsCfg *tls.Config) []otlpmetricgrpc.Option {
	opts := []otlpmetricgrpc.Option{
		otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{
			Enabled: s.RetryMax > 0, InitialInterval: retryInitial, MaxInterval: retryMaxGap, MaxElapsedTime: s.RetryMax,
		}),
		otlpmetricgrpc.WithDialOption(grpcReconnect()),
	}
	return append(opts, otlpOptionSet[otlpmetricgrpc.Option]{
		endpointURL: otlpmetricgrpc.WithEndpointURL, endpoint: otlpmetricgrpc.WithEndpoint,
		insecure: otlpmetricgrpc.WithInsecure,
		tls: func(c *tls.Config) otlpmetricgrpc.Option {
			return otlpmetricgrpc.WithTLSCredentials(grpcCredentials(c))
		},
		headers: otlpmetricgrpc.WithHeaders, compression: grpcCompression(otlpmetricgrpc.WithCompressor),
		timeout: otlpmetricgrpc.WithTimeout,
	}.shared(s, tlsCfg, unchanged)...)
}

func metricHTTPOptions(s settings, tlsCfg *tls.Config) []otlpmetrichttp.Option {
	opts := []otlpmetrichttp.Option{
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{
			Enabled: s.RetryMax > 0, InitialInterval: retryInitial, MaxInterval: retryMaxGap, MaxElapsedTime: s.RetryMax,
		}),
	}
	return append(opts, otlpOptionSet[otlpmetrichttp.Option]{
		endpointURL: otlpmetrichttp.WithEndpointURL, endpoint: otlpmetrichttp.WithEndpoint,
		insecure: otlpmetrichttp.WithInsecure, tls: otlpmetrichttp.WithTLSClientConfig,
		headers:     otlpmetrichttp.WithHeaders,
		compression: httpCompression(otlpmetrichttp.WithCompression, otlpmetrichttp.GzipCompression, otlpmetrichttp.NoCompression),
		timeout:     otlpmetrichttp.WithTimeout,
	}.shared(s, tlsCfg, httpMetricsURL)...)
}

// httpMetricsURL gives a base URL the OTLP metrics path, as
// OTEL_EXPORTER_OTLP_ENDPOINT does. The one endpoint setting serves both
// signals, so a URL written for traces (…/v1/traces) gets …/v1/metrics; any
// other path is used as given.
func httpMetricsURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	switch {
	case u.Path == "" || u.Path == "/":
		u.Path = "/v1/metrics"
	case strings.HasSuffix(u.Path, "/v1/traces"):
		u.Path = strings.TrimSuffix(u.Path, "/v1/traces") + "/v1/metrics"
	default:
		return endpoint
	}
	return u.String()
}

package exporter

import (
	"context"
	"crypto/tls"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
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
		otlpmetricgrpc.WithDialOption(grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: grpcReconnectMax},
			MinConnectTimeout: 5 * time.Second,
		})),
	}
	if strings.Contains(s.Endpoint, "://") {
		opts = append(opts, otlpmetricgrpc.WithEndpointURL(s.Endpoint))
	} else if s.Endpoint != "" {
		opts = append(opts, otlpmetricgrpc.WithEndpoint(s.Endpoint))
	}
	if s.Insecure {
		opts = append(opts, otlpmetricgrpc.WithInsecure())
	}
	if tlsCfg != nil {
		opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
	}
	if len(s.Headers) > 0 {
		opts = append(opts, otlpmetricgrpc.WithHeaders(s.Headers))
	}
	if s.Compression != "" {
		opts = append(opts, otlpmetricgrpc.WithCompressor(s.Compression))
	}
	if s.ExportTimeout > 0 {
		opts = append(opts, otlpmetricgrpc.WithTimeout(s.ExportTimeout))
	}
	return opts
}

func metricHTTPOptions(s settings, tlsCfg *tls.Config) []otlpmetrichttp.Option {
	opts := []otlpmetrichttp.Option{
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{
			Enabled: s.RetryMax > 0, InitialInterval: retryInitial, MaxInterval: retryMaxGap, MaxElapsedTime: s.RetryMax,
		}),
	}
	if strings.Contains(s.Endpoint, "://") {
		opts = append(opts, otlpmetrichttp.WithEndpointURL(httpMetricsURL(s.Endpoint)))
	} else if s.Endpoint != "" {
		opts = append(opts, otlpmetrichttp.WithEndpoint(s.Endpoint))
	}
	if s.Insecure {
		opts = append(opts, otlpmetrichttp.WithInsecure())
	}
	if tlsCfg != nil {
		opts = append(opts, otlpmetrichttp.WithTLSClientConfig(tlsCfg))
	}
	if len(s.Headers) > 0 {
		opts = append(opts, otlpmetrichttp.WithHeaders(s.Headers))
	}
	switch s.Compression {
	case "gzip":
		opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	case "none":
		opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression))
	}
	if s.ExportTimeout > 0 {
		opts = append(opts, otlpmetrichttp.WithTimeout(s.ExportTimeout))
	}
	return opts
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

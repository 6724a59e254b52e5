package exporter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// grpcReconnectMax caps gRPC's reconnect backoff (default 120 s) so spans
// flow again within seconds of a collector's return, not minutes.
const grpcReconnectMax = 5 * time.Second

// newClient builds the OTLP span exporter. Only settings the Config sets are
// passed as options: the OTLP exporters read OTEL_EXPORTER_OTLP_* themselves
// and options override the environment, which is the precedence we want.
func newClient(ctx context.Context, s settings) (sdktrace.SpanExporter, error) {
	tlsCfg, err := tlsConfig(s.Config)
	if err != nil {
		return nil, err
	}
	if s.protocol == ProtocolHTTP {
		return otlptracehttp.New(ctx, httpOptions(s, tlsCfg)...)
	}
	return otlptracegrpc.New(ctx, grpcOptions(s, tlsCfg)...)
}

func grpcOptions(s settings, tlsCfg *tls.Config) []otlptracegrpc.Option {
	opts := []otlptracegrpc.Option{
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{
			Enabled: s.RetryMax > 0, InitialInterval: retryInitial, MaxInterval: retryMaxGap, MaxElapsedTime: s.RetryMax,
		}),
		otlptracegrpc.WithDialOption(grpcReconnect()),
	}
	return append(opts, otlpOptionSet[otlptracegrpc.Option]{
		endpointURL: otlptracegrpc.WithEndpointURL, endpoint: otlptracegrpc.WithEndpoint,
		insecure: otlptracegrpc.WithInsecure,
		tls:      func(c *tls.Config) otlptracegrpc.Option { return otlptracegrpc.WithTLSCredentials(grpcCredentials(c)) },
		headers:  otlptracegrpc.WithHeaders, compression: grpcCompression(otlptracegrpc.WithCompressor),
		timeout: otlptracegrpc.WithTimeout,
	}.shared(s, tlsCfg, unchanged)...)
}

func httpOptions(s settings, tlsCfg *tls.Config) []otlptracehttp.Option {
	opts := []otlptracehttp.Option{
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
			Enabled: s.RetryMax > 0, InitialInterval: retryInitial, MaxInterval: retryMaxGap, MaxElapsedTime: s.RetryMax,
		}),
	}
	if s.encoding == "json" {
		opts = append(opts, otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON))
	}
	return append(opts, otlpOptionSet[otlptracehttp.Option]{
		endpointURL: otlptracehttp.WithEndpointURL, endpoint: otlptracehttp.WithEndpoint,
		insecure: otlptracehttp.WithInsecure, tls: otlptracehttp.WithTLSClientConfig,
		headers:     otlptracehttp.WithHeaders,
		compression: httpCompression(otlptracehttp.WithCompression, otlptracehttp.GzipCompression, otlptracehttp.NoCompression),
		timeout:     otlptracehttp.WithTimeout,
	}.shared(s, tlsCfg, httpTracesURL)...)
}

// httpTracesURL gives a base URL the OTLP traces path, as the standard
// OTEL_EXPORTER_OTLP_ENDPOINT does; a URL with a path is used as given.
func httpTracesURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return endpoint
	}
	u.Path = "/v1/traces"
	return u.String()
}

// Retry keeps the OTLP exporters' backoff and bounds how long one batch is
// retried; meanwhile new spans wait in the bounded queue or are dropped.
const (
	retryInitial = time.Second
	retryMaxGap  = 5 * time.Second
)

// tlsConfig builds the TLS settings from the Config's files, or nil to leave
// TLS to the environment (OTEL_EXPORTER_OTLP_CERTIFICATE and friends).
func tlsConfig(c Config) (*tls.Config, error) {
	if c.CAFile == "" && c.ClientCertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading exporter ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("exporter ca_file %s: no PEM certificate in it", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.ClientCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCertFile, c.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading exporter client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

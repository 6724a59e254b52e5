package exporter

import (
	"crypto/tls"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
)

// otlpOptionSet names one OTLP exporter package's option constructors
// (traces or metrics, gRPC or HTTP), so that the settings every exporter
// shares are decided once, in shared.
type otlpOptionSet[O any] struct {
	endpointURL func(string) O
	endpoint    func(string) O
	insecure    func() O
	tls         func(*tls.Config) O
	headers     func(map[string]string) O
	compression func(string) (O, bool) // false: leave it to the environment
	timeout     func(time.Duration) O
}

// shared turns what the Config sets into options; what it leaves unset
// stays with the OTEL_EXPORTER_OTLP_* variables, which the exporters read
// themselves (options override the environment). withPath gives an
// endpoint URL its signal's path.
func (set otlpOptionSet[O]) shared(s settings, tlsCfg *tls.Config, withPath func(string) string) []O {
	var opts []O
	if strings.Contains(s.Endpoint, "://") {
		opts = append(opts, set.endpointURL(withPath(s.Endpoint)))
	} else if s.Endpoint != "" {
		opts = append(opts, set.endpoint(s.Endpoint))
	}
	if s.Insecure {
		opts = append(opts, set.insecure())
	}
	if tlsCfg != nil {
		opts = append(opts, set.tls(tlsCfg))
	}
	if len(s.Headers) > 0 {
		opts = append(opts, set.headers(s.Headers))
	}
	if o, ok := set.compression(s.Compression); ok {
		opts = append(opts, o)
	}
	if s.ExportTimeout > 0 {
		opts = append(opts, set.timeout(s.ExportTimeout))
	}
	return opts
}

// grpcCredentials wraps a TLS configuration for the gRPC exporters.
func grpcCredentials(c *tls.Config) credentials.TransportCredentials { return credentials.NewTLS(c) }

// grpcReconnect is the gRPC exporters' dial option: reconnect backoff
// capped at grpcReconnectMax.
func grpcReconnect() grpc.DialOption {
	return grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: grpcReconnectMax},
		MinConnectTimeout: 5 * time.Second,
	})
}

// grpcCompression passes any named compressor to a gRPC exporter.
func grpcCompression[O any](with func(string) O) func(string) (O, bool) {
	return func(name string) (O, bool) {
		if name == "" {
			var none O
			return none, false
		}
		return with(name), true
	}
}

// httpCompression maps gzip and none onto an HTTP exporter's settings.
func httpCompression[O, C any](with func(C) O, gzip, none C) func(string) (O, bool) {
	return func(name string) (O, bool) {
		switch name {
		case "gzip":
			return with(gzip), true
		case "none":
			return with(none), true
		}
		var unset O
		return unset, false
	}
}

func unchanged(endpoint string) string { return endpoint }

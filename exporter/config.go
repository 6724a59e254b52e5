// Package exporter ships teamsflow's stream records as OpenTelemetry spans
// over OTLP (gRPC or HTTP): one trace per Teams call, a root span for the call
// and one child span per stream, with spans per active_timeout interval for
// long streams. See README.md for the span schema and the life of a span.
package exporter

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Protocols the exporter speaks.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http"
)

// Defaults; zero values in Config mean these (or the OTEL_* environment).
const (
	DefaultActiveTimeout = 60 * time.Second
	DefaultQueueSize     = 2048
	DefaultBatchSize     = 512
	DefaultBatchTimeout  = 5 * time.Second
	DefaultRetryMax      = time.Minute
)

// Config is what flags and the YAML file fill. A zero field leaves the
// decision to the standard OTEL_EXPORTER_OTLP_* variables and then to the
// OpenTelemetry defaults, so an operator can configure teamsflow like any other
// OpenTelemetry-instrumented program; a set field wins over the environment.
type Config struct {
	// Endpoint is host:port or a URL (http:// implies insecure). For HTTP a
	// URL without a path gets /v1/traces, as OTEL_EXPORTER_OTLP_ENDPOINT does.
	Endpoint string `yaml:"endpoint"`
	// Protocol is "grpc" or "http" (also "http/protobuf", "http/json").
	Protocol string `yaml:"protocol"`
	// Insecure sends plain text. Only true overrides the environment.
	Insecure bool `yaml:"insecure"`
	// CAFile verifies the collector's certificate; ClientCertFile and
	// ClientKeyFile authenticate teamsflow to it (mutual TLS).
	CAFile         string `yaml:"ca_file"`
	ClientCertFile string `yaml:"client_cert_file"`
	ClientKeyFile  string `yaml:"client_key_file"`
	// Headers are sent with every export (e.g. an API key).
	Headers map[string]string `yaml:"headers"`
	// Compression is "gzip" or "none".
	Compression string `yaml:"compression"`

	// ActiveTimeout is how often a running stream is reported as a span.
	ActiveTimeout time.Duration `yaml:"active_timeout"`
	// QueueSize bounds the spans waiting for export; beyond it spans are
	// dropped and counted, so memory stays bounded when the collector is away.
	QueueSize int `yaml:"queue_size"`
	// BatchSize is the most spans in one export request.
	BatchSize int `yaml:"batch_size"`
	// BatchTimeout is the longest a span waits for its batch to fill.
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// ExportTimeout bounds one export request (OTEL_EXPORTER_OTLP_TIMEOUT).
	ExportTimeout time.Duration `yaml:"export_timeout"`
	// RetryMax bounds the retries of one batch; negative disables retry.
	RetryMax time.Duration `yaml:"retry_max"`

	// MetricsInterval is how often stream health metrics are exported; zero
	// leaves it to OTEL_METRIC_EXPORT_INTERVAL and then 60 s.
	MetricsInterval time.Duration `yaml:"metrics_interval"`

	// AllApps exports streams of every process, not only Teams.
	AllApps bool `yaml:"all_apps"`
	// CommandLine exports process.command_args. Off by default: command
	// lines can hold tokens and passwords.
	CommandLine bool `yaml:"command_line"`
	// ServiceVersion is the agent's version for the service.version resource.
	ServiceVersion string `yaml:"-"`
}

// settings is Config with defaults and the environment applied.
type settings struct {
	Config
	protocol string // grpc | http
	encoding string // protobuf | json (HTTP only)
}

// resolve validates cfg for the span exporter and fills in defaults; errors
// name the bad field.
func resolve(cfg Config) (settings, error) {
	return resolveFor(cfg, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
}

// resolveFor is resolve for the signal whose own protocol variable is
// signalEnv (traces or metrics).
func resolveFor(cfg Config, signalEnv string) (settings, error) {
	s := settings{Config: cfg}
	if s.ActiveTimeout == 0 {
		s.ActiveTimeout = DefaultActiveTimeout
	}
	if s.QueueSize == 0 {
		s.QueueSize = DefaultQueueSize
	}
	if s.BatchSize == 0 {
		s.BatchSize = min(DefaultBatchSize, s.QueueSize)
	}
	if s.BatchTimeout == 0 {
		s.BatchTimeout = DefaultBatchTimeout
	}
	if s.RetryMax == 0 {
		s.RetryMax = DefaultRetryMax
	}
	switch {
	case s.ActiveTimeout < time.Second:
		return s, fmt.Errorf("exporter active_timeout %s: must be at least 1s", s.ActiveTimeout)
	case s.QueueSize < 1:
		return s, fmt.Errorf("exporter queue_size %d: must be positive", s.QueueSize)
	case s.BatchSize < 1 || s.BatchSize > s.QueueSize:
		return s, fmt.Errorf("exporter batch_size %d: must be between 1 and queue_size (%d)", s.BatchSize, s.QueueSize)
	case s.BatchTimeout < 0:
		return s, fmt.Errorf("exporter batch_timeout %s: must not be negative", s.BatchTimeout)
	case s.ExportTimeout < 0:
		return s, fmt.Errorf("exporter export_timeout %s: must not be negative", s.ExportTimeout)
	case s.MetricsInterval != 0 && s.MetricsInterval < time.Second:
		return s, fmt.Errorf("exporter metrics_interval %s: must be at least 1s", s.MetricsInterval)
	}
	if err := resolveProtocol(&s, signalEnv); err != nil {
		return s, err
	}
	return s, checkTransport(s.Config)
}

// resolveProtocol picks grpc or http: the Config, then the signal's own
// variable (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or _METRICS_PROTOCOL), then
// OTEL_EXPORTER_OTLP_PROTOCOL, then gRPC (the OTLP exporters themselves do
// not choose between the two).
func resolveProtocol(s *settings, signalEnv string) error {
	name, from := s.Protocol, "exporter protocol"
	for _, env := range []string{signalEnv, "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if name == "" {
			name, from = strings.TrimSpace(os.Getenv(env)), env
		}
	}
	switch strings.ToLower(name) {
	case "", "grpc":
		s.protocol = ProtocolGRPC
	case "http", "http/protobuf":
		s.protocol, s.encoding = ProtocolHTTP, "protobuf"
	case "http/json":
		s.protocol, s.encoding = ProtocolHTTP, "json"
	default:
		return fmt.Errorf("%s %q: want grpc, http, http/protobuf or http/json", from, name)
	}
	return nil
}

// checkTransport rejects endpoint, compression and TLS settings that cannot work.
func checkTransport(c Config) error {
	if strings.Contains(c.Endpoint, "://") {
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("exporter endpoint %q: want host:port or an http(s):// URL", c.Endpoint)
		}
	} else if c.Endpoint != "" && !strings.Contains(c.Endpoint, ":") {
		return fmt.Errorf("exporter endpoint %q: want host:port or an http(s):// URL", c.Endpoint)
	}
	switch c.Compression {
	case "", "gzip", "none":
	default:
		return fmt.Errorf("exporter compression %q: want gzip or none", c.Compression)
	}
	if (c.ClientCertFile == "") != (c.ClientKeyFile == "") {
		return fmt.Errorf("exporter client_cert_file and client_key_file: give both or neither")
	}
	if c.Insecure && (c.CAFile != "" || c.ClientCertFile != "") {
		return fmt.Errorf("exporter insecure: cannot be combined with ca_file or client certificates")
	}
	for _, f := range []string{c.CAFile, c.ClientCertFile, c.ClientKeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("exporter TLS file: %w", err)
		}
	}
	return nil
}

package exporter

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.pem")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // the setting the error must name
	}{
		{"protocol", Config{Protocol: "udp"}, "protocol"},
		{"endpoint without port", Config{Endpoint: "collector"}, "endpoint"},
		{"endpoint scheme", Config{Endpoint: "ftp://collector:21"}, "endpoint"},
		{"compression", Config{Compression: "zstd"}, "compression"},
		{"cert without key", Config{ClientCertFile: "c.pem"}, "client_key_file"},
		{"insecure with CA", Config{Insecure: true, CAFile: "ca.pem"}, "insecure"},
		{"CA file missing", Config{CAFile: missing}, "absent.pem"},
		{"active timeout", Config{ActiveTimeout: 10 * time.Millisecond}, "active_timeout"},
		{"queue size", Config{QueueSize: -1}, "queue_size"},
		{"batch above queue", Config{QueueSize: 10, BatchSize: 20}, "batch_size"},
		{"export timeout", Config{ExportTimeout: -time.Second}, "export_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolve(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line naming %q", err, tc.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "")
	s, err := resolve(Config{QueueSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if s.protocol != ProtocolGRPC || s.ActiveTimeout != DefaultActiveTimeout || s.BatchSize != 100 || s.RetryMax != DefaultRetryMax {
		t.Errorf("defaults %+v: want grpc, 60s, batch capped at the queue, 1m retry", s)
	}
}

// The YAML names are what /etc/teamsflow/config.yaml uses.
func TestConfigYAML(t *testing.T) {
	var c Config
	err := yaml.Unmarshal([]byte(`
endpoint: https://otel.example.com:4318
protocol: http
ca_file: /etc/teamsflow/ca.pem
headers: {x-api-key: secret}
active_timeout: 30s
queue_size: 4096
batch_size: 256
batch_timeout: 2s
export_timeout: 10s
all_apps: true
`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "https://otel.example.com:4318" || c.Protocol != "http" || c.Headers["x-api-key"] != "secret" ||
		c.ActiveTimeout != 30*time.Second || c.QueueSize != 4096 || c.BatchTimeout != 2*time.Second || !c.AllApps {
		t.Errorf("decoded %+v", c)
	}
}

func TestHTTPTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://c:4318":            "http://c:4318/v1/traces",
		"https://c:4318/":          "https://c:4318/v1/traces",
		"https://c/otlp/v1/traces": "https://c/otlp/v1/traces",
	} {
		if got := httpTracesURL(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

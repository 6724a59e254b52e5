package exporter

import (
	"strings"
	"testing"
	"time"

	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
)

// The standard OTEL_* variables configure the exporter when the Config
// leaves a setting empty. t.Setenv keeps these tests sequential.

func TestEnvHTTP(t *testing.T) {
	col := otelcol.Start(t, otelcol.Options{})
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+col.HTTPAddr)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=teamsflow-ci")
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
	t.Setenv("OTEL_SERVICE_NAME", "teamsflow-ci")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=ci,host.name=vdi-17")
	e := newTestExporter(t, Config{})
	e.Observe(time.Now(), shortStreams("env-http", 2, time.Now()))
	shutdown(t, e)
	spans := col.WaitSpans(t, 10*time.Second, func(s []otelcol.Span) bool { return len(s) == 2 })
	res := spans[0].Resource
	for k, want := range map[string]string{
		"service.name": "teamsflow-ci", "deployment.environment.name": "ci", "host.name": "vdi-17", "os.type": "linux",
	} {
		if res[k] != want {
			t.Errorf("resource %s = %v, want %q", k, res[k], want)
		}
	}
}

func TestEnvGRPCWithTLS(t *testing.T) {
	pki := newTestPKI(t)
	col := otelcol.Start(t, otelcol.Options{TLS: &otelcol.TLS{
		CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CA,
	}})
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") // the traces-specific variable wins
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://"+col.GRPCAddr)
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", pki.CA)
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki.ClientCert)
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", pki.ClientKey)
	e := newTestExporter(t, Config{})
	e.Observe(time.Now(), shortStreams("env-grpc", 2, time.Now()))
	shutdown(t, e)
	if st := e.Counters(); st.SpansExported != 2 {
		t.Fatalf("stats %+v: want 2 spans over gRPC with TLS from the environment", st)
	}
	col.WaitSpans(t, 10*time.Second, func(s []otelcol.Span) bool { return len(s) == 2 })
}

// A setting in the Config wins over the environment.
func TestConfigOverridesEnv(t *testing.T) {
	col := otelcol.Start(t, otelcol.Options{})
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	e := newTestExporter(t, Config{Endpoint: col.GRPCAddr, Protocol: ProtocolGRPC, Insecure: true})
	e.Observe(time.Now(), shortStreams("cfg-wins", 2, time.Now()))
	shutdown(t, e)
	col.WaitSpans(t, 10*time.Second, func(s []otelcol.Span) bool { return len(s) == 2 })
}

func TestEnvErrors(t *testing.T) {
	for _, tc := range []struct{ env, value, want string }{
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "thrift", "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{"OTEL_RESOURCE_ATTRIBUTES", "novalue", "OTEL_RESOURCE_ATTRIBUTES"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, err := New(t.Context(), Config{}, testLogger(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s=%s: error %v, want one line naming %s", tc.env, tc.value, err, tc.want)
			}
		})
	}
}

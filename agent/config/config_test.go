package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMissingDefaultFileGivesDefaults(t *testing.T) {
	defaultFile = filepath.Join(t.TempDir(), "absent.yaml")
	t.Cleanup(func() { defaultFile = DefaultFile })
	c, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	c.origin, want.origin = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestMissingExplicitFileIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "absent.yaml")
	for _, src := range []Sources{{File: p}, {Env: []string{"TEAMSFLOW_CONFIG=" + p}}} {
		_, err := Load(src)
		if err == nil || !strings.Contains(err.Error(), "reading the configuration: open "+p+": no such file or directory") {
			t.Errorf("%+v: got %v", src, err)
		}
	}
}

// Flags beat the environment, which beats the file, which beats defaults.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "poll_interval: 2s\napi:\n  socket: /tmp/file.sock\n  group: wheel\nlog_level: warn\n")
	env := []string{"TEAMSFLOW_POLL_INTERVAL=3s", "TEAMSFLOW_API_SOCKET=/tmp/env.sock", "PATH=/bin"}
	flags := map[string]string{"poll_interval": "4s"}
	c, err := Load(Sources{File: file, Env: env, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if c.PollInterval != 4*time.Second || c.API.Socket != "/tmp/env.sock" || c.API.Group != "wheel" ||
		c.LogLevel != "warn" || c.IdleTimeout != time.Minute {
		t.Errorf("flags>env>file>default broken: %+v", c)
	}
	origins := map[string]string{"poll_interval": "--poll-interval", "api.socket": "TEAMSFLOW_API_SOCKET",
		"api.group": file + ":4", "idle_timeout": "default"}
	for key, want := range origins {
		if got := c.Origin(key); got != want {
			t.Errorf("origin of %s = %q, want %q", key, got, want)
		}
	}
	c, _ = Load(Sources{File: file, Env: env})
	if c.PollInterval != 3*time.Second {
		t.Errorf("env did not beat the file: %s", c.PollInterval)
	}
	c, _ = Load(Sources{File: file})
	if c.PollInterval != 2*time.Second {
		t.Errorf("file did not beat the default: %s", c.PollInterval)
	}
}

func TestEveryKeyFromEveryLayer(t *testing.T) {
	values := map[string]string{
		"interfaces": "eth0,wlan0", "netns": "/run/netns/a", "tc_mode": "clsact", "poll_interval": "250ms",
		"idle_timeout": "30s", "flow_map_size": "1024", "flow_slots": "256", "memory_limit_mb": "64", "api.socket": "/tmp/x.sock", "api.group": "adm",
		"log_level": "debug", "all_apps": "true", "qos.audio_ports": "40000-40009", "qos.video_ports": "40010-40019",
		"qos.screenshare_ports": "", "names_file": "/etc/names.yaml", "export.endpoint": "collector:4317",
		"export.protocol": "http/protobuf", "export.insecure": "true", "export.ca_file": "/ca.pem",
		"export.cert_file": "/c.pem", "export.key_file": "/k.pem", "export.headers": "api-key=s3cret,x=y",
		"export.active_timeout": "10s", "export.queue_size": "99", "export.command_line": "true",
		"export.metrics_interval": "15s",
	}
	var env []string
	for _, k := range Keys() {
		env = append(env, k.Env()+"="+values[k.Name])
	}
	fromEnv, err := Load(Sources{File: writeFile(t, ""), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	fromFlags, err := Load(Sources{File: writeFile(t, ""), Flags: values})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if got := k.Value(&fromEnv); got != values[k.Name] {
			t.Errorf("env %s: got %q, want %q", k.Env(), got, values[k.Name])
		}
		if got := k.Value(&fromFlags); got != values[k.Name] {
			t.Errorf("flag --%s: got %q, want %q", k.Flag, got, values[k.Name])
		}
	}
}

// The printed configuration reads back to the same values (headers aside,
// which are redacted).
func TestYAMLRoundTrip(t *testing.T) {
	c, err := Load(Sources{File: writeFile(t, ""), Flags: map[string]string{
		"interfaces": "lo", "poll_interval": "1.5s", "qos.video_ports": "", "export.headers": "a=b"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "a: <redacted>") || strings.Contains(string(out), "a: b") {
		t.Errorf("headers not redacted:\n%s", out)
	}
	back, err := Load(Sources{File: writeFile(t, string(out))})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, k := range Keys() {
		if k.Name != "export.headers" && k.Value(&back) != k.Value(&c) {
			t.Errorf("%s: printed %q, read back %q", k.Name, k.Value(&c), k.Value(&back))
		}
	}
}

func TestUnknownEnvironmentIsAWarning(t *testing.T) {
	c, err := Load(Sources{File: writeFile(t, ""), Env: []string{"TEAMSFLOW_POLL_INTREVAL=2s", "TEAMSFLOW_SKIP_PRIVILEGED=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "TEAMSFLOW_POLL_INTREVAL") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestPortRange(t *testing.T) {
	r, err := ParsePortRange("50000-50019")
	if err != nil || !r.Contains(50000) || !r.Contains(50019) || r.Contains(50020) || r.Contains(49999) {
		t.Errorf("%v %v", r, err)
	}
	if r, err := ParsePortRange("3478"); err != nil || r != (PortRange{3478, 3478}) {
		t.Errorf("single port: %v %v", r, err)
	}
	if (PortRange{}).Contains(0) {
		t.Error("empty range contains 0")
	}
}

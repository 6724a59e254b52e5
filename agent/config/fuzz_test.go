package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds the whole loading path (YAML file, TEAMSFLOW_*
// environment, flags, validation) with arbitrary input. Loading never
// panics; an error is one line that names where to fix it (the file, a
// variable, a flag or a key); a configuration that loads prints as YAML
// that loads back to the same configuration.
//
// env is newline-separated NAME=VALUE; flag is KEY=VALUE for one key.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("poll_interval: 2s\napi:\n  socket: /run/tf.sock\n"), "TEAMSFLOW_TC_MODE=tcx", "export.queue_size=10")
	f.Add([]byte("export:\n  headers: {a: b}\n  endpoint: http://c:4318\n"), "TEAMSFLOW_EXPORT_HEADERS=x=y,z=w", "all_apps=true")
	f.Add([]byte("qos:\n  audio_ports: 50000-50019\n"), "TEAMSFLOW_QOS_VIDEO_PORTS=50010", "netns=/run/netns/a,/run/netns/b")
	f.Add([]byte("- a\n"), "", "")
	f.Add([]byte("interfaces: [eth0, lo]\nidle_timeout: 1s\n"), "TEAMSFLOW_POLL_INTERVAL=2s", "flow_map_size=0")
	f.Add([]byte("a: &x {b: *x}\n"), "TEAMSFLOW_NOT_A_KEY=1", "api.group=a b")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte, env, flag string) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		src := Sources{File: path, Env: strings.Split(env, "\n")}
		if k, v, ok := strings.Cut(flag, "="); ok {
			if _, known := findKey(k); known {
				src.Flags = map[string]string{k: v}
			}
		}
		c, err := loadWithin(t, src, 5*time.Second)
		if err != nil {
			checkFuzzError(t, err.Error(), path)
			return
		}
		checkRoundTrip(t, c, dir)
	})
}

// loadWithin fails when Load does not return in time: a configuration
// must not hang the agent's start.
func loadWithin(t *testing.T, src Sources, limit time.Duration) (Config, error) {
	t.Helper()
	type result struct {
		c   Config
		err error
	}
	done := make(chan result, 1)
	go func() { c, err := Load(src); done <- result{c, err} }()
	select {
	case r := <-done:
		return r.c, r.err
	case <-time.After(limit):
		t.Fatalf("loading took more than %s", limit)
		return Config{}, nil
	}
}

// checkFuzzError: one line that names the file, a variable, a flag or a
// key.
func checkFuzzError(t *testing.T, msg, path string) {
	t.Helper()
	if strings.Contains(msg, "\n") {
		t.Fatalf("error of more than one line: %q", msg)
	}
	if strings.HasPrefix(msg, path) {
		return
	}
	for _, k := range keys {
		if strings.HasPrefix(msg, k.Env()+": ") || strings.HasPrefix(msg, "invalid --"+k.Flag+": ") ||
			strings.HasPrefix(msg, "--"+k.Flag+": ") || strings.HasPrefix(msg, k.Name+": ") {
			return
		}
	}
	t.Fatalf("error names neither the file, a variable, a flag nor a key: %q", msg)
}

// checkRoundTrip: the printed configuration loads back to itself.
func checkRoundTrip(t *testing.T, c Config, dir string) {
	t.Helper()
	out, err := c.YAML()
	if err != nil {
		t.Fatalf("printing a loaded configuration: %v", err)
	}
	again := filepath.Join(dir, "printed.yaml")
	if err := os.WriteFile(again, out, 0o600); err != nil {
		t.Fatal(err)
	}
	c2, err := Load(Sources{File: again})
	if err != nil {
		t.Fatalf("the printed configuration does not load: %v\n%s", err, out)
	}
	out2, err := c2.YAML()
	if err != nil || !bytes.Equal(out, out2) {
		t.Fatalf("printed configuration changed on reload (%v):\n%s\nthen\n%s", err, out, out2)
	}
}

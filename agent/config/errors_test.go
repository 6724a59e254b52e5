package config

import (
	"strings"
	"testing"
)

// Every bad value in the file is one line naming FILE:LINE and the key.
func TestFileErrorsNameTheKeyAndLine(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"poll_intreval: 2s", `:1: unknown key "poll_intreval"`},
		{"pollinterval: 2s", `:1: unknown key "pollinterval" (did you mean "poll_interval"?)`},
		{"api:\n  sock: /x", `:2: unknown key "api.sock" (known: api.socket, api.group)`},
		{"api: /x", `:1: api: want a mapping of keys, got "/x"`},
		{"- a\n- b", `:1: the top level: want a mapping of keys, got a list`},
		{"interfaces: {a: b}", `:1: interfaces: want a list, got a mapping`},
		{"interfaces: [eth0, [x]]", `:1: interfaces: line 1: want a string in the list, got a list`},
		{"interfaces: [averyveryverylongname0]", `:1: interfaces: "averyveryverylongname0" is not an interface name`},
		{"netns: [relative/path]", `:1: netns: "relative/path" is not a path such as /run/netns/NAME`},
		{"tc_mode: xdp", `:1: tc_mode: "xdp" is not a mode: use auto, tcx or clsact`},
		{"\npoll_interval: fast", `:2: poll_interval: want a duration such as 1s, 500ms or 2m, got "fast"`},
		{"poll_interval: 5", `:1: poll_interval: want a duration such as 1s, 500ms or 2m, got "5"`},
		{"poll_interval: 1ms", `:1: poll_interval: 1ms is out of range: use 50ms to 10m0s`},
		{"idle_timeout: 1s\npoll_interval: 2s", `:1: idle_timeout: 1s must be longer than poll_interval (2s)`},
		{"idle_timeout: 48h", `:1: idle_timeout: 48h0m0s is out of range`},
		{"flow_map_size: -1", `:1: flow_map_size: want a whole number from 0 to 4294967295, got "-1"`},
		{"flow_map_size: 0", `:1: flow_map_size: 0 is out of range: use 1 to 16777216`},
		{"flow_map_size: 99999999", `:1: flow_map_size: 99999999 is out of range`},
		{"flow_slots: 1000", `:1: flow_slots: 1000 is not a power of two up to 1048576 (or 0 for none)`},
		{"flow_slots: 2097152", `:1: flow_slots: 2097152 is not a power of two`},
		{"memory_limit_mb: 8", `:1: memory_limit_mb: 8 is out of range: use 16 to 1048576 (or 0 for none)`},
		{"memory_limit_mb: 2000000", `:1: memory_limit_mb: 2000000 is out of range`},
		{"memory_limit_mb: lots", `:1: memory_limit_mb: want a whole number from 0 to 4294967295, got "lots"`},
		{"api:\n  socket: api.sock", `:2: api.socket: "api.sock" is not an absolute path`},
		{"api:\n  socket: /" + strings.Repeat("x", 120), `:2: api.socket: path is 121 bytes long`},
		{"api:\n  group: a:b", `:2: api.group: "a:b" is not a group name`},
		{"log_level: loud", `:1: log_level: "loud" is not a level: use debug, info, warn or error`},
		{"all_apps: sometimes", `:1: all_apps: want true or false, got "sometimes"`},
		{"qos:\n  audio_ports: 50019-50000", `:2: qos.audio_ports: range "50019-50000" is backwards`},
		{"qos:\n  video_ports: 70000-70010", `:2: qos.video_ports: want a port range such as 50000-50019, got "70000-70010"`},
		{"qos:\n  screenshare_ports: 50010-50050", `:2: qos.screenshare_ports: 50010-50050 overlaps qos.audio_ports (50000-50019)`},
		{"names_file: [a]", `:1: names_file: want a single value, got a list`},
		{"export:\n  endpoint: collector", `:2: export.endpoint: "collector" is neither host:port nor a URL`},
		{"export:\n  endpoint: ftp://c:21", `:2: export.endpoint: "ftp://c:21" is not an http:// or https:// URL with a host`},
		{"export:\n  protocol: http", `:2: export.protocol: "http" is not a protocol: use grpc or http/protobuf`},
		{"export:\n  insecure: 2", `:2: export.insecure: want true or false, got "2"`},
		{"export:\n  cert_file: /c.pem", `:2: export.cert_file: mutual TLS needs both export.cert_file and export.key_file`},
		{"export:\n  key_file: /k.pem", `:2: export.key_file: mutual TLS needs both`},
		{"export:\n  ca_file: {a: 1}", `:2: export.ca_file: want a single value, got a mapping`},
		{"export:\n  headers: a=b", `:2: export.headers: want a mapping of names to values, got "a=b"`},
		{"export:\n  headers: {a: [1]}", `:2: export.headers: a: want a string, got a list`},
		{"export:\n  active_timeout: 0s", `:2: export.active_timeout: 0s is out of range: use 1s to 24h0m0s`},
		{"export:\n  metrics_interval: 500ms", `:2: export.metrics_interval: 500ms is out of range: use 1s to 24h0m0s`},
		{"export:\n  queue_size: 0", `:2: export.queue_size: 0 is out of range: use 1 to 1000000`},
		{"export:\n  queue_size: many", `:2: export.queue_size: want a whole number, got "many"`},
		{"poll_interval: [1s", `: line 1: did not find expected ',' or ']'`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			path := writeFile(t, c.yaml)
			_, err := Load(Sources{File: path})
			if err == nil || !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), c.want) ||
				strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v\nwant one line %q", err, path+c.want)
			}
		})
	}
}

func TestEnvAndFlagErrorsNameTheVariable(t *testing.T) {
	empty := writeFile(t, "")
	cases := []struct {
		src  Sources
		want string
	}{
		{Sources{Env: []string{"TEAMSFLOW_POLL_INTERVAL=soon"}}, `TEAMSFLOW_POLL_INTERVAL: want a duration such as 1s, 500ms or 2m, got "soon"`},
		{Sources{Env: []string{"TEAMSFLOW_TC_MODE=xdp"}}, `TEAMSFLOW_TC_MODE: "xdp" is not a mode`},
		{Sources{Env: []string{"TEAMSFLOW_EXPORT_HEADERS=novalue"}}, `TEAMSFLOW_EXPORT_HEADERS: want key=value pairs separated by commas, got "novalue"`},
		{Sources{Flags: map[string]string{"flow_map_size": "x"}}, `invalid --flow-map-size: want a whole number`},
		{Sources{Flags: map[string]string{"api.socket": "rel"}}, `--socket: "rel" is not an absolute path`},
		{Sources{Flags: map[string]string{"log_level": "loud"}, FlagNames: map[string]string{"log_level": "log-level"}}, `--log-level: "loud" is not a level`},
		{Sources{Flags: map[string]string{"qos.audio_ports": "50000-50030"}}, `qos.video_ports: 50020-50039 overlaps qos.audio_ports (50000-50030)`},
	}
	for _, c := range cases {
		c.src.File = empty
		if _, err := Load(c.src); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.src, err, c.want)
		}
	}
}

func TestCheckSystem(t *testing.T) {
	empty := writeFile(t, "")
	c, _ := Load(Sources{File: empty, Flags: map[string]string{"netns": "/run/netns/tf-absent-ns"}})
	if _, err := c.CheckSystem(); err == nil || err.Error() != `--netns: "/run/netns/tf-absent-ns": no such file or directory` {
		t.Errorf("netns: %v", err)
	}
	c, _ = Load(Sources{File: empty, Flags: map[string]string{"export.ca_file": "/nonexistent/ca.pem"}})
	if _, err := c.CheckSystem(); err == nil || !strings.Contains(err.Error(), `--export-ca-file: "/nonexistent/ca.pem"`) {
		t.Errorf("ca_file: %v", err)
	}
	c, _ = Load(Sources{File: empty, Flags: map[string]string{"api.group": "tf-no-such-group"}})
	if _, err := c.CheckSystem(); err == nil || err.Error() != `--group: no group named "tf-no-such-group" on this system` {
		t.Errorf("group: %v", err)
	}
	c, _ = Load(Sources{File: empty, Flags: map[string]string{"api.group": "root"}})
	if w, err := c.CheckSystem(); err != nil || len(w) != 0 {
		t.Errorf("root group: %v %v", w, err)
	}
}

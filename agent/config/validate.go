package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Validate checks ranges and combinations without touching the system;
// the first problem is returned, naming the key and where it was set.
func (c *Config) Validate() error {
	checks := []func() error{c.checkWatch, c.checkTiming, c.checkAPI, c.checkQoS, c.checkExport}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) bad(key, format string, args ...any) error {
	return fmt.Errorf("%s: %s", c.where(key), fmt.Sprintf(format, args...))
}

func (c *Config) checkWatch() error {
	for _, name := range c.Interfaces {
		if len(name) > 15 || strings.ContainsAny(name, "/ ") {
			return c.bad("interfaces", "%q is not an interface name (at most 15 characters, no '/' or spaces)", name)
		}
	}
	for _, p := range c.Netns {
		if !filepath.IsAbs(p) {
			return c.bad("netns", "%q is not a path such as /run/netns/NAME", p)
		}
	}
	switch c.TCMode {
	case "auto", "tcx", "clsact":
	default:
		return c.bad("tc_mode", "%q is not a mode: use auto, tcx or clsact", c.TCMode)
	}
	if c.FlowMapSize < 1 || c.FlowMapSize > 1<<24 {
		return c.bad("flow_map_size", "%d is out of range: use 1 to 16777216", c.FlowMapSize)
	}
	if n := c.FlowSlots; n&(n-1) != 0 || n > 1<<20 {
		return c.bad("flow_slots", "%d is not a power of two up to 1048576 (or 0 for none)", n)
	}
	if n := c.MemoryLimitMB; n != 0 && (n < minMemoryLimitMB || n > 1<<20) {
		return c.bad("memory_limit_mb", "%d is out of range: use %d to 1048576 (or 0 for none)", n, minMemoryLimitMB)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c.bad("log_level", "%q is not a level: use debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// minMemoryLimitMB is the least memory limit that makes sense: below it
// the agent's own start (BTF parsing) outgrows it and the collector runs
// all the time for nothing.
const minMemoryLimitMB = 16

func (c *Config) checkTiming() error {
	if err := c.inRange("poll_interval", c.PollInterval, 50*time.Millisecond, 10*time.Minute); err != nil {
		return err
	}
	if err := c.inRange("idle_timeout", c.IdleTimeout, time.Second, 24*time.Hour); err != nil {
		return err
	}
	if c.IdleTimeout <= c.PollInterval {
		return c.bad("idle_timeout", "%s must be longer than poll_interval (%s)", c.IdleTimeout, c.PollInterval)
	}
	if c.Export.MetricsInterval != 0 {
		if err := c.inRange("export.metrics_interval", c.Export.MetricsInterval, time.Second, 24*time.Hour); err != nil {
			return err
		}
	}
	return c.inRange("export.active_timeout", c.Export.ActiveTimeout, time.Second, 24*time.Hour)
}

func (c *Config) inRange(key string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return c.bad(key, "%s is out of range: use %s to %s", d, lo, hi)
	}
	return nil
}

func (c *Config) checkAPI() error {
	s := c.API.Socket
	if !filepath.IsAbs(s) {
		return c.bad("api.socket", "%q is not an absolute path", s)
	}
	// sun_path holds 108 bytes including the terminating NUL.
	if len(s) > 107 {
		return c.bad("api.socket", "path is %d bytes long: unix sockets allow at most 107", len(s))
	}
	if strings.ContainsAny(c.API.Group, ": ") {
		return c.bad("api.group", "%q is not a group name", c.API.Group)
	}
	return nil
}

func (c *Config) checkQoS() error {
	ranges := []struct {
		key string
		r   PortRange
	}{{"qos.audio_ports", c.QoS.AudioPorts}, {"qos.video_ports", c.QoS.VideoPorts}, {"qos.screenshare_ports", c.QoS.ScreensharePorts}}
	for i, a := range ranges {
		for _, b := range ranges[i+1:] {
			if a.r.overlaps(b.r) {
				return c.bad(b.key, "%s overlaps %s (%s): a port can carry only one kind of media", b.r, a.key, a.r)
			}
		}
	}
	return nil
}

func (c *Config) checkExport() error {
	e := c.Export
	if e.Protocol != "grpc" && e.Protocol != "http/protobuf" {
		return c.bad("export.protocol", "%q is not a protocol: use grpc or http/protobuf", e.Protocol)
	}
	if e.Endpoint != "" {
		if err := checkEndpoint(e.Endpoint); err != nil {
			return c.bad("export.endpoint", "%s", err)
		}
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		// Blame the one that was set: its origin is where to fix it.
		key := "export.cert_file"
		if e.KeyFile != "" {
			key = "export.key_file"
		}
		return c.bad(key, "mutual TLS needs both export.cert_file and export.key_file")
	}
	if e.QueueSize < 1 || e.QueueSize > 1_000_000 {
		return c.bad("export.queue_size", "%d is out of range: use 1 to 1000000", e.QueueSize)
	}
	return nil
}

// checkEndpoint accepts host:port (gRPC style) or an http(s) URL.
func checkEndpoint(s string) error {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http:// or https:// URL with a host", s)
		}
		return nil
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return fmt.Errorf("%q is neither host:port nor a URL", s)
	}
	return nil
}

// CheckSystem checks what only the running system can tell: namespaces
// and files exist, the API group is known. The agent calls it before
// attaching anything. It returns warnings for things that are fine to run
// with.
func (c *Config) CheckSystem() (warnings []string, err error) {
	for _, p := range c.Netns {
		if _, err := os.Stat(p); err != nil {
			return nil, c.bad("netns", "%q: %v", p, errors.Unwrap(err))
		}
	}
	files := map[string]string{"names_file": c.NamesFile, "export.ca_file": c.Export.CAFile,
		"export.cert_file": c.Export.CertFile, "export.key_file": c.Export.KeyFile}
	for _, k := range keys {
		if p := files[k.Name]; p != "" {
			if f, err := os.Open(p); err != nil {
				return nil, c.bad(k.Name, "%q: %v", p, errors.Unwrap(err))
			} else {
				f.Close()
			}
		}
	}
	if c.API.Group == "" {
		return nil, nil
	}
	if _, err := user.LookupGroup(c.API.Group); err != nil {
		if c.API.Group == DefaultGroup && c.Origin("api.group") == "default" {
			return []string{fmt.Sprintf("group %q does not exist: only root may use the local API", DefaultGroup)}, nil
		}
		return nil, c.bad("api.group", "no group named %q on this system", c.API.Group)
	}
	return nil, nil
}

// YAML is the configuration as a file that Load reads back to the same
// values. Header values are replaced by "<redacted>": they often hold
// credentials.
func (c Config) YAML() ([]byte, error) {
	out := c
	out.Export.Headers = map[string]string{}
	for k := range c.Export.Headers {
		out.Export.Headers[k] = "<redacted>"
	}
	return yaml.Marshal(out)
}

// Package config is the agent's configuration: its keys, their defaults,
// and where values come from. Precedence, strongest first: command-line
// flags, TEAMSFLOW_* environment variables, the YAML file
// (/etc/teamsflow/config.yaml or --config), then the defaults here.
// Every key has one name used everywhere: the YAML path ("api.socket"),
// the environment variable (TEAMSFLOW_API_SOCKET) and a flag of
// `teamsflow run` (--socket).
package config

import (
	"strings"
	"time"
)

// DefaultFile is read when no --config is given; it may be missing.
const DefaultFile = "/etc/teamsflow/config.yaml"

// DefaultSocket is where the agent serves its local API.
const DefaultSocket = "/run/teamsflow/api.sock"

// DefaultGroup may use the local API besides root. A missing default
// group is not an error (the socket is then root's only); a missing
// configured one is.
const DefaultGroup = "teamsflow"

// DefaultMemoryLimitMB keeps the daemon near its memory budget (36 MB
// resident with 10k flows): the runtime's share of it, the rest being the
// executable's pages and the kernel maps the agent reads (event ring
// buffer, flow slots), ~10 MB. The runtime keeps about this much resident
// once a burst of new flows reached it. Lower, 10k flows (~13-15 MB live
// heap, and ~8 MB of the runtime's own) leave no room: at 24 the collector
// ran back to back. With many more flows the daemon raises it (see
// memory_limit_mb in README.md).
const DefaultMemoryLimitMB = 26

// Config is the effective configuration of the agent.
type Config struct {
	Interfaces   []string      `yaml:"interfaces"`
	Netns        []string      `yaml:"netns"`
	TCMode       string        `yaml:"tc_mode"`
	PollInterval time.Duration `yaml:"poll_interval"`
	IdleTimeout  time.Duration `yaml:"idle_timeout"`
	FlowMapSize  uint32        `yaml:"flow_map_size"`
	FlowSlots    uint32        `yaml:"flow_slots"`
	// MemoryLimitMB is the Go runtime's soft memory limit in MB (10^6
	// bytes), 0 for none: past it the garbage collector runs more often
	// instead of letting the heap grow to twice what is live. The daemon
	// raises it when the live heap needs more room.
	MemoryLimitMB uint32 `yaml:"memory_limit_mb"`
	API           API    `yaml:"api"`
	LogLevel      string `yaml:"log_level"`
	AllApps       bool   `yaml:"all_apps"`
	QoS           QoS    `yaml:"qos"`
	NamesFile     string `yaml:"names_file"`
	Export        Export `yaml:"export"`

	// Warnings are things worth logging that did not stop loading, such as
	// an unknown TEAMSFLOW_* variable.
	Warnings []string `yaml:"-"`
	// origin says where each key's value came from, for error messages.
	origin map[string]string
}

// API is the local unix-socket API.
type API struct {
	Socket string `yaml:"socket"`
	Group  string `yaml:"group"`
}

// QoS holds the client source port ranges that the admin configured for
// Teams media; a port in one of them decides the stream's label.
type QoS struct {
	AudioPorts       PortRange `yaml:"audio_ports"`
	VideoPorts       PortRange `yaml:"video_ports"`
	ScreensharePorts PortRange `yaml:"screenshare_ports"`
}

// Export is where and how spans are shipped (OTLP).
type Export struct {
	Endpoint      string            `yaml:"endpoint"` // "" disables export
	Protocol      string            `yaml:"protocol"` // grpc | http/protobuf
	Insecure      bool              `yaml:"insecure"`
	CAFile        string            `yaml:"ca_file"`
	CertFile      string            `yaml:"cert_file"`
	KeyFile       string            `yaml:"key_file"`
	Headers       map[string]string `yaml:"headers"`
	ActiveTimeout time.Duration     `yaml:"active_timeout"`
	QueueSize     int               `yaml:"queue_size"`
	// MetricsInterval is how often the stream health metrics are recorded
	// and exported; 0 leaves it to OTEL_METRIC_EXPORT_INTERVAL, then 60 s.
	MetricsInterval time.Duration `yaml:"metrics_interval"`
	// CommandLine exports the owner's arguments (process.command_args).
	// Off by default: command lines often carry tokens and paths.
	CommandLine bool `yaml:"command_line"`
}

// Enabled says whether spans are exported at all.
func (e Export) Enabled() bool { return e.Endpoint != "" }

// Default is the configuration with nothing set.
func Default() Config {
	return Config{
		Interfaces: []string{}, Netns: []string{},
		TCMode: "auto", PollInterval: time.Second, IdleTimeout: 60 * time.Second,
		FlowMapSize: 65536, FlowSlots: 4096, MemoryLimitMB: DefaultMemoryLimitMB,
		API:      API{Socket: DefaultSocket, Group: DefaultGroup},
		LogLevel: "info",
		// Microsoft's recommended ranges for the desktop client.
		QoS: QoS{AudioPorts: PortRange{50000, 50019}, VideoPorts: PortRange{50020, 50039},
			ScreensharePorts: PortRange{50040, 50059}},
		Export: Export{Protocol: "grpc", Headers: map[string]string{},
			ActiveTimeout: 60 * time.Second, QueueSize: 2048},
	}
}

// Key is one setting.
type Key struct {
	Name  string // YAML path, e.g. "api.socket"
	Flag  string // flag of `teamsflow run`
	Usage string
	field func(*Config) any // pointer to the value
}

// Env is the key's environment variable.
func (k Key) Env() string {
	return "TEAMSFLOW_" + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_"))
}

// Type names the key's kind of value for help texts.
func (k Key) Type() string { return typeName(k.field(&Config{})) }

// Value is the key's value in c, spelled as a flag would take it.
func (k Key) Value(c *Config) string { return format(k.field(c)) }

var keys = []Key{
	{"interfaces", "interfaces", "watch only these interfaces (default: all, including ones that appear later)", func(c *Config) any { return &c.Interfaces }},
	{"netns", "netns", "also watch the interfaces of these network namespaces (e.g. /run/netns/NAME)", func(c *Config) any { return &c.Netns }},
	{"tc_mode", "tc-mode", "how to attach to interfaces: auto, tcx or clsact", func(c *Config) any { return &c.TCMode }},
	{"poll_interval", "poll-interval", "how often the kernel's flow counters are read", func(c *Config) any { return &c.PollInterval }},
	{"idle_timeout", "idle-timeout", "how long a flow may be silent before it ends", func(c *Config) any { return &c.IdleTimeout }},
	{"flow_map_size", "flow-map-size", "flows the kernel tracks at once", func(c *Config) any { return &c.FlowMapSize }},
	{"flow_slots", "flow-slots", "fast flow slots per CPU in front of the flow map (a power of two, 0 for none)", func(c *Config) any { return &c.FlowSlots }},
	{"memory_limit_mb", "memory-limit-mb", "soft limit of the agent's Go memory in MB, 0 for none (GOMEMLIMIT in the environment wins)", func(c *Config) any { return &c.MemoryLimitMB }},
	{"api.socket", "socket", "unix socket of the local API", func(c *Config) any { return &c.API.Socket }},
	{"api.group", "group", `group that may use the local API besides root ("" for root only)`, func(c *Config) any { return &c.API.Group }},
	{"log_level", "log-level", "log level: debug, info, warn, error", func(c *Config) any { return &c.LogLevel }},
	{"all_apps", "all-apps", "export every flow, not only Teams streams", func(c *Config) any { return &c.AllApps }},
	{"qos.audio_ports", "qos-audio-ports", "client source ports of Teams audio (LOW-HIGH, \"\" for none)", func(c *Config) any { return &c.QoS.AudioPorts }},
	{"qos.video_ports", "qos-video-ports", "client source ports of Teams video", func(c *Config) any { return &c.QoS.VideoPorts }},
	{"qos.screenshare_ports", "qos-screenshare-ports", "client source ports of Teams screen share", func(c *Config) any { return &c.QoS.ScreensharePorts }},
	{"names_file", "names-file", "file with Teams address ranges and names, replacing the built-in ones", func(c *Config) any { return &c.NamesFile }},
	{"export.endpoint", "export-endpoint", "OTLP endpoint (host:port or URL); empty: no export", func(c *Config) any { return &c.Export.Endpoint }},
	{"export.protocol", "export-protocol", "OTLP protocol: grpc or http/protobuf", func(c *Config) any { return &c.Export.Protocol }},
	{"export.insecure", "export-insecure", "talk to the endpoint without TLS", func(c *Config) any { return &c.Export.Insecure }},
	{"export.ca_file", "export-ca-file", "CA certificate that signed the endpoint's certificate", func(c *Config) any { return &c.Export.CAFile }},
	{"export.cert_file", "export-cert-file", "client certificate for mutual TLS", func(c *Config) any { return &c.Export.CertFile }},
	{"export.key_file", "export-key-file", "client key for mutual TLS", func(c *Config) any { return &c.Export.KeyFile }},
	{"export.headers", "export-headers", "headers sent with every export", func(c *Config) any { return &c.Export.Headers }},
	{"export.active_timeout", "export-active-timeout", "how often a running stream is reported", func(c *Config) any { return &c.Export.ActiveTimeout }},
	{"export.metrics_interval", "export-metrics-interval", "how often stream health metrics are exported (0: OTEL_METRIC_EXPORT_INTERVAL, else 60s)", func(c *Config) any { return &c.Export.MetricsInterval }},
	{"export.queue_size", "export-queue-size", "spans kept while the collector is away (then dropped and counted)", func(c *Config) any { return &c.Export.QueueSize }},
	{"export.command_line", "export-command-line", "export the owner's command line (process.command_args; it may hold secrets)", func(c *Config) any { return &c.Export.CommandLine }},
}

// Keys lists every setting, in the order of the YAML file.
func Keys() []Key { return append([]Key(nil), keys...) }

func findKey(name string) (Key, bool) {
	for _, k := range keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Origin says where a key's value came from: "FILE:LINE", "TEAMSFLOW_X",
// "--flag", or "default".
func (c *Config) Origin(name string) string {
	if o, ok := c.origin[name]; ok {
		return o
	}
	return "default"
}

// where prefixes an error about a key with its origin, so the message
// names both the key and the place to fix it.
func (c *Config) where(name string) string {
	o := c.Origin(name)
	switch {
	case o == "default":
		return name
	case strings.HasPrefix(o, "--") || strings.HasPrefix(o, "TEAMSFLOW_"):
		return o
	}
	return o + ": " + name
}

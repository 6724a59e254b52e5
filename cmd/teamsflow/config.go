package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/teamsflow/teamsflow/agent/config"
)

// configFlag carries a flag's text to config.Load, which parses it with
// the same rules as the environment and the file; the flag only records
// that it was given.
type configFlag struct {
	text string
	typ  string
}

func (f *configFlag) String() string { return f.text }
func (f *configFlag) Type() string   { return f.typ }

func (f *configFlag) Set(s string) error {
	// A repeated list flag adds to the list, as pflag's own slices do.
	if f.typ == "strings" && f.text != "" {
		s = f.text + "," + s
	}
	f.text = s
	return nil
}

// bindConfigFlags gives `teamsflow run` a flag for every configuration key;
// the root already has --log-level.
func bindConfigFlags(fs *pflag.FlagSet) {
	def := config.Default()
	for _, k := range config.Keys() {
		if k.Flag == "log-level" {
			continue
		}
		f := fs.VarPF(&configFlag{typ: k.Type()}, k.Flag, "", k.Usage)
		f.DefValue = k.Value(&def)
		if k.Type() == "bool" {
			f.NoOptDefVal = "true"
		}
	}
}

// givenFlags collects the configuration flags that were set on the
// command line, keyed by configuration key.
func givenFlags(cmd *cobra.Command) map[string]string {
	out := map[string]string{}
	for _, k := range config.Keys() {
		if f := cmd.Flags().Lookup(k.Flag); f != nil && f.Changed {
			out[k.Name] = f.Value.String()
		}
	}
	return out
}

// loadConfig reads the flags given, the TEAMSFLOW_* environment and the
// file (--config, or the default).
func loadConfig(cmd *cobra.Command, file string) (config.Config, error) {
	return config.Load(config.Sources{File: file, Env: os.Environ(), Flags: givenFlags(cmd)})
}

// configHelp lists the keys for `teamsflow run --help`.
func configHelp() string {
	var b strings.Builder
	b.WriteString("Every flag is also a TEAMSFLOW_* variable and a key of the YAML file (flags win,\n")
	b.WriteString("then the environment, then the file):\n\n")
	for _, k := range config.Keys() {
		b.WriteString("  --" + k.Flag + strings.Repeat(" ", max(1, 26-len(k.Flag))) + k.Env() +
			strings.Repeat(" ", max(1, 36-len(k.Env()))) + k.Name + "\n")
	}
	return b.String()
}

// loadStreamsConfig is the configuration as a client sees it: only
// api.socket may come from a flag.
func loadStreamsConfig(flags map[string]string) (config.Config, error) {
	return config.Load(config.Sources{Env: os.Environ(), Flags: flags, FlagNames: map[string]string{"api.socket": "socket"}})
}

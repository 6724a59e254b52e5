//go:build linux

package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamsflow/teamsflow/agent/api"
)

type streamsOptions struct {
	watch    bool
	json     bool
	allApps  bool
	interval time.Duration
}

func newStreamsCmd() *cobra.Command {
	var o streamsOptions
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "Show which Teams stream uses which port (asks the running agent)",
		Long: `streams asks the running agent (teamsflow run) for its streams and prints one
row per stream: Teams calls first, each under a CALL line, then other Teams
traffic, then (with --all-apps) every other flow. Root and members of the
agent's group (api.group, default "teamsflow") may ask.`,
		Example: `  teamsflow streams
  teamsflow streams --watch
  teamsflow streams --json --all-apps`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runStreams(cmd, o) },
	}
	f := cmd.Flags()
	f.BoolVarP(&o.watch, "watch", "w", false, "redraw every --interval until q or Ctrl-C")
	f.BoolVar(&o.json, "json", false, "print one JSON record per line")
	f.BoolVarP(&o.allApps, "all-apps", "a", false, "show every flow, not only Teams")
	f.DurationVar(&o.interval, "interval", 2*time.Second, "how often --watch redraws")
	f.String("socket", "", "the agent's socket (default: api.socket of the configuration, "+"/run/teamsflow/api.sock)")
	return cmd
}

func runStreams(cmd *cobra.Command, o streamsOptions) error {
	if o.interval <= 0 {
		return fmt.Errorf("invalid --interval %s: must be greater than zero", o.interval)
	}
	socket, err := streamsSocket(cmd)
	if err != nil {
		return err
	}
	client := api.NewClient(socket)
	if o.watch {
		return watchStreams(cmd, client, o)
	}
	recs, err := client.Streams(cmd.Context(), o.allApps)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(cmd.OutOrStdout(), recs)
	}
	return renderStreams(cmd.OutOrStdout(), recs, time.Now(), tableOptions{allApps: o.allApps})
}

// streamsSocket finds the agent's socket the way the agent does: --socket,
// then TEAMSFLOW_API_SOCKET, then the file, then the default.
func streamsSocket(cmd *cobra.Command) (string, error) {
	sources := map[string]string{}
	if f := cmd.Flags().Lookup("socket"); f.Changed {
		sources["api.socket"] = f.Value.String()
	}
	cfg, err := loadStreamsConfig(sources)
	if err != nil {
		return "", err
	}
	return cfg.API.Socket, nil
}

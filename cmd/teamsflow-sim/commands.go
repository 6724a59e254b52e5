package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamsflow/teamsflow/agent/testenv/topo"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/scenario"
	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/sim"
)

func netnsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "netns", Short: "Create or remove the client and cloud namespaces"}
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Create the namespaces (so an observer can attach before a call starts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := topo.Up(g.clientNS, g.cloudNS, nil); err != nil {
				return err
			}
			fmt.Printf("client namespace /run/netns/%s (%s %s), cloud namespace /run/netns/%s\n",
				g.clientNS, topo.ClientIface, topo.ClientIP, g.cloudNS)
			return nil
		},
	}, &cobra.Command{
		Use:   "down",
		Short: "Remove both namespaces",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return topo.Remove(g.clientNS, g.cloudNS)
		},
	})
	return cmd
}

func playCmd(g *globals) *cobra.Command {
	var name, truthPath, pcapPath string
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "play",
		Short: "Play a scenario's calls and write the ground truth",
		Long: "Play a scenario (a built-in name or a YAML file). The namespaces are created\n" +
			"when missing and only those created here are removed afterwards.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			s, err := scenario.Load(name)
			if err != nil {
				return err
			}
			tf, err := sim.Play(cmd.Context(), sim.Options{
				Scenario: s, Duration: duration, TruthPath: truthPath, PcapPath: pcapPath,
				ClientNS: g.clientNS, CloudNS: g.cloudNS, Log: log,
			})
			if err != nil {
				return err
			}
			log.Info().Str("scenario", s.Name).Int("calls", len(tf.Calls)).Int("streams", len(tf.Streams)).
				Str("truth", truthPath).Msg("done")
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "scenario", "desktop-qos", "built-in scenario name or YAML file")
	cmd.Flags().DurationVar(&duration, "duration", 0, "override every call's duration (e.g. 30s)")
	cmd.Flags().StringVar(&truthPath, "truth", "", "write the ground truth JSON here")
	cmd.Flags().StringVar(&pcapPath, "pcap", "", "capture the client veth to this pcap file")
	return cmd
}

func scenariosCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := scenario.Builtins()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			for _, b := range list {
				fmt.Fprintf(w, "%s\t%s\n", b.Name, b.Description)
			}
			return w.Flush()
		},
	}
}

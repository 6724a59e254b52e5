// Command teamsflow-sim plays simulated Microsoft Teams calls (and a Zoom
// negative) between network namespaces it creates, from processes that
// look like real Teams clients, and writes the ground truth of every
// stream so that teamsflow's output can be checked against it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/teamsflow/teamsflow/cmd/teamsflow-sim/internal/launch"
)

func main() {
	// A simulated client process carries the real client's argv, so its
	// role comes from the environment, before any flag parsing.
	if role := os.Getenv(launch.EnvRole); role != "" {
		os.Exit(launch.RunRole(role))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := rootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "teamsflow-sim:", err)
		os.Exit(1)
	}
}

type globals struct {
	clientNS, cloudNS string
	logLevel          string
}

func rootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "teamsflow-sim",
		Short:         "Play simulated Teams calls in network namespaces and write their ground truth",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.clientNS, "client-netns", "tfsim-client", "name of the client network namespace")
	root.PersistentFlags().StringVar(&g.cloudNS, "cloud-netns", "tfsim-cloud", "name of the cloud network namespace")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level (debug, info, warn, error)")
	root.AddCommand(netnsCmd(g), playCmd(g), scenariosCmd())
	return root
}

// logger is zerolog to stderr: console format on a terminal, JSON lines
// otherwise.
func (g *globals) logger() (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(g.logLevel)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("parsing --log-level: %w", err)
	}
	var log zerolog.Logger
	if isatty.IsTerminal(os.Stderr.Fd()) {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr})
	} else {
		log = zerolog.New(os.Stderr)
	}
	return log.Level(lvl).With().Timestamp().Logger(), nil
}

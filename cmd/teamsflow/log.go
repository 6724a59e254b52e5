package main

import (
	"fmt"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// newLogger logs to stderr: readable on a terminal, JSON otherwise.
func newLogger(cmd *cobra.Command) (zerolog.Logger, error) {
	name, _ := cmd.Flags().GetString("log-level")
	level, err := zerolog.ParseLevel(name)
	if err != nil || name == "" {
		return zerolog.Nop(), fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", name)
	}
	var w = zerolog.New(os.Stderr)
	if isatty.IsTerminal(os.Stderr.Fd()) {
		w = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05"})
	}
	return w.Level(level).With().Timestamp().Logger(), nil
}

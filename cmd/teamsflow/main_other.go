//go:build !linux

package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// liveCommands, off Linux, only say so: the agent's kernel programs are
// Linux eBPF, while analyze reads capture files anywhere.
func liveCommands() []*cobra.Command {
	var cmds []*cobra.Command
	for _, name := range []string{"run", "streams", "capture"} {
		cmds = append(cmds, &cobra.Command{
			Use:                name,
			Short:              "Linux only: " + name + " watches the kernel with eBPF",
			DisableFlagParsing: true,
			RunE: func(*cobra.Command, []string) error {
				return fmt.Errorf("%s needs Linux (eBPF); on %s, teamsflow analyze reads a capture file", name, runtime.GOOS)
			},
		})
	}
	return cmds
}

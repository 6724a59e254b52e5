package main

import "github.com/spf13/cobra"

// liveCommands watch this host's kernel: they need Linux and its eBPF.
func liveCommands() []*cobra.Command {
	return []*cobra.Command{newRunCmd(), newStreamsCmd(), newCaptureCmd()}
}

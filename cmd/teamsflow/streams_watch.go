//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/api"
	"github.com/teamsflow/teamsflow/agent/record"
)

const (
	clearHome  = "\x1b[H\x1b[2J"
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
)

// watchStreams redraws the table in place every interval, like top, until
// q is pressed or the context ends (Ctrl-C). With --json it prints the
// records every interval instead.
func watchStreams(cmd *cobra.Command, client *api.Client, o streamsOptions) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	out := cmd.OutOrStdout()
	// The first answer decides: no agent or no permission is an error,
	// later failures are shown in place while the agent restarts.
	recs, err := client.Streams(ctx, o.allApps)
	if err != nil {
		return err
	}
	if !o.json {
		restore := quitOnQ(cancel)
		defer restore()
		fmt.Fprint(out, hideCursor)
		defer fmt.Fprint(out, showCursor)
	}
	t := time.NewTicker(o.interval)
	defer t.Stop()
	for {
		if err := drawFrame(out, recs, err, o); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		recs, err = client.Streams(ctx, o.allApps)
		if ctx.Err() != nil {
			return nil
		}
	}
}

func drawFrame(out io.Writer, recs []record.Record, fetchErr error, o streamsOptions) error {
	if o.json {
		if fetchErr != nil {
			fmt.Fprintln(os.Stderr, "teamsflow:", fetchErr)
			return nil
		}
		return printJSON(out, recs)
	}
	var b bytes.Buffer
	b.WriteString(clearHome)
	width := terminalWidth(out)
	fmt.Fprintf(&b, "teamsflow streams: every %s, q to quit  %s\n\n", o.interval, time.Now().Format("15:04:05"))
	if fetchErr != nil {
		fmt.Fprintf(&b, "%s\n", fetchErr)
	} else if err := renderStreams(&b, recs, time.Now(), tableOptions{allApps: o.allApps, width: width}); err != nil {
		return err
	}
	_, err := out.Write(b.Bytes())
	return err
}

func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

// quitOnQ puts the terminal in cbreak mode (keys arrive one at a time,
// not echoed; Ctrl-C still sends SIGINT) and calls quit when q is pressed.
// It returns the function that restores the terminal.
func quitOnQ(quit func()) (restore func()) {
	fd := int(os.Stdin.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {} // not a terminal: Ctrl-C or a signal ends the watch
	}
	raw := *old
	raw.Lflag &^= unix.ICANON | unix.ECHO
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return func() {}
	}
	go func() {
		buf := make([]byte, 1)
		for {
			n, err := os.Stdin.Read(buf)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return
			}
			if n == 1 && (buf[0] == 'q' || buf[0] == 'Q') {
				quit()
				return
			}
		}
	}()
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}

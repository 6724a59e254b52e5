package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/teamsflow/teamsflow/agent/analysis"
	"github.com/teamsflow/teamsflow/agent/capfile"
	"github.com/teamsflow/teamsflow/agent/names"
	"github.com/teamsflow/teamsflow/agent/observe"
)

type analyzeOptions struct {
	json      bool
	allApps   bool
	namesFile string
}

func newAnalyzeCmd() *cobra.Command {
	var o analyzeOptions
	cmd := &cobra.Command{
		Use:   "analyze FILE",
		Short: "Find the Teams streams in a capture file (pcap or pcapng)",
		Long: `analyze reads a capture file and prints the same stream table as
'teamsflow streams', from the packets alone: which Teams stream used which
port, its label and why, its server name, loss and jitter. The packets go
through the same parser and analysis as live traffic. Owners (processes)
are not in capture files.`,
		Example: `  teamsflow analyze call.pcapng
  teamsflow analyze --json --all-apps call.pcap | jq .`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAnalyze(cmd, args[0], o) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print one JSON record per line instead of a table")
	f.BoolVar(&o.allApps, "all-apps", false, "list every flow, not only Teams streams")
	f.StringVar(&o.namesFile, "names-file", "", "Teams ranges and name patterns to use instead of the built-in ones (YAML)")
	return cmd
}

func runAnalyze(cmd *cobra.Command, path string, o analyzeOptions) error {
	cfg := analysis.Config{Linger: 1 << 62} // a file's streams all stay listed, even across gaps of months
	if o.namesFile != "" {
		data, err := names.LoadData(o.namesFile)
		if err != nil {
			return err
		}
		cfg.Names = data
	}
	p := analysis.New(cfg)
	var end time.Time
	bar := newProgressBar(cmd.ErrOrStderr())
	feedErr := capfile.Feed(path, func(s observe.Snapshot) {
		p.Observe(s)
		end = s.Time
	}, bar.update)
	bar.done()
	recs := p.Records(o.allApps)
	var err error
	if o.json {
		err = printJSON(cmd.OutOrStdout(), recs)
	} else {
		err = renderStreams(cmd.OutOrStdout(), recs, end, tableOptions{allApps: o.allApps})
	}
	if feedErr != nil {
		return feedErr
	}
	return err
}

// progressBar draws a one-line bar on a terminal for files that take a
// while; elsewhere (pipes, CI logs) it stays silent.
type progressBar struct {
	w       io.Writer
	on      bool
	start   time.Time
	drawn   bool
	lastPct int
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, on: ok && isatty.IsTerminal(f.Fd()), start: time.Now(), lastPct: -1}
}

func (b *progressBar) update(done, total int64) {
	if !b.on || total <= 0 || time.Since(b.start) < 300*time.Millisecond {
		return
	}
	pct := int(100 * done / total)
	if pct == b.lastPct {
		return
	}
	const width = 30
	fill := width * pct / 100
	bar := strings.Repeat("#", fill) + strings.Repeat(" ", width-fill)
	fmt.Fprintf(b.w, "\r[%s] %3d%%  %.1f of %.1f MB", bar, pct, float64(done)/1e6, float64(total)/1e6)
	b.drawn, b.lastPct = true, pct
}

// done clears the bar so that the table starts on a clean line.
func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

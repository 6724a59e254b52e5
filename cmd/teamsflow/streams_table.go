package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/teamsflow/teamsflow/agent/calls"
	"github.com/teamsflow/teamsflow/agent/record"
)

type tableOptions struct {
	allApps bool
	width   int // cut lines to this many columns; 0: no limit
}

var streamColumns = []string{"PROCESS", "PID", "APP", "LABEL", "PROTO", "LPORT", "PEER", "DSCP", "SEND", "RECV", "LOSS", "JITTER", "RTT", "AGE", "HEALTH"}

// group is a titled run of rows: one call, other Teams traffic, or other
// apps.
type group struct {
	title string
	recs  []record.Record
}

// renderStreams prints the stream table: Teams calls first (a CALL line
// each), then Teams streams outside calls, then other apps.
func renderStreams(w io.Writer, recs []record.Record, now time.Time, o tableOptions) error {
	groups := groupStreams(recs)
	if len(recs) == 0 {
		msg := "no Teams streams (yet); 'teamsflow streams --all-apps' shows every flow"
		if o.allApps {
			msg = "no streams (yet)"
		}
		_, err := fmt.Fprintln(w, msg)
		return err
	}
	rows := [][]string{streamColumns}
	for _, g := range groups {
		for _, r := range g.recs {
			rows = append(rows, streamRow(r, now))
		}
	}
	widths := columnWidths(rows)
	var b strings.Builder
	writeLine(&b, "  "+alignRow(rows[0], widths), o.width)
	i := 1
	for _, g := range groups {
		writeLine(&b, g.title, o.width)
		for range g.recs {
			writeLine(&b, "  "+alignRow(rows[i], widths), o.width)
			i++
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func groupStreams(recs []record.Record) []group {
	calls := map[string]*group{}
	var callOrder []*group
	var teams, others group
	for _, r := range recs {
		switch {
		case r.App == "teams" && r.CallID != "":
			g := calls[r.CallID]
			if g == nil {
				g = &group{}
				calls[r.CallID] = g
				callOrder = append(callOrder, g)
			}
			g.recs = append(g.recs, r)
		case r.App == "teams":
			teams.recs = append(teams.recs, r)
		default:
			others.recs = append(others.recs, r)
		}
	}
	var out []group
	for _, g := range callOrder {
		sortByLabel(g.recs)
		g.title = callTitle(g.recs)
		out = append(out, *g)
	}
	sort.SliceStable(out, func(i, j int) bool { return firstSeen(out[i].recs).Before(firstSeen(out[j].recs)) })
	if len(teams.recs) > 0 {
		sortByLabel(teams.recs)
		teams.title = "TEAMS, outside calls"
		out = append(out, teams)
	}
	if len(others.recs) > 0 {
		sort.SliceStable(others.recs, func(i, j int) bool {
			return others.recs[i].RateSentBps+others.recs[i].RateRecvBps > others.recs[j].RateSentBps+others.recs[j].RateRecvBps
		})
		others.title = "OTHER APPS"
		out = append(out, others)
	}
	return out
}

func sortByLabel(recs []record.Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if ra, rb := record.LabelRank(a.Label), record.LabelRank(b.Label); ra != rb {
			return ra < rb // control first, then media
		}
		if a.LocalPort != b.LocalPort {
			return a.LocalPort < b.LocalPort
		}
		return a.PeerPort < b.PeerPort
	})
}

func firstSeen(recs []record.Record) time.Time {
	t := recs[0].FirstSeen
	for _, r := range recs[1:] {
		if r.FirstSeen.Before(t) {
			t = r.FirstSeen
		}
	}
	return t
}

// callTitle is "CALL id: comm pid, N streams, since 15:04:05, relayed".
func callTitle(recs []record.Record) string {
	r := recs[0]
	parts := []string{fmt.Sprintf("%s %d", dash(r.Comm), r.PID), fmt.Sprintf("%d streams", len(recs)),
		"since " + firstSeen(recs).Local().Format("15:04:05")}
	for _, s := range recs {
		if s.Relayed {
			parts = append(parts, "relayed")
			break
		}
	}
	if v, worst := calls.Health(recs); worst != nil {
		parts = append(parts, callVerdict(v.Quality, worst, recs))
	}
	return fmt.Sprintf("CALL %s: %s", r.CallID, strings.Join(parts, ", "))
}

// callVerdict is the call line's verdict: "good", "quality unknown", or
// "poor" with its worst stream and that stream's reasons, "poor: audio
// received ssrc 0x7ea1f00e: loss 13.6% > 10% (+1 more poor)".
func callVerdict(quality string, worst *calls.WorstStream, recs []record.Record) string {
	if quality != "poor" {
		return verdictText(quality, nil, "good", "quality unknown")
	}
	stream := worst.Label + " " + worst.Covers
	if worst.SSRC != nil {
		stream += fmt.Sprintf(" ssrc 0x%08x", *worst.SSRC)
	}
	text := "poor: " + stream + ": " + strings.Join(worst.Reasons, "; ")
	poor := 0
	for _, r := range recs {
		if r.Quality == "poor" {
			poor++
		}
	}
	if poor > 1 {
		text += fmt.Sprintf(" (+%d more poor)", poor-1)
	}
	return text
}

// verdictText is a verdict in a few words: good as "ok" in a stream's
// HEALTH cell and "good" on a call line, "poor: loss 12.0% > 10%" (every
// reason, joined), unknown or none as "-" in a cell and "quality unknown"
// on a call line.
func verdictText(quality string, reasons []string, good, unknown string) string {
	switch quality {
	case "good":
		return good
	case "poor":
		return "poor: " + strings.Join(reasons, "; ")
	}
	return unknown
}

func rttText(ms *float64) string {
	if ms == nil {
		return "-"
	}
	if *ms < 10 {
		return fmt.Sprintf("%.1f ms", *ms)
	}
	return fmt.Sprintf("%.0f ms", *ms)
}

func streamRow(r record.Record, now time.Time) []string {
	proto := r.Transport
	if r.Family == "ipv6" {
		proto += "6"
	}
	label := dash(r.Label)
	if r.RTPRole != "" && r.RTPRole != "media" {
		label += "/" + r.RTPRole // a repair stream: its media's label
	}
	if r.Relayed {
		label += "+relay"
	}
	peer := hostPort(r.PeerAddr, r.PeerPort)
	if r.ServerName != "" {
		peer += " " + r.ServerName
	}
	pid := "-"
	if r.PID != 0 {
		pid = fmt.Sprint(r.PID)
	}
	return []string{dash(r.Comm), pid, dash(r.App), label, proto, fmt.Sprint(r.LocalPort), peer,
		dscpName(r.DSCPSent), humanRate(r.RateSentBps), humanRate(r.RateRecvBps),
		lossText(r.RTPLossPct), jitterText(r.RTPJitterMs), rttText(r.RTTMs), age(now.Sub(r.FirstSeen)), healthText(r)}
}

// healthText is the HEALTH cell: the verdict, and a path warning (VPN)
// whatever the verdict says.
func healthText(r record.Record) string {
	text := verdictText(r.Quality, r.QualityReasons, "ok", "-")
	if r.PathWarning != "" && r.InterfaceKind != "" {
		if text == "-" {
			return "via " + r.InterfaceKind
		}
		return text + ", via " + r.InterfaceKind
	}
	return text
}

// dscpName spells the standard code points (RFC 2474, 2597, 3246, 5865,
// 8622) by name, others as numbers.
func dscpName(d uint8) string {
	switch d {
	case 0:
		return "BE"
	case 1:
		return "LE"
	case 46:
		return "EF"
	case 44:
		return "VA"
	}
	if d%8 == 0 && d <= 56 {
		return fmt.Sprintf("CS%d", d/8)
	}
	if class, drop := d/8, (d%8)/2; d%2 == 0 && class >= 1 && class <= 4 && drop >= 1 && drop <= 3 && d%8 != 0 {
		return fmt.Sprintf("AF%d%d", class, drop)
	}
	return fmt.Sprint(d)
}

// humanRate prints bits per second: "0", "800 bit/s", "64.0 kbit/s", "1.20 Mbit/s".
func humanRate(bps float64) string {
	switch {
	case bps < 0.5:
		return "0"
	case bps < 1000:
		return fmt.Sprintf("%.0f bit/s", bps)
	case bps < 1e6:
		return fmt.Sprintf("%.1f kbit/s", bps/1e3)
	case bps < 1e9:
		return fmt.Sprintf("%.2f Mbit/s", bps/1e6)
	}
	return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
}

func lossText(pct *float64) string {
	if pct == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *pct)
}

func jitterText(ms *float64) string {
	if ms == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", *ms)
}

// age prints "42s", "3m05s", "2h07m".
func age(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s < 0:
		return "0s"
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}

func columnWidths(rows [][]string) []int {
	w := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			w[i] = max(w[i], utf8.RuneCountInString(cell))
		}
	}
	return w
}

func alignRow(row []string, widths []int) string {
	var b strings.Builder
	for i, cell := range row {
		b.WriteString(cell)
		if i < len(row)-1 {
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
		}
	}
	return b.String()
}

// writeLine writes a line cut to width, so --watch never wraps.
func writeLine(b *strings.Builder, line string, width int) {
	if width > 0 && utf8.RuneCountInString(line) > width {
		line = string([]rune(line)[:width])
	}
	b.WriteString(line)
	b.WriteByte('\n')
}

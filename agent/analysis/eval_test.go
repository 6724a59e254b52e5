package analysis_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/teamsflow/teamsflow/agent/record"
)

// expectation is one line of testdata/captures-expected.tsv.
type expectation struct {
	file, transport, local, peer, kind, labels, app, note string
}

func loadExpectations(t *testing.T) []expectation {
	t.Helper()
	f, err := os.Open("testdata/captures-expected.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []expectation
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 8 {
			t.Fatalf("captures-expected.tsv:%d: %d columns, want 8", n, len(c))
		}
		out = append(out, expectation{c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]})
	}
	return out
}

func (e expectation) matches(r *record.Record) bool {
	port := func(want string, got uint16) bool { return want == "*" || want == strconv.Itoa(int(got)) }
	peerOK := e.peer == "*" || port(e.peer, r.PeerPort)
	if prefix, p, ok := strings.Cut(e.peer, ":"); ok {
		peerOK = strings.HasPrefix(r.PeerAddr, prefix) && port(p, r.PeerPort)
	}
	kindOK := e.kind == "any" || (e.kind == "rtp") == (r.SSRC != nil)
	return (e.transport == "*" || e.transport == r.Transport) && port(e.local, r.LocalPort) && peerOK && kindOK
}

func (e expectation) right(r *record.Record) bool {
	labelOK := e.labels == "*" || slices.Contains(strings.Split(e.labels, "|"), r.Label)
	appOK := e.app == "*" || (e.app == "teams") == (r.App == "teams")
	return labelOK && appOK
}

func describe(r *record.Record) string {
	s := fmt.Sprintf("%s %d -> %s:%d", r.Transport, r.LocalPort, r.PeerAddr, r.PeerPort)
	if r.SSRC != nil {
		s += fmt.Sprintf(" ssrc %d pt %d", *r.SSRC, *r.RTPPayloadType)
	}
	return s
}

// TestEvalCaptures holds every public capture's records against the notes
// in its README (testdata/captures-expected.tsv). With TEAMSFLOW_EVAL set
// (make eval) it prints each scored record, label against expected, and
// the tally.
func TestEvalCaptures(t *testing.T) {
	dir := capturesDir(t)
	out := io.Discard
	if os.Getenv("TEAMSFLOW_EVAL") != "" {
		out = os.Stdout
	}
	fmt.Fprintf(out, "captures in %s\n", dir)
	var right, total, rtpRight, rtpTotal int
	exps := loadExpectations(t)
	for i, e := range exps {
		if i == 0 || exps[i-1].file != e.file {
			fmt.Fprintf(out, "=== %s\n", e.file)
		}
		recs := analyze(t, e.file)
		fmt.Fprintf(out, "  want %s %s (app %s): %s\n", e.kind, e.labels, e.app, e.note)
		matched := 0
		for i := range recs {
			r := &recs[i]
			if !e.matches(r) {
				continue
			}
			matched++
			ok := e.right(r)
			verdict := "ok"
			if !ok {
				verdict = "WRONG"
				t.Errorf("%s: %s: %s (%s) app %q, want %s app %s", e.file, describe(r), r.Label, r.LabelReason, r.App, e.labels, e.app)
			}
			if e.labels != "*" {
				fmt.Fprintf(out, "    %-58s %-11s %-10s app %-5s %s\n", describe(r), r.Label, "("+r.LabelReason+")", r.App, verdict)
			}
			total++
			if ok {
				right++
			}
			if r.SSRC != nil && e.kind == "rtp" {
				rtpTotal++
				if ok {
					rtpRight++
				}
			}
		}
		if matched == 0 {
			total++
			if e.kind == "rtp" {
				rtpTotal++
			}
			fmt.Fprintf(out, "    no record: WRONG\n")
			t.Errorf("%s: no record for %+v", e.file, e)
		} else if e.labels == "*" {
			fmt.Fprintf(out, "    %d records\n", matched)
		}
	}
	fmt.Fprintf(out, "tally: %d/%d records as the notes expect; RTP streams %d/%d\n", right, total, rtpRight, rtpTotal)
}

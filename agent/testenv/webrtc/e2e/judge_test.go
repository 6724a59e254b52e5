package e2e

import (
	"fmt"
	"strings"
	"time"

	"github.com/teamsflow/teamsflow/agent/record"
	"github.com/teamsflow/teamsflow/agent/testenv/otelcol"
	"github.com/teamsflow/teamsflow/agent/testenv/webrtc"
)

// change is an SSRC's label from one read on.
type change struct {
	after  time.Duration // since the call was set up
	label  string
	reason string
}

// verdict is one SSRC of the truth held against what teamsflow said of it:
// in every read, in the final read after the call and in its last span.
type verdict struct {
	s          webrtc.Stream
	changes    []change
	firstRight int  // index into changes of the first right label, -1 if none
	wrongAfter bool // a read after the first right one said otherwise
	final      *record.Record
	span       string
	offline    *record.Record // `teamsflow analyze` of the client veth's pcap
}

// right is the requirement for an SSRC: labelled as the client
// says in the final records and the spans, and never otherwise once right.
func (v verdict) right() bool {
	return v.final != nil && v.final.Label == v.s.Label && v.span == v.s.Label && v.firstRight >= 0 && !v.wrongAfter
}

// rightOffline: `teamsflow analyze` of the call's pcap labels the SSRC as
// the client says.
func (v verdict) rightOffline() bool { return v.offline != nil && v.offline.Label == v.s.Label }

// roleRight: the final record calls the SSRC media or a repair stream as
// the client does, and a repair stream names the SSRC it protects. A
// record without rtp_role (an agent that does not tell) is not right.
func (v verdict) roleRight() bool {
	r := v.final
	if r == nil || r.RTPRole != v.s.Role {
		return false
	}
	return v.s.Role != webrtc.RoleRTX || (r.RTPProtects != nil && *r.RTPProtects == v.s.Protects)
}

// findSSRC is the record of an SSRC among a read's records.
func findSSRC(recs []record.Record, ssrc uint32) *record.Record {
	for i, r := range recs {
		if r.SSRC != nil && *r.SSRC == ssrc && r.PeerAddr == webrtc.MediaIP {
			return &recs[i]
		}
	}
	return nil
}

// lastSpanLabel is the label of the SSRC's last span (by end time).
func lastSpanLabel(spans []otelcol.Span, ssrc uint32) string {
	var best *otelcol.Span
	for i, s := range spans {
		if s.Attrs["teamsflow.rtp.ssrc"] == int64(ssrc) && (best == nil || s.End.After(best.End)) {
			best = &spans[i]
		}
	}
	if best == nil {
		return ""
	}
	label, _ := best.Attrs["teamsflow.stream.label"].(string)
	return label
}

// judge holds every SSRC of the truth that was on the wire against the
// agent's reads, its final records and the spans.
func judge(tr *webrtc.Truth, reads []read, final, offline []record.Record, spans []otelcol.Span) []verdict {
	var out []verdict
	for _, s := range tr.Streams {
		v := verdict{s: s, firstRight: -1, final: findSSRC(final, s.SSRC), span: lastSpanLabel(spans, s.SSRC),
			offline: findSSRC(offline, s.SSRC)}
		for _, rd := range reads {
			r := findSSRC(rd.recs, s.SSRC)
			if r == nil {
				continue
			}
			if v.firstRight >= 0 && r.Label != s.Label {
				v.wrongAfter = true
			}
			if n := len(v.changes); n == 0 || v.changes[n-1].label != r.Label {
				v.changes = append(v.changes, change{after: rd.at.Sub(tr.Started), label: r.Label, reason: r.LabelReason})
				if r.Label == s.Label && v.firstRight < 0 {
					v.firstRight = len(v.changes) - 1
				}
			}
		}
		if !onTheWire(s, v.final) {
			continue
		}
		out = append(out, v)
	}
	return out
}

// minPackets is the least an SSRC must carry to be judged: a stream of a
// handful of packets (one keyframe on a mid with no track yet) has no rate
// or shape to label by.
const minPackets = 10

// onTheWire tells whether an SSRC carried a stream: by the client's count,
// or by teamsflow's for an RTX stream that carried only probing padding
// (which the client does not count as retransmissions).
func onTheWire(s webrtc.Stream, final *record.Record) bool {
	if s.Packets >= minPackets {
		return true
	}
	return s.Role == webrtc.RoleRTX && final != nil && final.PacketsSent+final.PacketsRecv >= minPackets
}

// unknownSSRCs lists SSRCs teamsflow saw towards the peer that the client's
// statistics do not name.
func unknownSSRCs(tr *webrtc.Truth, final []record.Record) []string {
	var out []string
	for _, r := range final {
		if r.SSRC == nil || r.PeerAddr != webrtc.MediaIP {
			continue
		}
		if _, ok := tr.Find(*r.SSRC); !ok {
			out = append(out, fmt.Sprintf("%#08x %s (%s) %d/%d packets", *r.SSRC, r.Label, r.LabelReason, r.PacketsSent, r.PacketsRecv))
		}
	}
	return out
}

// accuracy counts the SSRCs of one direction that ok calls right.
func accuracy(vs []verdict, dir string, ok func(verdict) bool) (right, total int) {
	for _, v := range vs {
		if v.s.Direction != dir {
			continue
		}
		total++
		if ok(v) {
			right++
		}
	}
	return right, total
}

func (v verdict) String() string {
	var parts []string
	for _, c := range v.changes {
		parts = append(parts, fmt.Sprintf("%s (%s) at %+.1fs", c.label, c.reason, c.after.Seconds()))
	}
	reads := strings.Join(parts, ", then ")
	if reads == "" {
		reads = "never listed"
	}
	final := "missing"
	if r := v.final; r != nil {
		final = fmt.Sprintf("%s (role %q, %d changes after settling)", r.Label, r.RTPRole, r.LabelChanges)
	}
	mark := "RIGHT"
	if !v.right() {
		mark = "WRONG"
	}
	offline := "missing"
	if v.offline != nil {
		offline = v.offline.Label + " (" + v.offline.LabelReason + ")"
	}
	return fmt.Sprintf("%s %s %-11s %-5s ssrc %#08x %-10s packets %5d: reads %s; final %s; span %q; analyze %s",
		mark, v.s.Direction, v.s.Label, v.s.Role, v.s.SSRC, v.s.Codec, v.s.Packets, reads, final, v.span, offline)
}

// health puts the client's receive-side figures next to teamsflow's.
func (v verdict) health() string {
	tf := "teamsflow -"
	if r := v.final; r != nil {
		tf = fmt.Sprintf("teamsflow jitter %s lost %s loss %s", optF(r.RTPJitterMs, "%.1f ms"), optI(r.RTPLost), optF(r.RTPLossPct, "%.1f%%"))
	}
	src := "chromium inbound-rtp"
	if v.s.Direction == webrtc.Sent {
		src = "peer's receiver reports"
	}
	return fmt.Sprintf("health %s %-11s %-5s ssrc %#08x: %s jitter %.1f ms lost %d rtt %.1f ms | %s",
		v.s.Direction, v.s.Label, v.s.Role, v.s.SSRC, src, v.s.JitterMs, v.s.Lost, v.s.RTTMs, tf)
}

func optF(p *float64, f string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(f, *p)
}

func optI(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

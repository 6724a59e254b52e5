package kernels

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// smokeRecord is the part of a `capture --json` record the checks read.
type smokeRecord struct {
	Transport    string  `json:"transport"`
	LocalPort    uint16  `json:"local_port"`
	PeerPort     uint16  `json:"peer_port"`
	PID          uint32  `json:"pid"`
	Comm         string  `json:"comm"`
	OwnerSource  string  `json:"owner_source"`
	PacketsSent  uint64  `json:"packets_sent"`
	PacketsRecv  uint64  `json:"packets_recv"`
	SocketCookie uint64  `json:"socket_cookie"`
	Label        string  `json:"label"`
	LabelReason  string  `json:"label_reason"`
	SSRC         *uint32 `json:"ssrc"`
}

// smokeLog is the part of a log line the checks read.
type smokeLog struct {
	Level     string `json:"level"`
	Message   string `json:"message"`
	Variants  string `json:"variants"`
	Interface string `json:"interface"`
	Mode      string `json:"mode"`
	Error     string `json:"error"`
}

// The smoke traffic (smoke/main.go).
const (
	tcpPort               = 7001
	udpFrom, udpTo        = 7102, 7002
	udpPackets            = 20
	rtpFrom, rtpTo        = 7103, 7003
	rtpSSRC        uint32 = 0x5eed0001
)

// Result is what one boot showed: the lines for the report, and every
// check that failed.
type Result struct {
	Kernel   string
	Report   []string
	Failures []string
}

func (r *Result) fail(format string, a ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, a...))
}

// Err is nil when every check passed.
func (r Result) Err() error {
	if len(r.Failures) == 0 {
		return nil
	}
	return errors.New(strings.Join(r.Failures, "; "))
}

// checkSmoke reads a guest's console output (lines "TFK ...") and checks
// that the agent ran, each smoke flow has its owner, and the RTP stream
// was labelled audio.
func checkSmoke(console string) Result {
	var r Result
	var records []smokeRecord
	exits := map[string]string{}
	for _, line := range strings.Split(console, "\n") {
		// The console may put terminal escapes before a line.
		i := strings.Index(line, "TFK ")
		if i < 0 {
			continue
		}
		rest := strings.TrimSpace(line[i+len("TFK "):])
		kind, arg, _ := strings.Cut(rest, " ")
		switch kind {
		case "kernel":
			r.Kernel = arg
		case "tf-tcp", "tf-udp", "tf-rtp", "capture-exit":
			exits[kind] = arg
		case "log":
			r.checkLog(arg)
		case "record":
			var rec smokeRecord
			if err := json.Unmarshal([]byte(arg), &rec); err != nil {
				r.fail("bad record %q: %v", arg, err)
				continue
			}
			records = append(records, rec)
		case "insmod":
			r.fail("insmod %s", arg)
		}
	}
	if r.Kernel == "" {
		r.fail("the guest never ran its init (no kernel line)")
	}
	for _, k := range []string{"tf-tcp", "tf-udp", "tf-rtp", "capture-exit"} {
		if exits[k] != "0" {
			r.fail("%s exited %q, want 0", k, exits[k])
		}
	}
	r.checkRecords(records)
	return r
}

// checkLog reports the variants loaded and the attach mode, and fails on
// any error logged.
func (r *Result) checkLog(line string) {
	var l smokeLog
	if json.Unmarshal([]byte(line), &l) != nil {
		r.Report = append(r.Report, "log: "+line) // a plain line, such as a one-line load error
		if strings.HasPrefix(line, "Error") || strings.Contains(line, "teamsflow:") {
			r.fail("%s", line)
		}
		return
	}
	switch {
	case l.Level == "error":
		r.fail("logged error: %s %s", l.Message, l.Error)
	case l.Variants != "":
		r.Report = append(r.Report, "variants: "+l.Variants)
	case l.Message == "attached":
		r.Report = append(r.Report, fmt.Sprintf("attached: %s with %s", l.Interface, l.Mode))
	}
}

func (r *Result) checkRecords(recs []smokeRecord) {
	find := func(what string, ok func(smokeRecord) bool) {
		for _, rec := range recs {
			if ok(rec) {
				// An RTP source's record has an SSRC, its flow's the cookie.
				id := fmt.Sprintf("cookie %d", rec.SocketCookie)
				if rec.SSRC != nil {
					id = fmt.Sprintf("ssrc %#08x", *rec.SSRC)
				}
				r.Report = append(r.Report, fmt.Sprintf("%s: %s :%d -> :%d owner %s (pid %d, %s, %s) sent %dp recv %dp label %s (%s)",
					what, rec.Transport, rec.LocalPort, rec.PeerPort, rec.Comm, rec.PID, rec.OwnerSource, id,
					rec.PacketsSent, rec.PacketsRecv, rec.Label, rec.LabelReason))
				return
			}
		}
		r.fail("no record of %s", what)
	}
	owned := func(rec smokeRecord, comm, transport string) bool {
		return rec.Comm == comm && rec.PID != 0 && rec.OwnerSource == "socket" && rec.Transport == transport && rec.SSRC == nil
	}
	find("tcp client", func(x smokeRecord) bool {
		return owned(x, "tf-tcp", "tcp") && x.PeerPort == tcpPort && x.PacketsSent > 0 && x.PacketsRecv > 0 && x.SocketCookie != 0
	})
	find("tcp server", func(x smokeRecord) bool {
		return owned(x, "tf-tcp", "tcp") && x.LocalPort == tcpPort && x.PacketsSent > 0 && x.PacketsRecv > 0 && x.SocketCookie != 0
	})
	find("udp sender", func(x smokeRecord) bool {
		return owned(x, "tf-udp", "udp") && x.LocalPort == udpFrom && x.PacketsSent == udpPackets && x.SocketCookie != 0
	})
	find("udp receiver", func(x smokeRecord) bool {
		return owned(x, "tf-udp", "udp") && x.LocalPort == udpTo && x.PacketsRecv == udpPackets && x.SocketCookie != 0
	})
	find("rtp source", func(x smokeRecord) bool {
		return x.Comm == "tf-rtp" && x.SSRC != nil && *x.SSRC == rtpSSRC && x.LocalPort == rtpFrom && x.Label == "audio"
	})
}

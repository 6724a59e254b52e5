package analysis

import (
	"errors"

	"github.com/teamsflow/teamsflow/agent/dissect"
	"github.com/teamsflow/teamsflow/agent/observe"
)

// payloads learns names from DNS answers and server names from the TLS
// ClientHellos of TCP flows, joining a hello's segments by sequence number.
func (p *Pipeline) payloads(ps []observe.Payload) {
	for i := range ps {
		pl := &ps[i]
		switch pl.Kind {
		case observe.PayloadDNS:
			r, err := dissect.ParseDNSResponse(pl.Data)
			if err != nil {
				p.counters.DNSErrors++
				p.log.Debug().Err(err).Msg("DNS sample")
				continue
			}
			p.names.LearnDNS(pl.Time, pl.Flow.Netns, r)
		case observe.PayloadClientHello:
			p.clientHello(pl)
		case observe.PayloadSTUN:
			p.stunSample(pl)
		}
	}
}

// helloSegmentsBeforeGivingUp bounds the wait for a hello's first segment
// when the segments seen so far do not start with one: a hello of a few
// kilobytes spans at most a handful of segments.
const helloSegmentsBeforeGivingUp = 6

// helloBuffer joins the segments of one connection's ClientHello.
type helloBuffer struct {
	*dissect.Prefix
	segments int
}

func (p *Pipeline) clientHello(pl *observe.Payload) {
	if _, done := p.snis[pl.Flow]; done {
		return // retransmissions and later segments of a named connection
	}
	buf := p.hellos[pl.Flow]
	if buf == nil {
		if len(p.hellos) >= p.cfg.MaxHelloBuffers || len(p.snis) >= p.cfg.MaxStreams {
			p.counters.HelloBuffersDropped++
			return
		}
		buf = &helloBuffer{Prefix: dissect.NewPrefix(p.cfg.MaxHelloBytes)}
		p.hellos[pl.Flow] = buf
	}
	buf.Add(pl.TCPSeq, pl.Data)
	buf.segments++
	name, err := dissect.ClientHelloSNI(buf.Bytes())
	waiting := errors.Is(err, dissect.ErrTruncated) ||
		(errors.Is(err, dissect.ErrNotClientHello) && buf.segments < helloSegmentsBeforeGivingUp)
	if err != nil && waiting && !buf.Full() {
		return // wait for more segments: the first may come later
	}
	delete(p.hellos, pl.Flow)
	if err != nil {
		p.counters.HelloErrors++
		p.log.Debug().Err(err).Stringer("peer", pl.Flow.Peer).Msg("client hello")
		return
	}
	p.snis[pl.Flow] = name
}

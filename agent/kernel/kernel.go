// Package kernel reads what the kernel programs produce: socket and
// process events from the ring buffer, and flow counters from the flow map.
package kernel

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/teamsflow/teamsflow/bpf"
	"github.com/teamsflow/teamsflow/bpf/contract"
)

// Events reads the ring buffer.
type Events struct {
	rd *ringbuf.Reader
}

// OpenEvents starts reading the ring buffer of objs.
func OpenEvents(objs *bpf.Objects) (*Events, error) {
	rd, err := ringbuf.NewReader(objs.Events())
	if err != nil {
		return nil, fmt.Errorf("opening event ring buffer: %w", err)
	}
	return &Events{rd: rd}, nil
}

// RunRaw delivers each ring-buffer record undecoded (see Decode) until
// Close is called; raw is valid only during the call. It allocates
// nothing per record, so a reader that only copies records out keeps up
// while the rest of the process collects garbage.
func (e *Events) RunRaw(fn func(raw []byte), bad func(error)) {
	var rec ringbuf.Record
	for {
		if err := e.rd.ReadInto(&rec); err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			bad(err)
			continue
		}
		fn(rec.RawSample)
	}
}

// Close stops Run.
func (e *Events) Close() error { return e.rd.Close() }

// Decode turns one ring-buffer record into its event struct.
func Decode(raw []byte) (any, error) {
	if len(raw) < 4 {
		return nil, fmt.Errorf("event of %d bytes is too short", len(raw))
	}
	typ := contract.EventType(*(*uint32)(unsafe.Pointer(&raw[0])))
	switch typ {
	case contract.EvSockOpen, contract.EvSockClose, contract.EvSockOwner, contract.EvTCPEstab:
		return decodeAs[bpf.SockEvent](raw, typ)
	case contract.EvProcExec, contract.EvProcExit:
		return decodeAs[bpf.ProcEvent](raw, typ)
	case contract.EvPayload:
		return decodeSample(raw)
	}
	return nil, fmt.Errorf("unknown event type %d", typ)
}

func decodeAs[T any](raw []byte, typ contract.EventType) (*T, error) {
	var v T
	if len(raw) < int(unsafe.Sizeof(v)) {
		return nil, fmt.Errorf("event type %d: %d bytes, want %d", typ, len(raw), unsafe.Sizeof(v))
	}
	// The kernel wrote the struct with the layout bpf2go mirrored.
	v = *(*T)(unsafe.Pointer(&raw[0]))
	return &v, nil
}

// decodeSample reads a payload event: a fixed header, then Len bytes.
func decodeSample(raw []byte) (*contract.Sample, error) {
	var ev bpf.PayloadEvent
	head := int(unsafe.Offsetof(ev.Data))
	if len(raw) < head {
		return nil, fmt.Errorf("payload event: %d bytes, want at least %d", len(raw), head)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&ev)), head), raw[:head])
	n := int(ev.Len)
	if n > len(ev.Data) || head+n > len(raw) {
		return nil, fmt.Errorf("payload event: %d data bytes claimed, %d present", n, len(raw)-head)
	}
	return &contract.Sample{
		Kind: ev.Kind, Egress: ev.Egress != 0, Flow: ev.Flow, TCPSeq: ev.TcpSeq, TsNs: ev.TsNs,
		Data: append([]byte(nil), raw[head:head+n]...),
	}, nil
}

// RTP is one entry of the RTP source map.
type RTP struct {
	Key   bpf.RTPKey
	Stats bpf.RTPStats
}

// ReadRTP reads the whole RTP source map.
func ReadRTP(m *ebpf.Map) ([]RTP, error) {
	var out []RTP
	var e RTP
	it := m.Iterate()
	for it.Next(&e.Key, &e.Stats) {
		out = append(out, e)
	}
	if err := it.Err(); err != nil {
		return out, fmt.Errorf("reading RTP map: %w", err)
	}
	return out, nil
}

// DeleteRTP removes RTP sources; entries already gone are not an error.
func DeleteRTP(m *ebpf.Map, keys []bpf.RTPKey) error {
	return deleteKeys(m, keys, "RTP sources")
}

// Flow is one entry of the flow map, its CPUs merged.
type Flow struct {
	Key   bpf.FlowKey
	Stats bpf.FlowStats
}

// ReadFlows hands every flow the classifier counts to fn, its pieces
// merged, without building a list: at 10k flows a list per poll was
// megabytes of garbage a second. lastToNs converts the coarse last-seen
// ticks to boot-clock ns; the result never precedes first seen.
func ReadFlows(t *bpf.FlowTable, lastToNs func(uint64) uint64, fn func(Flow)) error {
	return t.Read(func(k bpf.FlowKey, perCPU []bpf.FlowStats) {
		for i := range perCPU {
			for d := range perCPU[i].Dir {
				dir := &perCPU[i].Dir[d]
				dir.Last = max(lastToNs(dir.Last), dir.FirstNs)
			}
		}
		fn(Flow{Key: k, Stats: bpf.MergeCPUs(perCPU)})
	})
}

// DeleteFlows removes flows; flows already gone are not an error.
func DeleteFlows(t *bpf.FlowTable, keys []bpf.FlowKey) error {
	return t.Delete(keys)
}

func deleteKeys[K any](m *ebpf.Map, keys []K, what string) error {
	var errs []error
	for i := range keys {
		if err := m.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deleting %s: %w", what, err)
	}
	return nil
}

package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// DefaultFlowSlots is the number of flow slots per CPU (tf_slots.h): with
// 1000 concurrent flows about 0.4% of them find every slot of their group
// taken and are counted in the flow map instead. 4096 slots cost 768 KiB
// per CPU.
const DefaultFlowSlots = 4096

// slotWays is TF_SLOT_WAYS in tf_slots.h: the slots of a group, any of
// which its flows may hold.
const slotWays = 4

// SlotsPerCPU turns a configured slot count (0: none) into Config.FlowSlots.
func SlotsPerCPU(configured uint32) int {
	if configured == 0 {
		return -1
	}
	return int(configured)
}

const slotSize = int(unsafe.Sizeof(FlowSlot{}))

// slotMult is TF_SLOT_MULT in tf_slots.h.
const slotMult = 0x9E3779B97F4A7C15

// slotHash is the Go twin of tf_slot_hash: the key's six words mixed by
// multiplication, the high half kept.
func slotHash(k *FlowKey) uint32 {
	w := [6]uint64{
		binary.LittleEndian.Uint64(k.LocalAddr[0:8]), binary.LittleEndian.Uint64(k.LocalAddr[8:16]),
		binary.LittleEndian.Uint64(k.PeerAddr[0:8]), binary.LittleEndian.Uint64(k.PeerAddr[8:16]),
		uint64(k.LocalPort) | uint64(k.PeerPort)<<16 | uint64(k.Protocol)<<32 | uint64(k.Family)<<40 | uint64(k.Pad)<<48,
		k.Netns,
	}
	local := (w[0] ^ w[1]) * slotMult
	return uint32(((local ^ w[2] ^ w[3] ^ w[4] ^ w[5]) * slotMult) >> 32)
}

// FlowTable is where the classifier counts flows: each CPU's slots
// (tf_slots, read through a memory mapping) and the per-CPU flow map
// (tf_flows) for flows whose slot another flow holds. A flow can be in
// both, and in several CPUs' slots; Read hands out its pieces together.
type FlowTable struct {
	slots    *ebpf.Map
	mem      *ebpf.Memory // nil when slots are off
	overflow *ebpf.Map
	perCPU   int // slots per CPU
	cpus     int

	// Reused from read to read, so that a poll of many flows makes little
	// garbage: one slot index across the CPUs, the pieces of one flow, the
	// map's entries (their per-CPU values in one arena), and one batch of
	// them as the kernel hands it out.
	buf       []FlowSlot
	pieces    []FlowStats
	overKeys  map[FlowKey]arenaSpan
	arena     []FlowStats
	batchKeys []FlowKey
	batchVals []FlowStats // batchKeys' per-CPU values, CPU after CPU
}

// overflowBatch is how many flow map entries one system call reads: a
// bucket of the kernel's hash map must fit in it, and a few hundred flows
// do not need another call.
const overflowBatch = 256

// arenaSpan is where a map entry's per-CPU values sit in the arena.
type arenaSpan struct{ from, to int }

func newFlowTable(slots, overflow *ebpf.Map, perCPU int) (*FlowTable, error) {
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("counting CPUs for the flow table: %w", err)
	}
	t := &FlowTable{slots: slots, overflow: overflow, perCPU: perCPU, cpus: cpus,
		batchKeys: make([]FlowKey, overflowBatch), batchVals: make([]FlowStats, overflowBatch*cpus)}
	if perCPU == 0 {
		return t, nil
	}
	if t.mem, err = slots.Memory(); err != nil {
		return nil, fmt.Errorf("mapping the flow slots: %w", err)
	}
	t.buf = make([]FlowSlot, t.ways()*cpus)
	return t, nil
}

// Map is the flow map behind the slots (FlowKey -> per-CPU FlowStats).
func (t *FlowTable) Map() *ebpf.Map { return t.overflow }

// Read calls fn once for every flow with its counters from every place
// that holds some (per CPU, slots and map). fn must not keep the slice.
//
// Map entries go to fn as they are read, except those of flows that a
// slot holds too, which wait for the slot: so only those few are kept,
// not a copy of the whole map. A slot claimed while Read runs is left for
// the next Read, since its flow may have gone to fn from the map already.
func (t *FlowTable) Read(fn func(FlowKey, []FlowStats)) error {
	start, err := bootNs()
	if err != nil {
		return err
	}
	defer func() { // also after an error, so that nothing stale is handed out next time
		clear(t.overKeys)
		t.arena = t.arena[:0]
	}()
	if err := t.readOverflow(fn); err != nil {
		return err
	}
	for i := 0; i < t.perCPU; i += t.ways() {
		if err := t.readGroup(i, start, fn); err != nil {
			return err
		}
	}
	// Flows whose slot was emptied since, or was claimed during this Read.
	for k, span := range t.overKeys {
		fn(k, t.arena[span.from:span.to])
	}
	return nil
}

// readOverflow reads the flow map a batch of entries per system call into
// reused buffers (an iterator allocates a value slice per entry, megabytes
// a second with 10k flows polled) and hands each to fn, or keeps it for
// the slot that holds its flow too.
func (t *FlowTable) readOverflow(fn func(FlowKey, []FlowStats)) error {
	if t.overKeys == nil {
		t.overKeys = map[FlowKey]arenaSpan{}
	}
	var cursor ebpf.MapBatchCursor
	for {
		n, err := t.overflow.BatchLookup(&cursor, t.batchKeys, t.batchVals, nil)
		for i := range n {
			k, vals := t.batchKeys[i], t.batchVals[i*t.cpus:(i+1)*t.cpus]
			held, herr := t.slotted(&k)
			if herr != nil {
				return herr
			}
			if !held {
				fn(k, vals)
				continue
			}
			// Only the CPUs that counted the flow: the others' values are
			// zero, which MergeCPUs passes over, and keeping them made the
			// arena CPUs x 144 bytes a held flow (2.3 MB with 10k flows on
			// two CPUs, where one CPU in the map is the rule).
			from := len(t.arena)
			for i := range vals {
				if vals[i] != (FlowStats{}) {
					t.arena = append(t.arena, vals[i])
				}
			}
			t.overKeys[k] = arenaSpan{from, len(t.arena)}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil // the end of the map
		}
		if err != nil {
			return fmt.Errorf("reading flow map: %w", err)
		}
	}
}

// slotted says whether a slot of any CPU holds flow k.
func (t *FlowTable) slotted(k *FlowKey) (bool, error) {
	held := false
	err := t.findSlots(k, func(int64) (bool, error) {
		held = true
		return true, nil
	})
	return held, err
}

// findSlots calls found with the offset of each slot, of any CPU, that
// holds flow k, until found says it is done.
func (t *FlowTable) findSlots(k *FlowKey, found func(off int64) (done bool, err error)) error {
	if t.mem == nil {
		return nil
	}
	var key FlowKey
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&key)), unsafe.Sizeof(key))
	group, n := t.slotGroup(k)
	for _, i := range group[:n] {
		for cpu := 0; cpu < t.cpus; cpu++ {
			off := int64((cpu*t.perCPU + i) * slotSize)
			if _, err := t.mem.ReadAt(raw, off); err != nil {
				return fmt.Errorf("reading flow slot %d of cpu %d: %w", i, cpu, err)
			}
			if key != *k {
				continue
			}
			if done, err := found(off); done || err != nil {
				return err
			}
		}
	}
	return nil
}

// bootNs is CLOCK_BOOTTIME, the classifier's clock for first packets.
func bootNs() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, fmt.Errorf("reading the boot clock: %w", err)
	}
	return uint64(ts.Nano()), nil
}

// claimedSince says whether a slot's flow took it at or after ns: its
// first packet on that CPU, in either direction.
func claimedSince(s *FlowStats, ns uint64) bool {
	for d := range s.Dir {
		if s.Dir[d].Packets != 0 && s.Dir[d].FirstNs < ns {
			return false
		}
	}
	return true
}

// readGroup reads the slot group from index first of every CPU, but for
// slots claimed since start. A flow may hold any slot of its group, on
// each CPU its own choice, so the group's slots of all CPUs may hold
// different flows or pieces of the same one.
func (t *FlowTable) readGroup(first int, start uint64, fn func(FlowKey, []FlowStats)) error {
	n := 0
	for cpu := 0; cpu < t.cpus; cpu++ {
		for i := first; i < first+t.ways(); i++ {
			raw := unsafe.Slice((*byte)(unsafe.Pointer(&t.buf[n])), slotSize)
			if _, err := t.mem.ReadAt(raw, int64((cpu*t.perCPU+i)*slotSize)); err != nil {
				return fmt.Errorf("reading flow slot %d of cpu %d: %w", i, cpu, err)
			}
			if t.buf[n].Key.Family != 0 && !claimedSince(&t.buf[n].Stats, start) {
				n++
			}
		}
	}
	for j := 0; j < n; j++ {
		k := t.buf[j].Key
		if k.Family == 0 {
			continue // taken with an earlier slot of the same flow
		}
		t.pieces = append(t.pieces[:0], t.buf[j].Stats)
		for l := j + 1; l < n; l++ {
			if t.buf[l].Key == k {
				t.pieces = append(t.pieces, t.buf[l].Stats)
				t.buf[l].Key.Family = 0
			}
		}
		if span, ok := t.overKeys[k]; ok {
			t.pieces = append(t.pieces, t.arena[span.from:span.to]...)
			delete(t.overKeys, k)
		}
		fn(k, t.pieces)
	}
	return nil
}

// Delete removes flows from the slots and the map; flows already gone
// are not an error.
func (t *FlowTable) Delete(keys []FlowKey) error {
	var errs []error
	for i := range keys {
		if err := t.overflow.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
		if err := t.emptySlots(&keys[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deleting flows: %w", err)
	}
	return nil
}

// emptySlots frees the flow's slot on every CPU that holds it by clearing
// the key's word with the family in one 8-byte store: the classifier may
// claim the slot the moment it sees family 0, so nothing else of the slot
// is written after that. Only the agent frees slots, so the slot cannot
// change hands between the check and the write; a packet of the flow
// counted in between is lost, as it would be with a map entry deleted
// under it.
func (t *FlowTable) emptySlots(k *FlowKey) error {
	var zero [8]byte
	return t.findSlots(k, func(off int64) (bool, error) {
		if _, err := t.mem.WriteAt(zero[:], off+familyWord); err != nil {
			return true, fmt.Errorf("emptying flow slot at %d: %w", off, err)
		}
		return false, nil
	})
}

// ways is how many slots a group has: slotWays, or fewer with fewer
// slots per CPU.
func (t *FlowTable) ways() int { return min(slotWays, t.perCPU) }

// slotGroup is the indexes, within a CPU's slots, that flow k may hold:
// its own first, then the others of its group (tf_slot_group in
// tf_slots.h).
func (t *FlowTable) slotGroup(k *FlowKey) (group [slotWays]int, n int) {
	i := int(slotHash(k)) & (t.perCPU - 1)
	for j := range t.ways() {
		group[j] = i ^ j
	}
	return group, t.ways()
}

// familyWord is the offset of the key's word with ports, protocol and family.
const familyWord = int64(unsafe.Offsetof(FlowKey{}.LocalPort))

// Merged reads every flow with its pieces merged (MergeCPUs), raw
// last-seen ticks and all: for tests and tools that look at the kernel's
// view directly.
func (t *FlowTable) Merged() (map[FlowKey]FlowStats, error) {
	out := map[FlowKey]FlowStats{}
	err := t.Read(func(k FlowKey, pieces []FlowStats) { out[k] = MergeCPUs(pieces) })
	return out, err
}

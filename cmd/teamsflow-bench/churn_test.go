package main

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/teamsflow/teamsflow/agent/observe"
)

func writeTuples(t *testing.T, tuples [][2]uint16) string {
	t.Helper()
	var raw []byte
	for _, tp := range tuples {
		raw = binary.LittleEndian.AppendUint16(raw, tp[0])
		raw = binary.LittleEndian.AppendUint16(raw, tp[1])
	}
	path := filepath.Join(t.TempDir(), "tuples")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestChurnCompareNamesEveryKindOfLoss(t *testing.T) {
	path := writeTuples(t, [][2]uint16{{40000, 1024}, {40001, 1025}, {40002, 1026}, {40003, 1027}})
	seen := map[uint32]flowSeen{
		40000<<16 | 1024: {owner: 77}, // right
		40001<<16 | 1025: {},          // no owner
		40002<<16 | 1026: {owner: 5},  // someone else
		50000<<16 | 2000: {owner: 77}, // not the sender's
	}
	r := &churnReport{sent: churnResult{pid: 77, flows: 4}}
	if err := r.compare(path, seen); err != nil {
		t.Fatal(err)
	}
	if r.missing != 1 || r.noOwner != 1 || r.wrongOwner != 1 || r.extra != 1 || r.lost() != 3 {
		t.Errorf("missing %d, no owner %d, wrong owner %d, extra %d: want 1 each", r.missing, r.noOwner, r.wrongOwner, r.extra)
	}
	r = &churnReport{sent: churnResult{pid: 77, flows: 5}}
	if err := r.compare(path, seen); err == nil {
		t.Errorf("a tuple file shorter than the flows the sender counted was accepted")
	}
}

func TestChurnKeyTakesOnlyFlowsToTheBlackhole(t *testing.T) {
	id := observe.FlowID{Transport: 17, Local: netip.AddrPortFrom(clientAddr.Addr(), 40000), Peer: netip.AddrPortFrom(blackhole, 1024)}
	if k, ok := churnKey(id); !ok || k != 40000<<16|1024 {
		t.Errorf("churn flow: key %x ok %v", k, ok)
	}
	for _, other := range []observe.FlowID{
		{Transport: 6, Local: id.Local, Peer: id.Peer},
		{Transport: 17, Local: id.Local, Peer: netip.AddrPortFrom(serverAddr.Addr(), 1024)},
	} {
		if _, ok := churnKey(other); ok {
			t.Errorf("%+v taken as a churn flow", other)
		}
	}
}

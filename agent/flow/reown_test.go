package flow

import "testing"

// A socket whose owner exited is given the process holding it: its flow
// takes the new owner, and neither the kernel entry nor a socket event,
// which still name the dead owner, take it back; a flow that begins later
// on the same socket gets the new owner too. Another process sending
// later does take the flow.
func TestReownedSocketKeepsItsNewOwner(t *testing.T) {
	tb := NewTable()
	k := key("10.0.0.2:7000", "10.0.0.1:4000", 17)
	tb.SocketOwner(42, owner(5, "parent"))
	tb.Update(k, stats(0, 50, 42, owner(5, "parent")))
	orphans := tb.OpenOwnedBy(map[uint32]uint64{5: 0, 6: 0})
	if len(orphans) != 1 || orphans[42] != 5 {
		t.Fatalf("orphans %v, want socket 42 of pid 5", orphans)
	}
	if !tb.Reown(42, 5, Owner{TGID: 8, Comm: "child"}) {
		t.Fatal("Reown refused an open socket of the dead owner")
	}
	tb.Update(k, stats(0, 80, 42, owner(5, "parent")))
	tb.SocketOwner(42, owner(5, "parent"))
	if f := only(t, tb); f.Owner.TGID != 8 {
		t.Errorf("owner %+v after the dead owner's entry and event, want the child 8", f.Owner)
	}
	later := key("10.0.0.2:7000", "10.0.0.3:4000", 17)
	tb.Update(later, stats(0, 10, 42, owner(5, "parent")))
	for _, f := range tb.Snapshot() {
		if f.Key == later && f.Owner.TGID != 8 {
			t.Errorf("a later flow's owner %+v, want the child 8", f.Owner)
		}
	}
	tb.Update(k, stats(10, 90, 42, owner(9, "sender")))
	for _, f := range tb.Snapshot() {
		if f.Key == k && f.Owner.TGID != 9 {
			t.Errorf("owner %+v after another process sent, want 9", f.Owner)
		}
	}
	if tb.Reown(42, 77, Owner{TGID: 10}) {
		t.Error("Reown took a socket whose owner is not the one that exited")
	}
	tb.SocketClosed(42, tb.now())
	if len(tb.OpenOwnedBy(map[uint32]uint64{8: 0})) != 0 {
		t.Error("a closed socket listed as open")
	}
}

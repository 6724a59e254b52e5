package flow

import "testing"

// A flow's kernel entry made anew for another process's socket on the same
// addresses hands the flow to that process; the counts of both stay.
func TestNewKernelEntryOfAnotherProcessTakesTheFlow(t *testing.T) {
	tb := NewTable()
	k := key("10.0.0.1:50000", "10.0.0.2:3478", 17)
	tb.Update(k, stats(100, 0, 41, owner(5, "first")))
	tb.Removed(k)
	tb.Update(k, stats(300, 0, 42, owner(6, "second")))
	f := only(t, tb)
	if f.Owner.TGID != 6 || f.Owner.Comm != "second" || f.Cookie != 42 {
		t.Errorf("owner %+v cookie %d, want pid 6 second, cookie 42", f.Owner, f.Cookie)
	}
	if got := f.Stats().Dir[0].Bytes; got != 400 {
		t.Errorf("bytes sent %d, want 400 (both uses)", got)
	}
	// The same process again, seen on another CPU first: no change.
	tb.Update(k, stats(350, 0, 42, owner(6, "second")))
	if f := only(t, tb); f.Owner.TGID != 6 {
		t.Errorf("owner %+v, want pid 6", f.Owner)
	}
}

package proc

import (
	"os"
	"testing"
	"time"
)

// Two processes that had one pid and started in the same 10 ms tick (a pid
// reused at once, as on a busy machine) are told apart by the kernel's
// exact start times; a key that only knows the tick gets no answer rather
// than either one.
func TestSameTickSamePID(t *testing.T) {
	c := NewCache(time.Minute)
	const pid, tick = 4242, 1000
	first := KeyFromBootNs(pid, tick*10_000_000+1_000)
	second := KeyFromBootNs(pid, tick*10_000_000+7_000_000)
	c.Exec(Info{Key: first, Comm: "first", Exe: "/bin/first"})
	if info, ok := c.Lookup(Key{PID: pid, StartTicks: tick}); !ok || info.Comm != "first" {
		t.Errorf("tick-precise key with one process in the tick: %v %q, want first", ok, info.Comm)
	}
	c.Exit(first, time.Now())
	c.Exec(Info{Key: second, Comm: "second", Exe: "/bin/second"})
	for k, want := range map[Key]string{first: "first", second: "second"} {
		if info, ok := c.Lookup(k); !ok || info.Comm != want {
			t.Errorf("Lookup(%+v) = %v %q, want %q", k, ok, info.Comm, want)
		}
	}
	if info, ok := c.Lookup(Key{PID: pid, StartTicks: tick}); ok {
		t.Errorf("tick-precise key with two processes in the tick gave %q", info.Comm)
	}
	// A third process of the tick, its exec event lost: neither the others'
	// entries nor /proc may stand in for it.
	if info, ok := c.Lookup(KeyFromBootNs(pid, tick*10_000_000+9_000_000)); ok {
		t.Errorf("unknown process of a shared tick gave %q", info.Comm)
	}
	c.Prune(time.Now().Add(2 * time.Minute))
	if info, ok := c.Lookup(second); !ok || info.Comm != "second" {
		t.Errorf("the running process was pruned with the exited one: %v %q", ok, info.Comm)
	}
	if info, ok := c.Lookup(Key{PID: pid, StartTicks: tick}); !ok || info.Comm != "second" {
		t.Errorf("after the first was forgotten, the tick names the second only: %v %q", ok, info.Comm)
	}
}

// A process only /proc knows (one that ran before the agent) is found by
// an exact key from the kernel, and not by a key of another start time.
func TestExactKeyFindsProcOnlyProcess(t *testing.T) {
	c := NewCache(time.Minute)
	self, ok := c.LookupPID(uint32(os.Getpid()))
	if !ok || self.StartNs != 0 {
		t.Fatalf("LookupPID(self) = %+v %v", self, ok)
	}
	exact := KeyFromBootNs(self.PID, self.StartTicks*10_000_000+3_000_000)
	if info, ok := c.Lookup(exact); !ok || info.Comm != self.Comm {
		t.Errorf("exact key of a /proc-only process: %v %q", ok, info.Comm)
	}
	other := KeyFromBootNs(self.PID, (self.StartTicks+5)*10_000_000)
	if info, ok := c.Lookup(other); ok {
		t.Errorf("a key five ticks later gave %q", info.Comm)
	}
}

// A parent is a process that started no later than its child: a younger
// process holding the parent's pid is not it.
func TestLookupParentRefusesAYoungerProcess(t *testing.T) {
	c := NewCache(time.Minute)
	parent, ok := c.LookupPID(uint32(os.Getppid()))
	if !ok {
		t.Fatal("the test's parent is not in /proc")
	}
	child := Key{PID: uint32(os.Getpid()), StartTicks: parent.StartTicks + 100}
	if info, ok := c.LookupParent(parent.PID, child); !ok || info.Comm != parent.Comm {
		t.Errorf("LookupParent of a child that started later: %v %q, want %q", ok, info.Comm, parent.Comm)
	}
	older := Key{PID: child.PID, StartTicks: parent.StartTicks - 1}
	if info, ok := c.LookupParent(parent.PID, older); ok {
		t.Errorf("a process younger than the child was given as its parent: %q", info.Comm)
	}
}

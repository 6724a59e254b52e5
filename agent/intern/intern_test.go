package intern

import "testing"

func TestPoolSharesEqualValues(t *testing.T) {
	type owner struct{ pid uint32 }
	var p Pool[owner, *owner]
	a, b := p.Get(owner{1}, 4, Pointer[owner]), p.Get(owner{1}, 4, Pointer[owner])
	if a != b {
		t.Fatal("equal values got two copies")
	}
	if c := p.Get(owner{2}, 4, Pointer[owner]); c == a || c.pid != 2 {
		t.Fatalf("a different value got %v (first %v)", c, a)
	}
}

func TestPoolStartsAfreshWhenFull(t *testing.T) {
	type owner struct{ pid uint32 }
	var p Pool[owner, *owner]
	first := p.Get(owner{0}, 3, Pointer[owner])
	for pid := uint32(1); pid < 3; pid++ {
		p.Get(owner{pid}, 3, Pointer[owner])
	}
	if p.Len() != 3 {
		t.Fatalf("holds %d, want 3", p.Len())
	}
	p.Get(owner{3}, 3, Pointer[owner])
	if p.Len() != 1 {
		t.Fatalf("holds %d after passing its bound, want 1 (started afresh)", p.Len())
	}
	if again := p.Get(owner{0}, 3, Pointer[owner]); again == first || first.pid != 0 {
		t.Fatalf("after starting afresh: new copy %p, old copy %p (pid %d) must stay valid and apart", again, first, first.pid)
	}
}

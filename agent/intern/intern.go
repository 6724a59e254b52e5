// Package intern keeps one shared copy of equal values: the thousands of
// flows of one process, or of one process to one peer, carry the same
// owner, name and keys, and one copy each instead of thousands is most of
// what keeps the daemon's memory flat as flows grow.
package intern

// Pool hands out one copy of each value. It holds at most the bound its
// caller gives; when full it starts afresh, and the copies handed out
// stay valid (later ones are only no longer shared with them). The zero
// Pool is ready to use; the caller serialises access.
type Pool[K comparable, V any] struct {
	m map[K]V
}

// Get returns the shared copy of k, making it with makeCopy the first
// time.
func (p *Pool[K, V]) Get(k K, bound int, makeCopy func(K) V) V {
	if v, ok := p.m[k]; ok {
		return v
	}
	if p.m == nil || len(p.m) >= bound {
		p.m = make(map[K]V)
	}
	v := makeCopy(k)
	p.m[k] = v
	return v
}

// Len is how many values the pool holds.
func (p *Pool[K, V]) Len() int { return len(p.m) }

// Pointer makes the shared copy of a struct that flows point at.
func Pointer[K any](k K) *K { return &k }

// Package refcount is the bench's reference flow counter (refcount.c): the
// least a TC program can do to count packets per flow, measured beside
// teamsflow's classifier.
package refcount

import (
	"fmt"

	"github.com/cilium/ebpf"
)

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v3 -I../../../../bpf/headers" -target bpfel ref refcount.c

// Counter is the reference flow counter, loaded and not attached.
type Counter struct{ objs refObjects }

// Load loads the reference flow counter and its map.
func Load() (*Counter, error) {
	c := &Counter{}
	if err := loadRefObjects(&c.objs, nil); err != nil {
		return nil, fmt.Errorf("loading the reference flow counter: %w", err)
	}
	return c, nil
}

// Program is the TC program to attach.
func (c *Counter) Program() *ebpf.Program { return c.objs.TfbRefcount }

func (c *Counter) Close() error { return c.objs.Close() }

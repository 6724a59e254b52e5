package client

import (
	"context"
	"fmt"
	"time"
)

// Paths a relayed transport's media takes: through the relay first, then,
// once a direct pair succeeds, straight to the peer from the same socket.
const (
	pathFirst  = 0
	pathDirect = 1
)

// path is the index of the path media goes out on now.
func (t *transport) path() int {
	if t.relay != nil && t.direct.Load() {
		return pathDirect
	}
	return pathFirst
}

// viaRelay reports whether ICE checks still travel inside the allocation.
func (t *transport) viaRelay() bool { return t.relay != nil && !t.checkDirect.Load() }

// goDirect does what ICE does when a direct candidate pair succeeds after
// media began on the relayed pair: checks to the peer's own address from
// the socket (media keeps flowing through the relay meanwhile), a
// nomination, then media and consent checks leave the relay. The
// allocation stays open until the call ends.
func (t *transport) goDirect(ctx context.Context) error {
	if t.relay == nil {
		return nil
	}
	t.iceOK.Store(false)
	t.checkDirect.Store(true)
	for round := 0; !t.iceOK.Load(); round++ {
		if round >= 4*checkRounds {
			t.checkDirect.Store(false)
			return fmt.Errorf("ICE: no direct answer from %s", t.peer)
		}
		if err := t.check(t.peer, false); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(checkSpacing):
		}
	}
	if err := t.check(t.peer, true); err != nil {
		return err
	}
	t.direct.Store(true)
	t.log.Info().Str("peer", t.peer.String()).Msg("media moved to the direct path")
	return nil
}

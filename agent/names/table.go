package names

import (
	"net/netip"
	"time"

	"github.com/teamsflow/teamsflow/agent/dissect"
)

// MinTTL keeps answers with tiny TTLs (0-30 s are common behind traffic
// managers) long enough for the connection that follows the lookup.
const MinTTL = 30 * time.Second

// Entry is what the table knows about an address.
type Entry struct {
	Name    string // the name the client asked for
	Teams   bool   // that name is a Teams name (or reached from one)
	Expires time.Time
}

type addrKey struct {
	netns uint64
	addr  netip.Addr
}

type aliasKey struct {
	netns uint64
	name  string
}

// Table maps addresses to names learned from DNS answers. It holds at most
// max addresses and max aliases; answers that do not fit once expired
// entries are gone are dropped and counted in Dropped.
type Table struct {
	data    *Data
	max     int
	addrs   map[addrKey]Entry
	aliases map[aliasKey]Entry // CNAME target -> the name that led to it
	Dropped uint64
}

// NewTable makes a table over data holding at most max entries of each kind.
func NewTable(data *Data, max int) *Table {
	return &Table{data: data, max: max, addrs: map[addrKey]Entry{}, aliases: map[aliasKey]Entry{}}
}

// Data returns the Teams data the table judges names with.
func (t *Table) Data() *Data { return t.data }

// Len returns the number of addresses known.
func (t *Table) Len() int { return len(t.addrs) }

// LearnDNS records the addresses of a DNS answer under the name the client
// asked for, following CNAME chains (also across answers: a resolver may
// answer the chain's last name in a later response).
func (t *Table) LearnDNS(now time.Time, netns uint64, r dissect.DNSResponse) {
	origin := t.origin(now, netns, r.Question)
	// Walk the chain from the question so that each hop gets the origin and
	// the shortest TTL on the way to it.
	ttl := map[string]uint32{r.Question: ^uint32(0)}
	for changed := true; changed; {
		changed = false
		for _, a := range r.Answers {
			hop, ok := ttl[a.Name]
			if !ok || a.Target == "" {
				continue
			}
			if _, seen := ttl[a.Target]; !seen {
				ttl[a.Target] = min(hop, a.TTL)
				changed = true
			}
		}
	}
	for _, a := range r.Answers {
		hop, ok := ttl[a.Name]
		if !ok {
			continue // an answer off the question's chain names nothing we asked for
		}
		e := Entry{Name: origin.Name, Teams: origin.Teams, Expires: now.Add(max(time.Duration(min(hop, a.TTL))*time.Second, MinTTL))}
		if a.Target != "" {
			putCapped(t, t.aliases, aliasKey{netns, a.Target}, e, now)
		} else {
			putCapped(t, t.addrs, addrKey{netns, a.Addr.Unmap()}, e, now)
		}
	}
}

// origin is the name a question stands for: itself, or the Teams name
// whose CNAME chain led to it through intermediate domains.
func (t *Table) origin(now time.Time, netns uint64, q string) Entry {
	if e, ok := t.aliases[aliasKey{netns, q}]; ok && now.Before(e.Expires) {
		e.Teams = e.Teams && (t.data.isIntermediate(q) || t.data.IsTeamsName(q))
		return e
	}
	return Entry{Name: q, Teams: t.data.IsTeamsName(q)}
}

// Lookup returns the name for an address, if a live answer named it.
func (t *Table) Lookup(now time.Time, netns uint64, a netip.Addr) (Entry, bool) {
	e, ok := t.addrs[addrKey{netns, a.Unmap()}]
	if !ok || !now.Before(e.Expires) {
		return Entry{}, false
	}
	return e, true
}

// Expire drops entries whose TTL has passed.
func (t *Table) Expire(now time.Time) {
	expire(t.addrs, now)
	expire(t.aliases, now)
}

func expire[K comparable](m map[K]Entry, now time.Time) {
	for k, e := range m {
		if !now.Before(e.Expires) {
			delete(m, k)
		}
	}
}

func putCapped[K comparable](t *Table, m map[K]Entry, k K, e Entry, now time.Time) {
	if _, ok := m[k]; !ok && len(m) >= t.max {
		expire(m, now)
		if len(m) >= t.max {
			t.Dropped++
			return
		}
	}
	m[k] = e
}

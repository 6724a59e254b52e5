// Package attach keeps the TC classifier on every interface of the
// watched network namespaces: those present at start and those that
// appear later (a VPN tun, a new veth), and lets go of removed ones.
package attach

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/teamsflow/teamsflow/agent/netns"
	"github.com/teamsflow/teamsflow/agent/sockets"
	"github.com/teamsflow/teamsflow/bpf"
)

// Manager attaches the classifier to interfaces.
type Manager struct {
	objs   *bpf.Objects
	mode   bpf.TCMode
	only   []string // interface names; empty means all
	log    zerolog.Logger
	mu     sync.Mutex
	spaces []*space
}

// space is one watched network namespace.
type space struct {
	path     string // "" for the agent's own
	cookie   uint64
	attached map[int]*iface
	done     chan struct{}
}

type iface struct {
	name string
	att  *bpf.TCAttachment
}

// New makes a manager. only restricts attachment to the named interfaces.
func New(objs *bpf.Objects, mode bpf.TCMode, only []string, log zerolog.Logger) *Manager {
	return &Manager{objs: objs, mode: mode, only: only, log: log}
}

// CheckInterfaces verifies that each name in only exists in one of the
// namespaces, so that a typo is an error at start, not silence.
func CheckInterfaces(only []string, paths []string) error {
	found := map[string]bool{}
	for _, p := range paths {
		err := netns.Do(p, func() error {
			links, err := netlink.LinkList()
			if err != nil {
				return fmt.Errorf("listing interfaces: %w", err)
			}
			for _, l := range links {
				found[l.Attrs().Name] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, name := range only {
		if !found[name] {
			return fmt.Errorf("unknown interface %q (see `ip link`)", name)
		}
	}
	return nil
}

// Watch attaches to the interfaces of the namespace at path ("" for the
// agent's own) and keeps following its interfaces until Close.
func (m *Manager) Watch(path string) error {
	s := &space{path: path, attached: map[int]*iface{}, done: make(chan struct{})}
	updates := make(chan netlink.LinkUpdate, 64)
	err := netns.Do(path, func() error {
		var err error
		if s.cookie, err = sockets.NetnsCookie(); err != nil {
			return err
		}
		// Subscribe before listing so that no interface falls in between.
		if err := netlink.LinkSubscribeWithOptions(updates, s.done, linkOptions(path)); err != nil {
			return fmt.Errorf("watching interfaces: %w", err)
		}
		links, err := netlink.LinkList()
		if err != nil {
			return fmt.Errorf("listing interfaces: %w", err)
		}
		for _, l := range links {
			m.attach(s, l)
		}
		return nil
	})
	if err != nil {
		close(s.done)
		return err
	}
	m.mu.Lock()
	m.spaces = append(m.spaces, s)
	m.mu.Unlock()
	go m.follow(s, updates)
	return nil
}

func linkOptions(path string) netlink.LinkSubscribeOptions {
	opts := netlink.LinkSubscribeOptions{}
	if path != "" {
		if h, err := vnetns.GetFromPath(path); err == nil {
			opts.Namespace = &h
		}
	}
	return opts
}

func (m *Manager) follow(s *space, updates chan netlink.LinkUpdate) {
	for u := range updates {
		switch u.Header.Type {
		case unix.RTM_NEWLINK:
			_ = netns.Do(s.path, func() error { m.attach(s, u.Link); return nil })
		case unix.RTM_DELLINK:
			m.forget(s, u.Link)
		}
	}
}

// attach runs on a thread inside the space's namespace.
func (m *Manager) attach(s *space, l netlink.Link) {
	a := l.Attrs()
	if len(m.only) > 0 && !slices.Contains(m.only, a.Name) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := s.attached[a.Index]; ok {
		return
	}
	if n, err := bpf.CleanStaleFilters(a.Index); err != nil {
		m.log.Warn().Err(err).Str("interface", a.Name).Msg("cleaning filters of an earlier run")
	} else if n > 0 {
		m.log.Info().Int("filters", n).Str("interface", a.Name).Msg("removed filters left by an earlier run")
	}
	att, err := m.objs.AttachTC(a.Index, hasEthernet(a), m.mode)
	if err != nil && gone(a.Index) {
		// Removed before its announcement was handled (interfaces that come
		// and go quickly): each of its queued announcements fails the same
		// way, and none of them is a problem.
		m.log.Debug().Err(err).Str("interface", a.Name).Msg("interface gone before it could be watched")
		return
	}
	if err != nil {
		m.log.Warn().Err(err).Str("interface", a.Name).Msg("not watching interface")
		return
	}
	s.attached[a.Index] = &iface{name: a.Name, att: att}
	m.log.Debug().Str("interface", a.Name).Str("mode", string(att.Mode)).Str("netns", s.path).Msg("attached")
}

// gone says whether the interface ifindex no longer exists in the calling
// thread's namespace.
func gone(ifindex int) bool {
	_, err := netlink.LinkByIndex(ifindex)
	var notFound netlink.LinkNotFoundError
	return errors.As(err, &notFound) || errors.Is(err, unix.ENODEV)
}

// hasEthernet tells the classifier variant: L3 devices (tun, wireguard)
// hand it packets that start with the IP header.
func hasEthernet(a *netlink.LinkAttrs) bool {
	return a.EncapType == "ether" || a.EncapType == "loopback" || a.EncapType == ""
}

func (m *Manager) forget(s *space, l netlink.Link) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := s.attached[l.Attrs().Index]; ok {
		// The interface took its attachments with it; close our handles.
		_ = i.att.Close()
		delete(s.attached, l.Attrs().Index)
		m.log.Debug().Str("interface", i.name).Msg("interface removed")
	}
}

// InterfaceName names an interface by its namespace cookie and index.
func (m *Manager) InterfaceName(netnsCookie uint64, ifindex uint32) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.spaces {
		if s.cookie == netnsCookie {
			if i, ok := s.attached[int(ifindex)]; ok {
				return i.name
			}
		}
	}
	return ""
}

// Attached lists the watched interfaces as "name" or "netns:name".
func (m *Manager) Attached() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, s := range m.spaces {
		for _, i := range s.attached {
			if s.path == "" {
				out = append(out, i.name)
			} else {
				out = append(out, s.path+":"+i.name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Close detaches from every interface.
func (m *Manager) Close() error {
	m.mu.Lock()
	spaces := m.spaces
	m.spaces = nil
	m.mu.Unlock()
	var errs []error
	for _, s := range spaces {
		close(s.done)
		err := netns.Do(s.path, func() error {
			for _, i := range s.attached {
				errs = append(errs, i.att.Close())
			}
			return nil
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Package netns runs code inside network namespaces and builds the small
// namespace topologies (veth pairs) that the simulator and the privileged
// tests use. The agent itself uses Do to attach TC programs and to list
// sockets in namespaces other than its own.
package netns

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	vnetns "github.com/vishvananda/netns"
)

// Do runs fn on a locked OS thread whose network namespace is the one at
// path (e.g. /run/netns/NAME or /proc/PID/ns/net). An empty path runs fn in
// the caller's namespace. The thread is returned to its original namespace
// afterwards; if that fails the thread is left locked so the Go runtime
// discards it instead of reusing a thread in the wrong namespace.
func Do(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := vnetns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("opening network namespace %s: %w", path, err)
	}
	defer target.Close()

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			errc <- fmt.Errorf("reading current network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := vnetns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering network namespace %s: %w", path, err)
			return
		}
		fnErr := fn()
		if err := vnetns.Set(orig); err != nil {
			// Leave the thread locked: the runtime kills it when this
			// goroutine exits.
			errc <- fmt.Errorf("leaving network namespace %s: %w", path, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

// Named is a named network namespace (/run/netns/NAME), as made by
// `ip netns add`, so that other tools (`ip netns exec`) can enter it too.
type Named struct {
	Name string
}

// Path is the bind-mounted namespace file.
func (n Named) Path() string { return "/run/netns/" + n.Name }

// Create makes a named namespace with its loopback interface up. An existing
// namespace of the same name (left by a killed run) is removed first.
func Create(name string) (Named, error) {
	n := Named{Name: name}
	if _, err := os.Stat(n.Path()); err == nil {
		_ = run("ip", "netns", "del", name)
	}
	if err := run("ip", "netns", "add", name); err != nil {
		return n, err
	}
	if err := n.IP("link", "set", "lo", "up"); err != nil {
		_ = n.Delete()
		return n, err
	}
	return n, nil
}

// Delete removes the namespace; interfaces inside it go with it.
func (n Named) Delete() error { return run("ip", "netns", "del", n.Name) }

// IP runs `ip ARGS...` inside the namespace.
func (n Named) IP(args ...string) error {
	return run("ip", append([]string{"-n", n.Name}, args...)...)
}

// Command prepares name+args to run inside the namespace.
func (n Named) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn on a thread inside the namespace.
func (n Named) Do(fn func() error) error { return Do(n.Path(), fn) }

// End is one side of a veth pair: its namespace, interface name and
// addresses in CIDR form ("10.0.0.1/24", "fd00::1/64").
type End struct {
	NS    Named
	Iface string
	Addrs []string
}

// Veth connects two namespaces with a veth pair, assigns the addresses
// (IPv6 without duplicate address detection, so they are usable at once)
// and brings both ends up.
func Veth(a, b End) error {
	if err := run("ip", "link", "add", a.Iface, "netns", a.NS.Name, "type", "veth",
		"peer", "name", b.Iface, "netns", b.NS.Name); err != nil {
		return err
	}
	for _, end := range []End{a, b} {
		for _, addr := range end.Addrs {
			args := []string{"addr", "add", addr, "dev", end.Iface}
			if strings.Contains(addr, ":") {
				args = append(args, "nodad")
			}
			if err := end.NS.IP(args...); err != nil {
				return err
			}
		}
		if err := end.NS.IP("link", "set", end.Iface, "up"); err != nil {
			return err
		}
	}
	return nil
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

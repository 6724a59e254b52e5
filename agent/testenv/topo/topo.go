package topo

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/teamsflow/teamsflow/agent/netns"
)

// Default namespace names; the observer attaches to /run/netns/tfsim-client.
const (
	DefaultClientNS = "tfsim-client"
	DefaultCloudNS  = "tfsim-cloud"
)

// Topology is the pair of namespaces. It remembers which namespaces it
// made so Down removes only those (a `netns up` made by someone else for
// an observer stays).
type Topology struct {
	Client, Cloud netns.Named
	created       []netns.Named
}

// Up makes the namespaces and link when missing, then adds extra (peer)
// addresses to the cloud end. Existing namespaces are reused as they are.
func Up(clientName, cloudName string, extra []string) (*Topology, error) {
	t := &Topology{Client: netns.Named{Name: clientName}, Cloud: netns.Named{Name: cloudName}}
	_, errC := os.Stat(t.Client.Path())
	_, errS := os.Stat(t.Cloud.Path())
	if errC != nil || errS != nil {
		if err := t.create(); err != nil {
			t.Down()
			return nil, err
		}
	}
	if err := t.addCloudAddrs(append(ServiceAddrs(), extra...)); err != nil {
		t.Down()
		return nil, err
	}
	return t, nil
}

// create builds both namespaces from scratch; a half-present pair left by
// a killed run is replaced, which netns.Create does for each name.
func (t *Topology) create() error {
	for _, n := range []*netns.Named{&t.Client, &t.Cloud} {
		made, err := netns.Create(n.Name)
		if err != nil {
			return fmt.Errorf("creating namespace %s: %w", n.Name, err)
		}
		*n = made
		t.created = append(t.created, made)
	}
	err := netns.Veth(
		netns.End{NS: t.Client, Iface: ClientIface, Addrs: []string{ClientIP + "/24", ClientIP6 + "/64"}},
		netns.End{NS: t.Cloud, Iface: CloudIface, Addrs: []string{GatewayIP + "/24", GatewayIP6 + "/64"}},
	)
	if err != nil {
		return fmt.Errorf("linking namespaces: %w", err)
	}
	if err := t.Client.IP("route", "add", "default", "via", GatewayIP); err != nil {
		return fmt.Errorf("adding client IPv4 default route: %w", err)
	}
	if err := t.Client.IP("-6", "route", "add", "default", "via", GatewayIP6); err != nil {
		return fmt.Errorf("adding client IPv6 default route: %w", err)
	}
	return nil
}

// addCloudAddrs puts every service and peer address on the cloud end as a
// host address; `replace` keeps reruns on an existing pair idempotent.
func (t *Topology) addCloudAddrs(addrs []string) error {
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		args := []string{"addr", "replace", a + "/32", "dev", CloudIface}
		if strings.Contains(a, ":") {
			args = []string{"addr", "replace", a + "/128", "dev", CloudIface, "nodad"}
		}
		if err := t.Cloud.IP(args...); err != nil {
			return fmt.Errorf("adding cloud address %s: %w", a, err)
		}
	}
	return nil
}

// Created reports whether this Topology made the namespaces itself.
func (t *Topology) Created() bool { return len(t.created) > 0 }

// Down deletes the namespaces this Topology created.
func (t *Topology) Down() error {
	var errs []error
	for _, n := range t.created {
		if err := n.Delete(); err != nil {
			errs = append(errs, fmt.Errorf("deleting namespace %s: %w", n.Name, err))
		}
	}
	t.created = nil
	return errors.Join(errs...)
}

// Remove deletes both namespaces by name, whoever made them (`netns down`).
func Remove(clientName, cloudName string) error {
	var errs []error
	for _, name := range []string{clientName, cloudName} {
		n := netns.Named{Name: name}
		if _, err := os.Stat(n.Path()); err != nil {
			continue
		}
		if err := n.Delete(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

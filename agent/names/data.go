// Package names turns peer addresses into server names and says which
// destinations are Microsoft Teams: names learned from DNS answers (the name
// the client asked for, through CNAME chains) with their TTLs, and built-in
// data (Teams address ranges, relay ports, name patterns) that a file can
// override.
package names

import (
	_ "embed"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/teamsflow/teamsflow/agent/dissect"
)

//go:embed teams.yaml
var builtin []byte

// PortRange is an inclusive range of ports.
type PortRange struct{ First, Last uint16 }

// Contains says whether p is in the range.
func (r PortRange) Contains(p uint16) bool { return p >= r.First && p <= r.Last }

// Data says what is Teams: address ranges, relay ports and name patterns.
type Data struct {
	Ranges        []netip.Prefix
	RelayPorts    PortRange
	Names         []string // exact names, or "*.domain" for names below domain
	Intermediates []string // CNAME domains that stay Teams when reached from a Teams name
}

// Default returns the built-in data.
func Default() *Data {
	d, err := ParseData("built-in teams.yaml", builtin, nil)
	if err != nil {
		panic(err) // the embedded file is tested; this is a build defect
	}
	return d
}

// LoadData reads an override file: each key present replaces the built-in
// value. Errors name the file and line.
func LoadData(path string) (*Data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading names data: %w", err)
	}
	return ParseData(path, b, Default())
}

// ParseData parses data in the teams.yaml shape on top of base (nil: start
// empty). name labels errors as "name:line: key: problem".
func ParseData(name string, b []byte, base *Data) (*Data, error) {
	d := &Data{}
	if base != nil {
		*d = *base
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return d, nil // an empty file overrides nothing
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of ranges, relay_ports, names, intermediates", name, top.Line)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if err := d.set(k.Value, v); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", name, err.line, k.Value, err.err)
		}
	}
	return d, nil
}

type lineError struct {
	line int
	err  error
}

func (d *Data) set(key string, v *yaml.Node) *lineError {
	switch key {
	case "ranges":
		return eachScalar(v, func(s string) error {
			p, err := netip.ParsePrefix(s)
			d.Ranges = append(d.Ranges, p.Masked())
			return err
		}, func() { d.Ranges = nil })
	case "relay_ports":
		r, err := parsePortRange(v.Value)
		if err != nil || v.Kind != yaml.ScalarNode {
			return &lineError{v.Line, fmt.Errorf("want FIRST-LAST ports, got %q", v.Value)}
		}
		d.RelayPorts = r
		return nil
	case "names":
		return eachScalar(v, func(s string) error {
			n := dissect.CanonicalName(s)
			if n == "" || n == "*." || strings.Contains(n[min(len(n), 1):], "*") {
				return fmt.Errorf("bad name pattern %q (want name or *.domain)", s)
			}
			d.Names = append(d.Names, n)
			return nil
		}, func() { d.Names = nil })
	case "intermediates":
		return eachScalar(v, func(s string) error {
			n := dissect.CanonicalName(s)
			if n == "" || strings.Contains(n, "*") {
				return fmt.Errorf("bad domain %q", s)
			}
			d.Intermediates = append(d.Intermediates, n)
			return nil
		}, func() { d.Intermediates = nil })
	}
	return &lineError{v.Line, fmt.Errorf("unknown key (want ranges, relay_ports, names, intermediates)")}
}

// eachScalar applies parse to every item of a sequence, after reset.
func eachScalar(v *yaml.Node, parse func(string) error, reset func()) *lineError {
	if v.Kind != yaml.SequenceNode {
		return &lineError{v.Line, fmt.Errorf("want a list")}
	}
	reset()
	for i, item := range v.Content {
		if item.Kind != yaml.ScalarNode {
			return &lineError{item.Line, fmt.Errorf("item %d: want a string", i)}
		}
		if err := parse(item.Value); err != nil {
			return &lineError{item.Line, fmt.Errorf("item %d: %w", i, err)}
		}
	}
	return nil
}

func parsePortRange(s string) (PortRange, error) {
	first, last, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		last = first
	}
	a, err1 := strconv.ParseUint(strings.TrimSpace(first), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(last), 10, 16)
	if err1 != nil || err2 != nil || a > b || a == 0 {
		return PortRange{}, fmt.Errorf("bad port range %q", s)
	}
	return PortRange{uint16(a), uint16(b)}, nil
}

// InTeamsRange says whether an address is in one of the Teams ranges.
func (d *Data) InTeamsRange(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range d.Ranges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IsRelayPort says whether a UDP port is a Teams relay port.
func (d *Data) IsRelayPort(p uint16) bool { return d.RelayPorts.Contains(p) }

// IsTeamsName says whether a name matches a Teams name pattern.
func (d *Data) IsTeamsName(n string) bool {
	n = dissect.CanonicalName(n)
	for _, pat := range d.Names {
		if domain, ok := strings.CutPrefix(pat, "*."); ok {
			if strings.HasSuffix(n, "."+domain) {
				return true
			}
		} else if n == pat {
			return true
		}
	}
	return false
}

// isIntermediate says whether a name is under a CNAME intermediate domain.
func (d *Data) isIntermediate(n string) bool {
	for _, dom := range d.Intermediates {
		if n == dom || strings.HasSuffix(n, "."+dom) {
			return true
		}
	}
	return false
}

package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PortRange is an inclusive range of ports; the zero value is "none".
type PortRange struct{ Low, High uint16 }

// Contains says whether port is in the range.
func (r PortRange) Contains(port uint16) bool { return !r.IsZero() && port >= r.Low && port <= r.High }

// IsZero says whether the range is unset.
func (r PortRange) IsZero() bool { return r.Low == 0 && r.High == 0 }

func (r PortRange) overlaps(o PortRange) bool {
	return !r.IsZero() && !o.IsZero() && r.Low <= o.High && o.Low <= r.High
}

func (r PortRange) String() string {
	if r.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d-%d", r.Low, r.High)
}

// MarshalYAML writes the range as "LOW-HIGH", the way it is read.
func (r PortRange) MarshalYAML() (any, error) { return r.String(), nil }

// ParsePortRange reads "LOW-HIGH", a single port, or "" for none.
func ParsePortRange(s string) (PortRange, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return PortRange{}, nil
	}
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		hi = lo
	}
	l, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	h, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if err1 != nil || err2 != nil || l == 0 {
		return PortRange{}, fmt.Errorf("want a port range such as 50000-50019, got %q", s)
	}
	if l > h {
		return PortRange{}, fmt.Errorf("range %q is backwards: the low port comes first", s)
	}
	return PortRange{uint16(l), uint16(h)}, nil
}

// set parses s into the value p points to. The same parser serves flags,
// environment variables and YAML scalars, so all three accept the same
// spellings and fail with the same words.
func set(p any, s string) error {
	// Values end up in logs, the printed configuration and span
	// attributes, all of which are text.
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not UTF-8 text", s)
	}
	switch v := p.(type) {
	case *string:
		*v = s
	case *[]string:
		*v = splitList(s)
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		*v = b
	case *time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want a duration such as 1s, 500ms or 2m, got %q", s)
		}
		*v = d
	case *uint32:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return fmt.Errorf("want a whole number from 0 to 4294967295, got %q", s)
		}
		*v = uint32(n)
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", s)
		}
		*v = n
	case *PortRange:
		r, err := ParsePortRange(s)
		if err != nil {
			return err
		}
		*v = r
	case *map[string]string:
		m, err := parseHeaders(s)
		if err != nil {
			return err
		}
		*v = m
	default:
		panic(fmt.Sprintf("config: no parser for %T", p))
	}
	return nil
}

func splitList(s string) []string {
	out := []string{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseHeaders reads "key=value,key2=value2", as OTEL_EXPORTER_OTLP_HEADERS.
func parseHeaders(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, part := range splitList(s) {
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("want key=value pairs separated by commas, got %q", part)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

// format spells a value the way set reads it.
func format(p any) string {
	switch v := p.(type) {
	case *[]string:
		return strings.Join(*v, ",")
	case *map[string]string:
		var parts []string
		for k, val := range *v {
			parts = append(parts, k+"="+val)
		}
		sort.Strings(parts)
		return strings.Join(parts, ",")
	case *string:
		return *v
	case *PortRange:
		return v.String()
	}
	return fmt.Sprint(deref(p))
}

func deref(p any) any {
	switch v := p.(type) {
	case *bool:
		return *v
	case *time.Duration:
		return *v
	case *uint32:
		return *v
	case *int:
		return *v
	}
	return p
}

func typeName(p any) string {
	switch p.(type) {
	case *[]string:
		return "strings"
	case *bool:
		return "bool"
	case *time.Duration:
		return "duration"
	case *uint32, *int:
		return "int"
	case *PortRange:
		return "ports"
	case *map[string]string:
		return "key=value,..."
	}
	return "string"
}

package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadFile reads and checks a scenario file.
func LoadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading scenario: %w", err)
	}
	return Parse(filepath.Base(path), data)
}

// Parse decodes a scenario with unknown-field checking, validates it and
// applies defaults. Errors read "FILE:LINE: PATH: problem", one per line.
func Parse(file string, data []byte) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, decodeError(file, &root, err)
	}
	if errs := s.validate(); len(errs) > 0 {
		all := make([]error, 0, len(errs))
		for _, fe := range errs {
			all = append(all, fmt.Errorf("%s:%d: %s: %s", file, lineOf(&root, fe.path), fe.path, fe.msg))
		}
		return nil, errors.Join(all...)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(file, filepath.Ext(file))
	}
	s.ApplyDefaults()
	return &s, nil
}

var (
	typeErrLine  = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type`)
)

// decodeError rewrites yaml.v3's "line N: field x not found in type T"
// into the same FILE:LINE: PATH form that validation errors use, so a user
// sees where the bad field sits, not a Go type name.
func decodeError(file string, root *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %w", file, err)
	}
	all := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		m := typeErrLine.FindStringSubmatch(msg)
		if m == nil {
			all = append(all, fmt.Errorf("%s: %s", file, msg))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		if u := unknownField.FindStringSubmatch(m[2]); u != nil {
			path := pathAt(root, line, u[1])
			all = append(all, fmt.Errorf("%s:%d: %s: unknown field", file, line, path))
			continue
		}
		path := pathAt(root, line, "")
		all = append(all, fmt.Errorf("%s:%d: %s: %s", file, line, path, m[2]))
	}
	return errors.Join(all...)
}

// pathAt finds the path of the mapping key on line (named key, when given)
// or of the value on that line.
func pathAt(root *yaml.Node, line int, key string) string {
	var found string
	var walk func(n *yaml.Node, path string) bool
	walk = func(n *yaml.Node, path string) bool {
		switch n.Kind {
		case yaml.DocumentNode:
			return len(n.Content) > 0 && walk(n.Content[0], path)
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if walk(c, fmt.Sprintf("%s[%d]", path, i)) {
					return true
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				if k.Line == line && (key == "" || k.Value == key) {
					found = p
					return true
				}
				if walk(v, p) {
					return true
				}
			}
		default:
			if n.Line == line && key == "" {
				found = path
				return true
			}
		}
		return false
	}
	walk(root, "")
	if found == "" {
		return key
	}
	return found
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var pathElem = regexp.MustCompile(`^([a-z_]+)(?:\[(\d+)\])?$`)

// lineOf returns the line of the key named by a validation path, or of the
// closest enclosing node that exists (a missing field reports its parent).
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		m := pathElem.FindStringSubmatch(part)
		if m == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var val *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == m[1] {
				line, val = n.Content[i].Line, n.Content[i+1]
			}
		}
		if val == nil {
			return line
		}
		n = val
		if m[2] != "" {
			idx, _ := strconv.Atoi(m[2])
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

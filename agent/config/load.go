package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Sources are the places a configuration is read from.
type Sources struct {
	// File is the YAML file; "" means DefaultFile, or TEAMSFLOW_CONFIG when
	// that is set in Env.
	File string
	// Env is the environment, as os.Environ returns it.
	Env []string
	// Flags holds the flags given on the command line: key name (e.g.
	// "api.socket") to the flag's text.
	Flags map[string]string
	// FlagNames maps key names to the flag spelled in errors; missing
	// names fall back to the key's own flag.
	FlagNames map[string]string
}

// defaultFile is DefaultFile; tests point it elsewhere.
var defaultFile = DefaultFile

// envNotKeys are TEAMSFLOW_* variables that are not settings.
var envNotKeys = map[string]bool{"TEAMSFLOW_CONFIG": true, "TEAMSFLOW_SKIP_PRIVILEGED": true}

// Load reads the file, then the environment, then the flags, each
// overriding the one before, and validates the result. Errors name the key
// and where its value came from.
func Load(src Sources) (Config, error) {
	c := Default()
	c.origin = map[string]string{}
	path, explicit := src.File, src.File != ""
	if !explicit {
		if p, ok := lookupEnv(src.Env, "TEAMSFLOW_CONFIG"); ok && p != "" {
			path, explicit = p, true
		} else {
			path = defaultFile
		}
	}
	if err := c.loadFile(path, explicit); err != nil {
		return Config{}, err
	}
	if err := c.loadEnv(src.Env); err != nil {
		return Config{}, err
	}
	if err := c.loadFlags(src); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func lookupEnv(env []string, name string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

func (c *Config) loadFile(path string, explicit bool) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the configuration: %w", err)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file sets nothing
		}
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // only comments
	}
	return c.loadMapping(path, root, "")
}

// loadMapping walks a YAML mapping; prefix is the path of the mapping
// ("" at the top, "api." inside api).
func (c *Config) loadMapping(path string, n *yaml.Node, prefix string) error {
	if n.Kind != yaml.MappingNode {
		what := strings.TrimSuffix(prefix, ".")
		if what == "" {
			what = "the top level"
		}
		return fmt.Errorf("%s:%d: %s: want a mapping of keys, got %s", path, n.Line, what, kindName(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		name := prefix + kn.Value
		at := fmt.Sprintf("%s:%d", path, kn.Line)
		if k, ok := findKey(name); ok {
			if err := setNode(k.field(c), vn); err != nil {
				return fmt.Errorf("%s: %s: %w", at, name, err)
			}
			c.origin[name] = at
			continue
		}
		if isSection(name) {
			if err := c.loadMapping(path, vn, name+"."); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("%s: unknown key %q%s", at, name, suggest(name))
	}
	return nil
}

func isSection(name string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k.Name, name+".") {
			return true
		}
	}
	return false
}

// suggest names the keys of a section, or a key that differs only in
// spelling, so that a typo is a one-line fix.
func suggest(name string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "", ".", "").Replace(strings.ToLower(s))
	}
	var same []string
	for _, k := range keys {
		if norm(k.Name) == norm(name) {
			return fmt.Sprintf(" (did you mean %q?)", k.Name)
		}
		if i := strings.LastIndex(name, "."); i > 0 && strings.HasPrefix(k.Name, name[:i+1]) {
			same = append(same, k.Name)
		}
	}
	if len(same) > 0 {
		return " (known: " + strings.Join(same, ", ") + ")"
	}
	return ""
}

// setNode sets a value from a YAML node: sequences for lists, mappings for
// headers, scalars for the rest (parsed like flags).
func setNode(p any, n *yaml.Node) error {
	switch v := p.(type) {
	case *[]string:
		if n.Kind == yaml.ScalarNode {
			return set(p, scalar(n))
		}
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("want a list, got %s", kindName(n))
		}
		out := []string{}
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!binary" {
				return fmt.Errorf("line %d: want a string in the list, got %s", item.Line, kindName(item))
			}
			out = append(out, item.Value)
		}
		*v = out
		return nil
	case *map[string]string:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("want a mapping of names to values, got %s", kindName(n))
		}
		m := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i+1].Kind != yaml.ScalarNode {
				return fmt.Errorf("%s: want a string, got %s", n.Content[i].Value, kindName(n.Content[i+1]))
			}
			m[n.Content[i].Value] = n.Content[i+1].Value
		}
		*v = m
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a single value, got %s", kindName(n))
	}
	if n.Tag == "!!binary" {
		return errors.New("want text, got a !!binary value")
	}
	return set(p, scalar(n))
}

func scalar(n *yaml.Node) string {
	if n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!binary" {
		return "a !!binary value"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (c *Config) loadEnv(env []string) error {
	byEnv := map[string]Key{}
	for _, k := range keys {
		byEnv[k.Env()] = k
	}
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "TEAMSFLOW_") || envNotKeys[name] {
			continue
		}
		k, ok := byEnv[name]
		if !ok {
			// The environment is shared with other tools; a stray variable
			// is worth a warning, not a refusal to start.
			c.Warnings = append(c.Warnings, fmt.Sprintf("ignoring %s: not a teamsflow setting", name))
			continue
		}
		if err := set(k.field(c), val); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		c.origin[k.Name] = name
	}
	return nil
}

func (c *Config) loadFlags(src Sources) error {
	for _, k := range keys {
		val, ok := src.Flags[k.Name]
		if !ok {
			continue
		}
		flag := "--" + k.Flag
		if f, ok := src.FlagNames[k.Name]; ok {
			flag = "--" + f
		}
		if err := set(k.field(c), val); err != nil {
			return fmt.Errorf("invalid %s: %w", flag, err)
		}
		c.origin[k.Name] = flag
	}
	for name := range src.Flags {
		if _, ok := findKey(name); !ok {
			return fmt.Errorf("config: flag for unknown key %q", name)
		}
	}
	return nil
}

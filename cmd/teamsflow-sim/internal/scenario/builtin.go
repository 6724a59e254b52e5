package scenario

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtin is a built-in scenario's name and one-line description.
type Builtin struct {
	Name, Description string
}

// Builtins lists the built-in scenarios by name.
func Builtins() ([]Builtin, error) {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		return nil, fmt.Errorf("listing built-in scenarios: %w", err)
	}
	var out []Builtin
	for _, e := range entries {
		s, err := builtin(strings.TrimSuffix(e.Name(), ".yaml"))
		if err != nil {
			return nil, err
		}
		out = append(out, Builtin{s.Name, s.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func builtin(name string) (*Scenario, error) {
	data, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no built-in scenario %q (see `teamsflow-sim scenarios`)", name)
	}
	return Parse(name+".yaml", data)
}

// Load resolves a --scenario argument: a built-in name, else a file path.
func Load(nameOrFile string) (*Scenario, error) {
	if _, err := builtinFS.Open("builtin/" + nameOrFile + ".yaml"); err == nil {
		return builtin(nameOrFile)
	}
	if _, err := os.Stat(nameOrFile); err != nil {
		return nil, fmt.Errorf("loading scenario %q: not a built-in name nor a readable file: %w", nameOrFile, err)
	}
	return LoadFile(nameOrFile)
}

package contract

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// kernelObjects are the committed kernel objects of every architecture.
func kernelObjects(t *testing.T) []string {
	t.Helper()
	objs, err := filepath.Glob("../*_bpfel.o")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no kernel objects next to bpf/contract (%v): run make generate", err)
	}
	return objs
}

// TestEveryKernelEnumValueHasItsGoName reads each shared enum from every
// kernel object's BTF: a value the C has and Go lacks (or has with another
// number) fails, so a new counter, event type or protocol bit cannot go
// unreported.
func TestEveryKernelEnumValueHasItsGoName(t *testing.T) {
	for _, obj := range kernelObjects(t) {
		spec, err := btf.LoadSpec(obj)
		if err != nil {
			t.Fatalf("reading BTF of %s: %v", obj, err)
		}
		for name, goValues := range generatedEnums {
			var e *btf.Enum
			if err := spec.TypeByName(name, &e); err != nil {
				t.Errorf("%s: enum %s: %v", obj, name, err)
				continue
			}
			cValues := map[string]uint64{}
			for _, v := range e.Values {
				cValues[v.Name] = v.Value
				if got, ok := goValues[v.Name]; !ok || got != v.Value {
					t.Errorf("%s: %s = %d has no Go constant of that value (Go: %d, %v): run make generate", obj, v.Name, v.Value, got, ok)
				}
			}
			for cName := range goValues {
				if _, ok := cValues[cName]; !ok {
					t.Errorf("%s: Go has %s, the kernel object does not: run make generate", obj, cName)
				}
			}
		}
	}
}

// TestEveryCounterHasOneName: each kernel counter is reported under a name
// of its own.
func TestEveryCounterHasOneName(t *testing.T) {
	seen := map[string]Counter{}
	for c := Counter(0); c < NumCounters; c++ {
		name := CounterNames[c]
		if name == "" || strings.ToLower(name) != name {
			t.Errorf("counter %d is named %q", c, name)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("counters %d and %d are both named %q", prev, c, name)
		}
		seen[name] = c
	}
	if int(NumCounters) != len(generatedEnums["tf_counter"])-1 {
		t.Errorf("%d counters, but enum tf_counter has %d values besides TF_CNT_MAX", NumCounters, len(generatedEnums["tf_counter"])-1)
	}
}

// TestStructLayoutsMatchTheKernelObjects compares each shared struct's size
// and field offsets in Go with every kernel object's BTF, as Go reads the
// kernel's records in place.
func TestStructLayoutsMatchTheKernelObjects(t *testing.T) {
	for _, obj := range kernelObjects(t) {
		spec, err := btf.LoadSpec(obj)
		if err != nil {
			t.Fatalf("reading BTF of %s: %v", obj, err)
		}
		for name, goValue := range generatedStructs {
			var s *btf.Struct
			if err := spec.TypeByName(name, &s); err != nil {
				continue // not every object uses every struct
			}
			compareLayout(t, obj, s, reflect.TypeOf(goValue))
		}
	}
}

func compareLayout(t *testing.T, obj string, s *btf.Struct, g reflect.Type) {
	t.Helper()
	if uintptr(s.Size) != g.Size() {
		t.Errorf("%s: struct %s is %d bytes, Go's %s %d", obj, s.Name, s.Size, g.Name(), g.Size())
	}
	goFields := map[string]uintptr{}
	for i := range g.NumField() {
		goFields[strings.ToLower(g.Field(i).Name)] = g.Field(i).Offset
	}
	for _, m := range s.Members {
		off, ok := goFields[strings.ReplaceAll(m.Name, "_", "")]
		if !ok || off != uintptr(m.Offset.Bytes()) {
			t.Errorf("%s: %s.%s at byte %d, Go's at %d (present: %v)", obj, s.Name, m.Name, m.Offset.Bytes(), off, ok)
		}
	}
}

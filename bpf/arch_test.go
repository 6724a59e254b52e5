package bpf

import (
	"bufio"
	"encoding/binary"
	"go/build/constraint"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
)

// TestBindingsServeAMD64AndARM64: the kernel objects are built once for
// every little-endian architecture (-target bpfel; check-generated requires
// the amd64 and arm64 builds to be the same bytes), so the bindings must
// build on both.
func TestBindingsServeAMD64AndARM64(t *testing.T) {
	files, err := filepath.Glob("*_bpfel.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bindings (%v)", err)
	}
	for _, f := range files {
		expr := buildConstraint(t, f)
		for _, arch := range []string{"amd64", "arm64"} {
			if !expr.Eval(func(tag string) bool { return tag == arch || tag == "linux" }) {
				t.Errorf("%s (%s) does not build on linux/%s", f, expr, arch)
			}
		}
	}
}

func buildConstraint(t *testing.T, file string) constraint.Expr {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	for sc := bufio.NewScanner(fh); sc.Scan(); {
		if line := sc.Text(); constraint.IsGoBuild(line) {
			expr, err := constraint.Parse(line)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			return expr
		}
	}
	t.Fatalf("%s has no //go:build line", file)
	return nil
}

// TestEmbeddedObjectsHaveTheirProgramsAndMaps reads each embedded object's
// ELF and BTF on the architecture the test runs on (make cross runs it on
// arm64 too, under qemu) and requires every program and map the loader
// names.
func TestEmbeddedObjectsHaveTheirProgramsAndMaps(t *testing.T) {
	objects := []struct {
		name  string
		load  func() (*ebpf.CollectionSpec, error)
		specs any
	}{
		{"sock", loadSock, new(sockSpecs)},
		{"proc", loadProc, new(procSpecs)},
		{"tc", loadTc, new(tcSpecs)},
		{"tcCompat", loadTcCompat, new(tcCompatSpecs)},
	}
	for _, o := range objects {
		spec, err := o.load()
		if err != nil {
			t.Errorf("%s: reading the object: %v", o.name, err)
			continue
		}
		if spec.Types == nil {
			t.Errorf("%s: no BTF", o.name)
		}
		if err := spec.Assign(o.specs); err != nil {
			t.Errorf("%s: %v", o.name, err)
		}
		if spec.ByteOrder != binary.LittleEndian {
			t.Errorf("%s: byte order %v", o.name, spec.ByteOrder)
		}
	}
}

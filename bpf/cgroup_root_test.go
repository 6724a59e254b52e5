package bpf

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The mountinfo root field tells a mount of the whole hierarchy from one
// of a sub-tree (a container's cgroup bind-mounted, or a mount made in a
// cgroup namespace seen from outside it).
func TestCgroup2Mounts(t *testing.T) {
	info := `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
75 55 0:37 /kubepods/pod1 /host\040cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
`
	path := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(path, []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := cgroup2Mounts(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []cgroup2Mount{{"/", "/sys/fs/cgroup/unified"}, {"/kubepods/pod1", "/host cgroup"}}
	if !slices.Equal(got, want) {
		t.Errorf("cgroup2 mounts %v, want %v", got, want)
	}
	if _, err := cgroup2Mounts(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing mountinfo gave no error")
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/tab\011`: "/tab\t", `/x\\`: `/x\\`, `/end\04`: `/end\04`, "/plain": "/plain"} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

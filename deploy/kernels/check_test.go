package kernels

import (
	"os"
	"strings"
	"testing"
)

// A real console of Debian 12's 6.1 kernel passes; each kind of damage to
// it fails, naming what is missing.
func TestCheckSmokeReadsAConsole(t *testing.T) {
	b, err := os.ReadFile("testdata/debian-6.1.console")
	if err != nil {
		t.Fatal(err)
	}
	good := string(b)
	if r := checkSmoke(good); r.Err() != nil || r.Kernel != "6.1.0-57-cloud-amd64" {
		t.Fatalf("real 6.1 console: kernel %q, %v", r.Kernel, r.Err())
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"rtp not labelled", `"label":"audio"`, `"label":"other"`, "no record of rtp source"},
		{"udp owner unknown", `"comm":"tf-udp"`, `"comm":""`, "no record of udp sender"},
		{"tcp socket unknown", `"owner_source":"socket"`, `"owner_source":"backfill"`, "no record of tcp client"},
		{"capture failed", "TFK capture-exit 0", "TFK capture-exit 1", `capture-exit exited "1"`},
		{"no init", "TFK kernel", "TFK kernelx", "never ran its init"},
		{"load refused", "TFK end", "TFK log Error: loading traffic programs: verifier: R3 pointer arithmetic on sock prohibited\nTFK end", "pointer arithmetic"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.ReplaceAll(good, c.old, c.new)
			if bad == good {
				t.Fatalf("the console has no %q", c.old)
			}
			err := checkSmoke(bad).Err()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// The image is what the kernel unpacks: newc headers, 4-byte alignment,
// a trailer.
func TestInitramfsIsNewcCpio(t *testing.T) {
	out := t.TempDir() + "/i.cpio"
	err := writeInitramfs(out, map[string]entry{
		"bin": {Mode: 0o755, Dir: true}, "bin/sh": {Link: "busybox"},
		"init": {Mode: 0o755, Data: []byte("#!/bin/sh\n")}, "dev/console": {Mode: 0o600, Dev: &[2]uint32{5, 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 || !strings.HasPrefix(string(b), "070701") || !strings.Contains(string(b), "TRAILER!!!\x00") {
		t.Fatalf("not a newc archive: %q", b)
	}
	if n := strings.Count(string(b), "070701"); n != 5 {
		t.Fatalf("%d headers, want 4 entries and the trailer", n)
	}
	// dev/console: a character device 5:1 (rdevmajor, rdevminor fields).
	i := strings.Index(string(b), "dev/console")
	hdr := string(b[i-110 : i])
	if hdr[14:22] != "00002180" || hdr[78:86] != "00000005" || hdr[86:94] != "00000001" {
		t.Fatalf("console header %q", hdr)
	}
}

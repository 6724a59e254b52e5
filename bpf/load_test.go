package bpf

import (
	"testing"

	"github.com/teamsflow/teamsflow/agent/testenv"
)

func TestLoadAndAttach(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, err := Load(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	root, err := CgroupV2Root()
	if err != nil {
		t.Fatal(err)
	}
	socks, err := o.AttachSockets(root)
	if err != nil {
		t.Fatal(err)
	}
	defer socks.Close()
	procs, err := o.AttachProcesses()
	if err != nil {
		t.Fatal(err)
	}
	defer procs.Close()
	tc, err := o.AttachTC(1, true, TCX)
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.Close(); err != nil {
		t.Fatal(err)
	}
}

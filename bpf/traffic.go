package bpf

import (
	"errors"

	"github.com/cilium/ebpf"
)

// trafficObjects are the traffic programs the agent uses and the maps.
// Both builds of tc.c (tc and tcCompat) have the same maps.
type trafficObjects struct {
	tcMaps
	TfClockSample *ebpf.Program `ebpf:"tf_clock_sample"`
	// cls is the classifier by [l2][egress]: the kfunc build's one program
	// for both hooks, or the compat build's one per direction.
	cls [2][2]*ebpf.Program
}

// classifiers lists the distinct classifier programs.
func (t *trafficObjects) classifiers() []*ebpf.Program {
	var out []*ebpf.Program
	seen := map[*ebpf.Program]bool{nil: true}
	for _, byDir := range t.cls {
		for _, p := range byDir {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

func (t *trafficObjects) Close() error {
	errs := []error{t.tcMaps.Close(), t.TfClockSample.Close()}
	for _, p := range t.classifiers() {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// kfuncClassifiers are the kfunc build's classifiers: each reads its
// direction from the hook.
type kfuncClassifiers struct {
	TfTc  *ebpf.Program `ebpf:"tf_tc"`
	TfTc3 *ebpf.Program `ebpf:"tf_tc3"`
}

// compatClassifiers are the compat build's: one per hook direction.
type compatClassifiers struct {
	TfTcIn  *ebpf.Program `ebpf:"tf_tc_in"`
	TfTcEg  *ebpf.Program `ebpf:"tf_tc_eg"`
	TfTc3In *ebpf.Program `ebpf:"tf_tc3_in"`
	TfTc3Eg *ebpf.Program `ebpf:"tf_tc3_eg"`
}

// testClassifiers are tf_tc with the direction fixed: BPF_PROG_TEST_RUN
// runs a program as if at egress.
type testClassifiers struct {
	TfTcTestEgress  *ebpf.Program `ebpf:"tf_tc_test_egress"`
	TfTcTestIngress *ebpf.Program `ebpf:"tf_tc_test_ingress"`
}

func (t *testClassifiers) Close() error {
	return _TcClose(t.TfTcTestEgress, t.TfTcTestIngress) // nil when not loaded: Close does nothing
}

type trafficBase struct {
	tcMaps
	TfClockSample *ebpf.Program `ebpf:"tf_clock_sample"`
}

// loadTraffic loads the traffic programs of the build that fits the
// kernel: the kfunc build with the test classifiers if asked (the agent
// leaves them out, as each costs load time), or the compat build, whose
// programs serve as test classifiers as they are.
func (o *Objects) loadTraffic(spec *ebpf.CollectionSpec, shared *ebpf.CollectionOptions, test bool) error {
	if !o.kernel.Kfuncs {
		var c struct {
			trafficBase
			compatClassifiers
		}
		if err := spec.LoadAndAssign(&c, shared); err != nil {
			return err
		}
		o.tc = trafficObjects{tcMaps: c.tcMaps, TfClockSample: c.TfClockSample,
			cls: [2][2]*ebpf.Program{{c.TfTc3In, c.TfTc3Eg}, {c.TfTcIn, c.TfTcEg}}}
		return nil
	}
	var c struct {
		trafficBase
		kfuncClassifiers
	}
	var withTest struct {
		trafficBase
		kfuncClassifiers
		testClassifiers
	}
	if test {
		if err := spec.LoadAndAssign(&withTest, shared); err != nil {
			return err
		}
		c.trafficBase, c.kfuncClassifiers, o.test = withTest.trafficBase, withTest.kfuncClassifiers, withTest.testClassifiers
	} else if err := spec.LoadAndAssign(&c, shared); err != nil {
		return err
	}
	o.tc = trafficObjects{tcMaps: c.tcMaps, TfClockSample: c.TfClockSample,
		cls: [2][2]*ebpf.Program{{c.TfTc3, c.TfTc3}, {c.TfTc, c.TfTc}}}
	return nil
}

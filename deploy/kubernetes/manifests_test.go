// Package kubernetes tests the DaemonSet manifests: each decodes strictly
// against the Kubernetes API types (an unknown or misspelt field fails),
// the objects refer to each other correctly, and the agent gets the same
// capabilities as the systemd unit. It is its own module so that the
// agent's dependencies stay free of Kubernetes:
//
//	cd deploy/kubernetes && go test ./...
package kubernetes

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
)

// decodeAll decodes every document of every manifest in this folder.
func decodeAll(t *testing.T) []runtime.Object {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	files, _ := filepath.Glob("*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests")
	}
	var objs []runtime.Object
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(raw, []byte("\n---\n")) {
			obj, _, err := strict.Decode(doc, nil, nil)
			if err != nil {
				t.Errorf("%s, document %d: %v", file, i+1, err)
				continue
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

// manifests are the decoded objects, one of each kind.
type manifests struct {
	ns        *corev1.Namespace
	sa        *corev1.ServiceAccount
	config    *corev1.ConfigMap
	daemonSet *appsv1.DaemonSet
}

func load(t *testing.T) manifests {
	t.Helper()
	var m manifests
	for _, obj := range decodeAll(t) {
		switch o := obj.(type) {
		case *corev1.Namespace:
			m.ns = o
		case *corev1.ServiceAccount:
			m.sa = o
		case *corev1.ConfigMap:
			m.config = o
		case *appsv1.DaemonSet:
			m.daemonSet = o
		default:
			t.Errorf("unexpected %T", obj)
		}
	}
	if m.ns == nil || m.sa == nil || m.config == nil || m.daemonSet == nil {
		t.Fatalf("want a Namespace, ServiceAccount, ConfigMap and DaemonSet, got %+v", m)
	}
	return m
}

// A misspelt field must fail, or the strict decoding proves nothing.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = appsv1.AddToScheme(scheme)
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	doc := "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec: {hostPid: true}\n"
	if _, _, err := strict.Decode([]byte(doc), nil, nil); err == nil || !strings.Contains(err.Error(), "hostPid") {
		t.Errorf("unknown field hostPid: %v; want a strict decoding error naming it", err)
	}
}

func TestManifestsReferToEachOther(t *testing.T) {
	m := load(t)
	for _, meta := range []string{m.sa.Namespace, m.config.Namespace, m.daemonSet.Namespace} {
		if meta != m.ns.Name {
			t.Errorf("object in namespace %q, want %q", meta, m.ns.Name)
		}
	}
	pod := m.daemonSet.Spec.Template.Spec
	if pod.ServiceAccountName != m.sa.Name {
		t.Errorf("DaemonSet uses service account %q, want %q", pod.ServiceAccountName, m.sa.Name)
	}
	var configMapped bool
	for _, v := range pod.Volumes {
		configMapped = configMapped || (v.ConfigMap != nil && v.ConfigMap.Name == m.config.Name)
	}
	if !configMapped {
		t.Errorf("no volume mounts ConfigMap %q", m.config.Name)
	}
	sel := m.daemonSet.Spec.Selector.MatchLabels
	for k, v := range sel {
		if m.daemonSet.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template's labels", k, v)
		}
	}
}

// The pod sees the node (host PID and network namespaces, the cgroup
// hierarchy), runs on every node, is not privileged, and holds exactly the
// systemd unit's capabilities.
func TestDaemonSetRunsWithTheUnitsCapabilities(t *testing.T) {
	pod := load(t).daemonSet.Spec.Template.Spec
	if !pod.HostPID || !pod.HostNetwork {
		t.Errorf("hostPID %v hostNetwork %v; the agent needs both", pod.HostPID, pod.HostNetwork)
	}
	if len(pod.Tolerations) != 1 || pod.Tolerations[0].Operator != corev1.TolerationOpExists || pod.Tolerations[0].Key != "" {
		t.Errorf("tolerations %+v; want one that tolerates every taint", pod.Tolerations)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Privileged == nil || *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Fatalf("security context %+v; want privileged and allowPrivilegeEscalation false", sc)
	}
	var added []string
	for _, cp := range sc.Capabilities.Add {
		added = append(added, "CAP_"+string(cp))
	}
	if want := unitCapabilities(t); !slices.Equal(added, want) || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities drop %v add %v; want drop [ALL] add %v (the systemd unit's)", sc.Capabilities.Drop, added, want)
	}
	mounts := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.MountPath] = true
	}
	if !mounts["/sys/fs/cgroup"] || !mounts["/etc/teamsflow"] {
		t.Errorf("mounts %v; want the node's /sys/fs/cgroup and the configuration", mounts)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v; want requests and limits", c.Resources)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if !strings.HasPrefix(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector.observability.svc:") {
		t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT %q; want the collector Service", env["OTEL_EXPORTER_OTLP_ENDPOINT"])
	}
}

// unitCapabilities reads AmbientCapabilities of the systemd unit.
func unitCapabilities(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../systemd/teamsflow.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "AmbientCapabilities="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatal("the unit has no AmbientCapabilities")
	return nil
}

// The ConfigMap's config.yaml is a configuration the agent accepts: it is
// loaded by the agent built from this repository.
func TestConfigMapLoadsInTheAgent(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(load(t).config.Data["config.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "teamsflow")
	if out, err := exec.Command("go", "-C", "../..", "build", "-o", bin, "./cmd/teamsflow").CombinedOutput(); err != nil {
		t.Fatalf("building the agent: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "run", "--config", cfg, "--print-config").CombinedOutput(); err != nil {
		t.Errorf("the agent rejects the ConfigMap's config.yaml: %v\n%s", err, out)
	}
}

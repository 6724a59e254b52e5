/* Maps shared by the kernel programs. Every object includes this header;
 * the loader creates each map once and hands it to the other objects
 * (MapReplacements), so all programs see the same instances.
 */
#pragma once

/* The kernel's own structs are not ours to pad. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpadded"
#include "headers/vmlinux.h"
#pragma clang diagnostic pop
#include "headers/bpf_helpers.h"
#include "tf_types.h"

/* Owner of each socket. Inserted by the cgroup socket hooks and sock_ops
 * (from the current task, in process context only); read by TC on a flow's
 * first packets and by the hooks that emit events. Deleted by the kernel
 * with the socket. BPF_F_CLONE makes accepted sockets inherit the
 * listener's owner. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct tf_owner);
} tf_owners SEC(".maps");

/* Per-flow counters. Inserted by TC on a flow's first packet; updated by TC
 * on every packet; read and deleted (when idle) by the agent. Not LRU: an
 * evicted flow would vanish silently, a full map is counted instead. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tf_flow_key);
	__type(value, struct tf_flow_stats);
} tf_flows SEC(".maps");

/* Socket and process events. Written by the socket hooks, sock_ops and
 * the exec/exit tracepoints; read by the agent. A full buffer is counted. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} tf_events SEC(".maps");

/* Loss and anomaly counters (enum tf_counter), per CPU; read by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TF_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tf_counters SEC(".maps");

static __always_inline void tf_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&tf_counters, &idx);
	if (v)
		(*v)++;
}

/* Referenced so that the types are in every object's BTF, where
 * bpf/internal/contractgen reads the Go contract (bpf/contract) from. */
const struct tf_sock_event *unused_tf_sock_event __attribute__((unused));
const struct tf_proc_event *unused_tf_proc_event __attribute__((unused));
const struct tf_flow_key *unused_tf_flow_key __attribute__((unused));
const struct tf_flow_stats *unused_tf_flow_stats __attribute__((unused));
const struct tf_clock *unused_tf_clock __attribute__((unused));
const struct tf_flow_slot *unused_tf_flow_slot __attribute__((unused));
const enum tf_counter *unused_tf_counter __attribute__((unused));
const enum tf_event_type *unused_tf_event_type __attribute__((unused));
const enum tf_proto_bits *unused_tf_proto_bits __attribute__((unused));
const enum tf_sample_kind *unused_tf_sample_kind __attribute__((unused));

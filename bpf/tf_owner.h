/* Filling a socket's owner from the current task. Only valid in process
 * context: the cgroup socket hooks, sock_ops TCP_CONNECT, and TC egress of
 * a datagram from a UDP socket (tf_owner_sender). Never from ingress or
 * other softirq paths, where the current task is unrelated. */
#pragma once

#include "tf_maps.h"
#include "headers/bpf_core_read.h"

#define AF_INET	 2
#define AF_INET6 10
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#define TF_PF_KTHREAD 0x00200000

/* Go >= 1.24 listeners are MPTCP; their subflows are TCP. Report as TCP. */
static __always_inline __u8 tf_l4(__u32 protocol)
{
	return protocol == IPPROTO_MPTCP ? IPPROTO_TCP : (__u8)protocol;
}

static __always_inline int tf_is_inet(__u32 family)
{
	return family == AF_INET || family == AF_INET6;
}

static __always_inline struct tf_sock_event *tf_sock_event_new(__u32 type, __u64 cookie)
{
	struct tf_sock_event *e = bpf_ringbuf_reserve(&tf_events, sizeof(*e), 0);
	if (!e) {
		tf_count(TF_CNT_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cookie = cookie;
	return e;
}

static __always_inline void tf_copy_owner(struct tf_sock_event *e, const struct tf_owner *o)
{
	if (o)
		__builtin_memcpy(&e->owner, o, sizeof(*o));
}

/* tf_sock_event_send sends one socket event; a full buffer is counted. */
static __always_inline void tf_sock_event_send(__u32 type, __u64 cookie, __u32 family, __u32 protocol,
					       const struct tf_owner *o, __u64 netns_cookie)
{
	struct tf_sock_event *e = tf_sock_event_new(type, cookie);
	if (!e)
		return;
	e->family = family;
	e->protocol = tf_l4(protocol);
	e->netns_cookie = netns_cookie;
	tf_copy_owner(e, o);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void tf_owner_from_current(struct tf_owner *o)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct task_struct *task = bpf_get_current_task_btf();

	o->tgid = pid_tgid >> 32;
	o->pid = (__u32)pid_tgid;
	o->uid = (__u32)uid_gid;
	o->gid = uid_gid >> 32;
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* The same from the task's own fields, read by probe: for sock_ops on
 * kernels that do not let it call the helpers above (6.1 offers it
 * bpf_get_current_task_btf only). */
static __always_inline void tf_owner_from_task(struct tf_owner *o, struct task_struct *task)
{
	o->tgid = BPF_CORE_READ(task, tgid);
	o->pid = BPF_CORE_READ(task, pid);
	o->uid = BPF_CORE_READ(task, cred, uid.val);
	o->gid = BPF_CORE_READ(task, cred, gid.val);
	o->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	o->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	BPF_CORE_READ_STR_INTO(&o->comm, task, comm);
}

/* tf_owner_update records the current task as the socket's owner. It
 * returns 1 when the owner is new or changed (worth an event), 0 when it
 * was already recorded, -1 when storage could not be had. from_task is a
 * constant, or a setting the verifier knows (dead code is not checked):
 * 1 to read the task's fields instead of calling the current-task helpers. */
static __always_inline int tf_owner_update(void *sk, struct tf_owner **out, __u32 from_task)
{
	struct tf_owner *o = bpf_sk_storage_get(&tf_owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o) {
		tf_count(TF_CNT_OWNER_STORE_FAIL);
		return -1;
	}
	*out = o;
	if (from_task) {
		struct task_struct *task = bpf_get_current_task_btf();
		if (o->tgid == BPF_CORE_READ(task, tgid))
			return 0;
		tf_owner_from_task(o, task);
		return 1;
	}
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (o->tgid == tgid)
		return 0;
	tf_owner_from_current(o);
	return 1;
}

/* Set by the loader (before load: the verifier then never checks the
 * branch it guards) on kernels whose TC programs may call the current-task
 * helpers (probed: 6.18 here, not 6.1). The agent then leaves the cgroup sendmsg/recvmsg hooks
 * off: with any program there, the kernel takes the socket lock around
 * every datagram sent or received with an address (the unconnected
 * sockets WebRTC media uses), and finds a new sender here instead. */
volatile const __u32 tf_tc_task = 0;

/* The kernel's page size, set by the loader with tf_tc_task: a task's
 * stack is that many bytes a page of its vmalloc area. */
volatile const __u32 tf_page_size = 0;

struct vm_struct___stack {
	unsigned int nr_pages;
} __attribute__((preserve_access_index));

struct task_struct___stack {
	void *stack;
	struct vm_struct___stack *stack_vm_area;
} __attribute__((preserve_access_index));

/* tf_on_task_stack says whether the program runs on the current task's
 * own kernel stack. A softirq run where another task enables bottom
 * halves again (a datagram of its own, a packet socket's frame) runs on
 * the CPU's softirq stack on x86-64 and arm64, and is told apart here. A
 * softirq run at the exit of an interrupt may run on the interrupted
 * task's stack, and is not: telling it needs preempt_count, which this
 * loader cannot reach yet (a typed per-CPU ksym). The stack's size is its
 * vmalloc area's pages (CONFIG_VMAP_STACK, the default on both); where it
 * cannot be read the answer is no, and the creator stays the owner. */
static __always_inline int tf_on_task_stack(struct task_struct *task)
{
	struct task_struct___stack *t = (void *)task;
	if (!tf_page_size || !bpf_core_field_exists(t->stack_vm_area))
		return 0;
	__u64 size = (__u64)BPF_CORE_READ(t, stack_vm_area, nr_pages) * tf_page_size;
	__u64 base = (__u64)BPF_CORE_READ(t, stack);
	/* This frame's address as a number: the verifier allows no
	 * arithmetic between a stack pointer and an unknown kernel address,
	 * so the address is read back through a helper. */
	__u64 here = 0;
	void *frame = &here;
	if (bpf_probe_read_kernel(&here, sizeof(here), &frame))
		return 0;
	return here - base < size;
}

/* tf_owner_sender makes the current task the owner of a UDP socket whose
 * datagram TC egress sees. udp_sendmsg builds and transmits the datagram
 * in the sending task, so the current task is the sender there: a process
 * that got the socket through fork or a passed descriptor, or one older
 * than the agent, is found by its first datagram on a flow. Called on a
 * flow's first packets and after idle spells only, like the socket's
 * owner read. Left out: the idle task and kernel threads, and softirqs
 * where they can be told (tf_on_task_stack): a datagram held for
 * neighbour resolution leaves when the reply comes, in softirq on
 * whatever task the CPU runs then.
 * Returns 0 then (no sender to be read: the flow's next datagrams look
 * again), 1 when the sender was read or there is none to read here. */
static __always_inline int tf_owner_sender(struct bpf_sock *sk, __u64 cookie, __u64 netns)
{
	if (!tf_tc_task || sk->protocol != IPPROTO_UDP)
		return 1;
	if ((bpf_get_current_pid_tgid() >> 32) == 0)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if ((BPF_CORE_READ(task, flags) & TF_PF_KTHREAD) || !tf_on_task_stack(task))
		return 0;
	struct tf_owner *o = NULL;
	if (tf_owner_update(sk, &o, 0) > 0)
		tf_sock_event_send(TF_EV_SOCK_OWNER, cookie, sk->family, sk->protocol, o, netns);
	return 1;
}

/* Filling a socket's owner from the current task. Only valid in process
 * context: the cgroup socket hooks and sock_ops TCP_CONNECT. Never called
 * from TC or softirq paths, where the current task is unrelated. */
#pragma once

#include "tf_maps.h"
#include "headers/bpf_core_read.h"

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

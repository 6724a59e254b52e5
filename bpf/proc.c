//go:build ignore

/* Process exec and exit, so that a process is still named after it is gone.
 *
 * Logic:
 * 1. tp_btf/sched_process_exec (exec_binprm(), in the new image) sends the
 *    process's pid, parent, start time, comm, filename and the first bytes
 *    of its argv to the ring buffer.
 * 2. tp_btf/sched_process_exit (do_exit()) sends the exit of a whole thread
 *    group, so the agent can age out its process cache.
 * tp_btf needs no tracefs; its arguments are typed from the kernel's BTF,
 * which keeps working when tracepoint formats change.
 */

#include "tf_maps.h"
#include "headers/bpf_tracing.h"
#include "headers/bpf_core_read.h"

char __license[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct tf_proc_event *tf_proc_event_new(__u32 type, struct task_struct *p)
{
	struct tf_proc_event *e = bpf_ringbuf_reserve(&tf_events, sizeof(*e), 0);
	if (!e) {
		tf_count(TF_CNT_EVENTS_LOST);
		return NULL;
	}
	e->type = type;
	e->tgid = BPF_CORE_READ(p, tgid);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->uid = BPF_CORE_READ(p, cred, uid.val);
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->start_ns = BPF_CORE_READ(p, group_leader, start_boottime);
	e->exit_code = 0;
	e->args_len = 0;
	e->filename[0] = 0;
	e->args[0] = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	return e;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tf_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct tf_proc_event *e = tf_proc_event_new(TF_EV_PROC_EXEC, p);
	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));

	/* argv was just copied onto the new stack, so it is resident. */
	unsigned long start = BPF_CORE_READ(p, mm, arg_start);
	unsigned long end = BPF_CORE_READ(p, mm, arg_end);
	__u32 len = end > start ? end - start : 0;
	if (len > TF_ARGS_LEN)
		len = TF_ARGS_LEN;
	/* Bounded read: never past arg_end, where the environment (and its
	 * secrets) begins. */
	if (len > 0 && len <= TF_ARGS_LEN && bpf_probe_read_user(e->args, len, (void *)start) == 0)
		e->args_len = len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tf_exit, struct task_struct *p, bool group_dead)
{
	if (!group_dead)
		return 0;
	struct tf_proc_event *e = tf_proc_event_new(TF_EV_PROC_EXIT, p);
	if (!e)
		return 0;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The same for kernels whose tracepoint has no group_dead argument (6.1
 * has one argument, 6.18 two): the loader reads the prototype from the
 * kernel's BTF and loads one of the two. do_exit() has counted the thread
 * out of signal->live before the tracepoint, so 0 there means the whole
 * group is gone. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tf_exit_1arg, struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	struct tf_proc_event *e = tf_proc_event_new(TF_EV_PROC_EXIT, p);
	if (!e)
		return 0;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

//go:build ignore

/* Socket ownership: who owns each TCP and UDP socket.
 *
 * Logic:
 * 1. cgroup socket hooks on the root cgroup v2 run in the task that creates,
 *    binds or connects a socket (and, on kernels whose TC programs cannot
 *    read the current task, sends or receives on it with an address); they
 *    store that task as the socket's owner in socket-local storage
 *    (tf_owners). Where TC can read it, the classifier sets the sender of
 *    a UDP flow's first datagrams as the owner instead (tf_owner_sender):
 *    the sendmsg/recvmsg hooks run per datagram, under the socket lock.
 * 2. sock_ops runs when TCP connects and when a connection is established;
 *    accepted sockets inherit the listener's owner through BPF_F_CLONE.
 * 3. Opening, closing, a change of owner and TCP establishment are sent to
 *    user space as bounded ring-buffer events; a full buffer is counted.
 * 4. The TC classifier (tc.c) reads tf_owners on a flow's first packets, so
 *    every flow carries its owner even when the process is gone.
 */

#include "tf_owner.h"
#include "headers/bpf_endian.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/* ---- creation and release ---------------------------------------------
 * inet_create() -> BPF_CGROUP_RUN_PROG_INET_SOCK(sk), in the creating task.
 * inet_release() -> BPF_CGROUP_RUN_PROG_INET_SOCK_RELEASE(sk), in the
 * closing task. Only family/type/protocol are readable here. */

SEC("cgroup/sock_create")
int tf_sock_create(struct bpf_sock *sk)
{
	if (!tf_is_inet(sk->family))
		return 1;
	/* Generate the cookie now: TC reads the raw field, 0 if never made. */
	__u64 cookie = bpf_get_socket_cookie(sk);
	struct tf_owner *o = NULL;
	tf_owner_update(sk, &o, 0);
	tf_sock_event_send(TF_EV_SOCK_OPEN, cookie, sk->family, sk->protocol, o, bpf_get_netns_cookie(sk));
	return 1;
}

SEC("cgroup/sock_release")
int tf_sock_release(struct bpf_sock *sk)
{
	if (!tf_is_inet(sk->family))
		return 1;
	struct tf_owner *o = bpf_sk_storage_get(&tf_owners, sk, 0, 0);
	tf_sock_event_send(TF_EV_SOCK_CLOSE, bpf_get_socket_cookie(sk), sk->family, sk->protocol, o,
			   bpf_get_netns_cookie(sk));
	return 1;
}

/* ---- bind -----------------------------------------------------------------
 * __inet_bind()/__inet6_bind() -> BPF_CGROUP_RUN_PROG_INET{4,6}_POST_BIND
 * after an explicit bind(), in the binding task. Also catches MPTCP
 * subflows, which sock_create never sees. */

SEC("cgroup/post_bind4")
int tf_post_bind4(struct bpf_sock *sk)
{
	struct tf_owner *o = NULL;
	if (tf_owner_update(sk, &o, 0) <= 0)
		return 1;
	tf_sock_event_send(TF_EV_SOCK_OWNER, bpf_get_socket_cookie(sk), AF_INET, sk->protocol, o,
			   bpf_get_netns_cookie(sk));
	return 1;
}

SEC("cgroup/post_bind6")
int tf_post_bind6(struct bpf_sock *sk)
{
	struct tf_owner *o = NULL;
	if (tf_owner_update(sk, &o, 0) <= 0)
		return 1;
	tf_sock_event_send(TF_EV_SOCK_OWNER, bpf_get_socket_cookie(sk), AF_INET6, sk->protocol, o,
			   bpf_get_netns_cookie(sk));
	return 1;
}

/* ---- connect, sendmsg, recvmsg ------------------------------------------
 * inet_stream/dgram connect, udp_sendmsg (with an address) and udp_recvmsg
 * (with an address) run these in the calling task. The common case (same
 * owner as before) costs one storage lookup; only a new or changed owner
 * makes an event. Sockets created before the agent started get their owner
 * here on first use. */

static __always_inline int tf_sock_addr(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct tf_owner *o = NULL;
	if (tf_owner_update(sk, &o, 0) <= 0)
		return 1;
	tf_sock_event_send(TF_EV_SOCK_OWNER, bpf_get_socket_cookie(ctx), ctx->user_family, ctx->protocol, o,
			   bpf_get_netns_cookie(ctx));
	return 1;
}

SEC("cgroup/connect4")
int tf_connect4(struct bpf_sock_addr *ctx)
{
	return tf_sock_addr(ctx);
}

SEC("cgroup/connect6")
int tf_connect6(struct bpf_sock_addr *ctx)
{
	return tf_sock_addr(ctx);
}

SEC("cgroup/sendmsg4")
int tf_sendmsg4(struct bpf_sock_addr *ctx)
{
	return tf_sock_addr(ctx);
}

SEC("cgroup/sendmsg6")
int tf_sendmsg6(struct bpf_sock_addr *ctx)
{
	return tf_sock_addr(ctx);
}

SEC("cgroup/recvmsg4")
int tf_recvmsg4(struct bpf_sock_addr *ctx)
{
	return tf_sock_addr(ctx);
}

SEC("cgroup/recvmsg6")
int tf_recvmsg6(struct bpf_sock_addr *ctx)
{
	return tf_sock_addr(ctx);
}

/* ---- TCP establishment ------------------------------------------------
 * tcp_connect() -> BPF_SOCK_OPS_TCP_CONNECT_CB in the connecting task;
 * tcp_finish_connect()/tcp_init_transfer() -> ACTIVE/PASSIVE_ESTABLISHED_CB,
 * usually in softirq: there the owner comes from storage (for accepted
 * sockets: cloned from the listener), never from the current task. */

static __always_inline void tf_copy_addr(__u8 *dst, __u32 family, __u32 ip4, const __u32 *ip6)
{
	if (family == AF_INET) {
		__builtin_memcpy(dst, &ip4, 4);
	} else {
		__u32 a[4] = {ip6[0], ip6[1], ip6[2], ip6[3]};
		__builtin_memcpy(dst, a, 16);
	}
}

static __always_inline void tf_established(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	if (!sk)
		return;
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct tf_owner *o = bpf_sk_storage_get(&tf_owners, sk, 0, 0);
	struct tf_sock_event *e = tf_sock_event_new(TF_EV_TCP_ESTAB, cookie);
	if (!e)
		return;
	__u32 family = skops->family;
	e->family = family;
	e->protocol = IPPROTO_TCP;
	e->netns_cookie = bpf_get_netns_cookie(skops);
	tf_copy_owner(e, o);
	__u32 l6[4] = {skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2], skops->local_ip6[3]};
	__u32 r6[4] = {skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2], skops->remote_ip6[3]};
	tf_copy_addr(e->local_addr, family, skops->local_ip4, l6);
	tf_copy_addr(e->peer_addr, family, skops->remote_ip4, r6);
	e->local_port = skops->local_port;
	e->peer_port = bpf_ntohl(skops->remote_port);
	bpf_ringbuf_submit(e, 0);
}

/* Set by the loader (before load, so the verifier sees it as a constant
 * and never checks the other branch) on kernels whose sock_ops may not
 * call bpf_get_current_pid_tgid and the other current-task helpers (6.1):
 * TCP_CONNECT then reads the owner from the task's fields. */
volatile const __u32 tf_sockops_task = 0;

SEC("sockops")
int tf_sockops(struct bpf_sock_ops *skops)
{
	if (!tf_is_inet(skops->family))
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB: {
		struct tf_owner *o = NULL;
		struct bpf_sock *sk = skops->sk;
		if (sk && tf_owner_update(sk, &o, tf_sockops_task) > 0)
			tf_sock_event_send(TF_EV_SOCK_OWNER, bpf_get_socket_cookie(skops), skops->family, IPPROTO_TCP,
					   o, bpf_get_netns_cookie(skops));
		break;
	}
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		tf_established(skops);
		break;
	}
	return 1;
}

//go:build ignore

/* Flow accounting on every interface, ingress and egress.
 *
 * Logic:
 * 0. The express lane (tf_express.h): a busy flow's packet is read into
 *    registers and counted in the flow's own slot, and that is all. Nearly
 *    every packet ends there; any other takes the full path (1-5), which
 *    does not depend on the express lane having looked.
 * 1. Parse the headers (tf_parse.h) and turn the packet into a flow key seen
 *    from the local end: egress src=local, ingress dst=local.
 * 2. Known flow: add bytes and packets to its counters on this CPU: its
 *    slot in tf_slots (tf_slots.h), else its entry in tf_flows.
 * 3. A flow's first packets in a direction on a CPU also find the socket
 *    (egress: the skb's socket; ingress: a socket lookup, because skb->sk
 *    may be the sender's socket in another namespace) and copy its cookie
 *    and owner from tf_owners into the flow. A packet after an idle spell
 *    does so again, since the address pair may belong to a new socket.
 * 4. A new flow claims its slot when it is empty, else is inserted in
 *    tf_flows; when that is full the packet is counted in tf_counters
 *    instead. The agent reads both and removes idle and closed flows.
 * 5. Payload hints (tf_hints.h): protocols seen, RTP sources, and samples
 *    of DNS answers and TLS ClientHellos for naming peers.
 * Programs return TC_NEXT so that other TC programs still run.
 *
 * Two builds of this file (README.md, "Kernels"): tc.o for kernels with
 * the kfuncs bpf_cast_to_kern_ctx and bpf_rdonly_cast (6.3+), and
 * tccompat.o (TF_COMPAT) for older ones: there one program per hook
 * direction, kernel fields read by probe, and the packet's flow state in
 * a per-CPU buffer, not on the stack (the older verifier takes no global
 * function's pointer argument as a map key, and counts the stack of the
 * whole chain of calls in 32-byte steps).
 *
 * The full path is a subprogram, and so is each of its rarer parts, so
 * that the express lane stays one short run of code. Parsing from the IP
 * header on and the work on a parsed packet are global functions: the
 * verifier checks each once, for any packet (see README.md).
 */

#include "tf_parse.h"
#include "tf_hints.h"
#include "tf_slots.h"
#include "tf_express.h"
#include "tf_owner.h"
#include "headers/bpf_core_read.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define TF_TC_NEXT	     -1 /* TCX_NEXT, and TC_ACT_UNSPEC for cls_bpf */
#define BPF_F_CURRENT_NETNS_ (-1L)

/* The raw socket cookie: bpf_get_socket_cookie() cannot take a looked-up
 * socket, and sock_create/sock_ops already generated the cookie. */
#ifndef TF_COMPAT
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline __u64 tf_sk_cookie(struct bpf_sock *sk)
{
	struct sock *s = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct sock));
	return s->__sk_common.skc_cookie.counter;
}
#else
/* Before 6.3 a looked-up socket allows no pointer arithmetic ("pointer
 * arithmetic on sock prohibited"), not even to read a field by probe: the
 * socket's head is copied from its start, and the cookie taken from the
 * copy at its offset (a constant after CO-RE relocation). Only a flow's
 * first packets at ingress pay for it. */
struct tf_sk_head {
	__u8 b[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tf_sk_head);
} tf_sk_head SEC(".maps");

static __always_inline __u64 tf_sk_cookie(struct bpf_sock *sk)
{
	__u32 zero = 0, off = bpf_core_field_offset(struct sock, __sk_common.skc_cookie);
	struct tf_sk_head *h = bpf_map_lookup_elem(&tf_sk_head, &zero);
	if (!h || off > sizeof(h->b) - 8)
		return 0;
	if (bpf_probe_read_kernel(h->b, off + 8, sk))
		return 0;
	return *(__u64 *)(h->b + off);
}
#endif

/* Copies the socket's owner into the flow; a socket without one (opened
 * before the agent) clears it, for the agent to fill in by cookie. */
static __always_inline void tf_take_owner(struct tf_flow_stats *v, struct bpf_sock *sk)
{
	struct tf_owner *o = bpf_sk_storage_get(&tf_owners, sk, 0, 0);
	if (o)
		__builtin_memcpy(&v->owner, o, sizeof(*o));
	else
		__builtin_memset(&v->owner, 0, sizeof(v->owner));
}

static __always_inline __u32 tf_tuple(struct bpf_sock_tuple *t, const struct tf_pkt *p)
{
	if (p->family == 4) {
		__builtin_memcpy(&t->ipv4.saddr, p->src, 4);
		__builtin_memcpy(&t->ipv4.daddr, p->dst, 4);
		t->ipv4.sport = bpf_htons(p->sport);
		t->ipv4.dport = bpf_htons(p->dport);
		return sizeof(t->ipv4);
	}
	__builtin_memcpy(t->ipv6.saddr, p->src, 16);
	__builtin_memcpy(t->ipv6.daddr, p->dst, 16);
	t->ipv6.sport = bpf_htons(p->sport);
	t->ipv6.dport = bpf_htons(p->dport);
	return sizeof(t->ipv6);
}

/* Each lookup lives in its own subprogram: merged, the verifier rejects
 * the shared instruction for two pointer types. */
static __noinline void tf_owner_udp(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_pkt *p)
{
	struct bpf_sock_tuple t = {};
	__u32 len = tf_tuple(&t, p);
	struct bpf_sock *sk = bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS_, 0);
	if (!sk)
		return;
	v->cookie = tf_sk_cookie(sk);
	tf_take_owner(v, sk);
	bpf_sk_release(sk);
}

static __noinline void tf_owner_tcp(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_pkt *p)
{
	struct bpf_sock_tuple t = {};
	__u32 len = tf_tuple(&t, p);
	struct bpf_sock *sk = bpf_skc_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS_, 0);
	if (!sk)
		return;
	v->cookie = tf_sk_cookie(sk);
	struct bpf_sock *full = bpf_sk_fullsock(sk);
	if (full)
		tf_take_owner(v, full);
	bpf_sk_release(sk);
}

/* One packet as the flow code sees it: its key and what it adds to the
 * flow. The subprograms that do a flow's rarer work (finding the owner,
 * claiming a slot, the flow map, payload hints) take it by pointer, and
 * the direction as an argument of its own: a constant in a register, the
 * verifier follows one side of each test of it, where from memory it
 * would follow both (and the programs took 30% longer to load). */
struct tf_seen {
	struct tf_flow_key k;
	struct tf_pkt p;
	__u64 tick; /* jiffies */
	__u32 segs; /* GSO/GRO segments */
	__u32 bytes;
};

/* Copies the packet's socket and its owner into the flow. A subprogram:
 * a flow does this on its first packets only. */
static __noinline int tf_find_owner(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_seen *c, int egress)
{
	if (egress) {
		struct bpf_sock *sk = skb->sk;
		if (!sk)
			return 1; /* sent by the kernel itself (a reset, an ICMP error) */
		v->cookie = bpf_get_socket_cookie(skb);
		sk = bpf_sk_fullsock(sk);
		if (!sk)
			return 1;
		int read = 1;
		if (c->p.protocol == IPPROTO_UDP)
			read = tf_owner_sender(sk, v->cookie, c->k.netns);
		tf_take_owner(v, sk);
		return read;
	}
	if (c->p.fragment)
		return 1;
	if (c->p.protocol == IPPROTO_UDP)
		tf_owner_udp(skb, v, &c->p);
	else
		tf_owner_tcp(skb, v, &c->p);
	return 1;
}

static __always_inline void tf_key(struct tf_flow_key *k, const struct tf_pkt *p, int egress, __u64 netns)
{
	if (egress) {
		__builtin_memcpy(k->local_addr, p->src, 16);
		__builtin_memcpy(k->peer_addr, p->dst, 16);
		k->local_port = p->sport;
		k->peer_port = p->dport;
	} else {
		__builtin_memcpy(k->local_addr, p->dst, 16);
		__builtin_memcpy(k->peer_addr, p->src, 16);
		k->local_port = p->dport;
		k->peer_port = p->sport;
	}
	k->protocol = p->protocol;
	k->family = p->family;
	k->pad = 0;
	k->netns = netns;
}

static __always_inline void tf_add(struct tf_flow_dir *d, const struct tf_seen *c)
{
	if (d->packets == 0)
		d->first_ns = bpf_ktime_get_boot_ns();
	d->packets += c->segs;
	d->bytes += c->bytes;
	d->last = c->tick;
	d->tcp_flags |= c->p.tcp_flags;
	d->dscp = c->p.dscp;
}

/* A known flow's packet: its counters and, now and then, more. egress is
 * a constant where the program inlines this for its common case. */
static __always_inline void tf_count_packet(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_seen *c,
					    int egress)
{
	struct tf_flow_dir *d = &v->dir[egress ? 0 : 1];
	/* A flow's first packets look for its owner until one is found, and a
	 * packet after an idle spell looks again: the socket that used the
	 * address pair may have closed and another (maybe another process's)
	 * taken it before the agent removed the entry. Egress looks until it
	 * has read its own sender (not a creator kept while a held datagram
	 * left from softirq: owner_pending), ingress until this CPU's egress
	 * has: what it reads from the socket may be the creator the sender
	 * has not yet replaced. Busy flows pay comparisons of values already
	 * loaded. */
	int look = egress ? !d->owner_known : v->owner.tgid == 0 || !v->dir[0].owner_known;
	if (__builtin_expect((d->packets < TF_OWNER_TRIES && look) || c->tick - d->last > TF_OWNER_RECHECK_TICKS, 0))
		d->owner_pending = !tf_find_owner(skb, v, c, egress);
	d->owner_known = v->owner.tgid != 0 && !d->owner_pending;
	tf_add(d, c);
	tf_hints(skb, v, &c->k, &c->p, egress);
}

/* A flow's counters and owner from its first packet on this CPU. */
static __always_inline void tf_init_flow(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_seen *c,
					 int egress)
{
	struct tf_flow_dir *d = &v->dir[egress ? 0 : 1];
	__builtin_memset(v, 0, sizeof(*v));
	tf_add(d, c);
	v->ifindex = skb->ifindex;
	d->owner_pending = !tf_find_owner(skb, v, c, egress);
	d->owner_known = v->owner.tgid != 0 && !d->owner_pending;
}

/* Claims an empty slot: the key goes in last, so that the agent, which
 * skips slots without a key, never reads half-made counters. */
static __always_inline void tf_claim_slot(struct __sk_buff *skb, struct tf_flow_slot *s, const struct tf_seen *c,
					  int egress)
{
	tf_init_flow(skb, &s->stats, c, egress);
	tf_hints(skb, &s->stats, &c->k, &c->p, egress);
	asm volatile("" ::: "memory");
	__builtin_memcpy(&s->key, &c->k, sizeof(c->k));
}

/* Room to build a new flow's counters before they go into tf_flows: on
 * the stack they would not leave room for the hints' stack in the same
 * chain of calls. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tf_flow_stats);
} tf_new_stats SEC(".maps");

/* Inserts a flow without a slot of its own on this CPU into tf_flows. */
static __noinline void tf_new_flow(struct __sk_buff *skb, const struct tf_seen *c, int egress)
{
	__u32 zero = 0;
	struct tf_flow_stats *v = bpf_map_lookup_elem(&tf_new_stats, &zero);
	if (!v)
		return;
	tf_init_flow(skb, v, c, egress);
	long err = bpf_map_update_elem(&tf_flows, &c->k, v, BPF_NOEXIST);
	if (err == -17 /* EEXIST: another CPU inserted it first */) {
		struct tf_flow_stats *cur = bpf_map_lookup_elem(&tf_flows, &c->k);
		if (cur)
			tf_add(&cur->dir[egress ? 0 : 1], c);
	} else if (err) {
		tf_count(TF_CNT_FLOW_MAP_FULL);
	}
}

/* A parsed packet's flow: a slot of its group that holds it, else the
 * first empty one to claim, else the flow map. */
static __always_inline void tf_flow_work(struct __sk_buff *skb, const struct tf_seen *c, int egress)
{
	struct tf_flow_slot *empty = 0;
	struct tf_flow_stats *v = tf_slot_find(&c->k, &empty);
	if (!v && empty) {
		tf_claim_slot(skb, empty, c, egress);
		return;
	}
	if (!v)
		v = bpf_map_lookup_elem(&tf_flows, &c->k);
	if (v) {
		tf_count_packet(skb, v, c, egress);
		return;
	}
	tf_new_flow(skb, c, egress);
	v = bpf_map_lookup_elem(&tf_flows, &c->k);
	if (v) /* else the map was full, and that was counted */
		tf_hints(skb, v, &c->k, &c->p, egress);
}

/* Global functions, one per direction: the verifier checks each once,
 * for any packet. Static, the flow work would be checked again for every
 * way the parser can end (VLAN tags, IPv6 extension headers, TCP or UDP),
 * since each leaves other known offsets behind; that made loading the
 * programs take longer than the agent's start budget. */
#ifndef TF_COMPAT
__noinline int tf_seen_egress(struct __sk_buff *skb, const struct tf_seen *c)
{
	if (c)
		tf_flow_work(skb, c, 1);
	return 0;
}

__noinline int tf_seen_ingress(struct __sk_buff *skb, const struct tf_seen *c)
{
	if (c)
		tf_flow_work(skb, c, 0);
	return 0;
}

/* The packet's flow state: on the stack. */
#define TF_SEEN_DECLARE(c) struct tf_seen c##_buf, *c = &c##_buf
#define TF_SEEN_PASS(c)	   , c
#else
/* On 6.1 a global function's pointer argument is no map key ("type=mem
 * expected=fp"), and the stack of the whole chain of calls, counted in
 * 32-byte steps, left no room for the state on it: it lives here, one
 * per CPU, written by tf_handle_full and read by the tf_seen_* functions
 * it calls (a TC program runs to its end on one CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tf_seen);
} tf_seen_buf SEC(".maps");

static __always_inline struct tf_seen *tf_seen_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&tf_seen_buf, &zero);
}

__noinline int tf_seen_egress(struct __sk_buff *skb)
{
	struct tf_seen *c = tf_seen_get();
	if (c)
		tf_flow_work(skb, c, 1);
	return 0;
}

__noinline int tf_seen_ingress(struct __sk_buff *skb)
{
	struct tf_seen *c = tf_seen_get();
	if (c)
		tf_flow_work(skb, c, 0);
	return 0;
}

#define TF_SEEN_DECLARE(c)                                                                                             \
	struct tf_seen *c = tf_seen_get();                                                                             \
	if (!c)                                                                                                        \
	return
#define TF_SEEN_PASS(c)
#endif

/* The full path: every packet the express lane left alone. */
static __noinline void tf_handle_full(struct __sk_buff *skb, int l2, int egress)
{
	TF_SEEN_DECLARE(c);
	__builtin_memset(&c->p, 0, sizeof(c->p));
	int res = tf_parse(skb, l2, &c->p);
	if (__builtin_expect(res == TF_PARSE_SHORT, 0)) {
		/* Headers straddle the linear end (rare): pull them in, retry.
		 * A packet that is all linear already is truly short: the pull
		 * does nothing and the retry says so again. */
		__u32 len = skb->len;
		if (bpf_skb_pull_data(skb, len < 128 ? len : 128) == 0)
			res = tf_parse(skb, l2, &c->p);
	}
	if (res == TF_PARSE_SKIP)
		return;
	if (__builtin_expect(res == TF_PARSE_SHORT, 0)) {
		tf_count(TF_CNT_PARSE_SHORT);
		return;
	}
	if (__builtin_expect(c->p.fragment, 0))
		tf_count(TF_CNT_IP_FRAGMENT);

	/* Both read before either is chosen: a choice between a field of
	 * skb and one on the stack, the compiler would make one load from
	 * either pointer, which the verifier rejects. */
	__u32 gso_segs = skb->gso_segs, skb_len = skb->len;
	c->segs = gso_segs > 1 ? gso_segs : 1;
	/* A GSO/GRO aggregate's IP header describes one segment only. */
	c->bytes = c->segs > 1 ? skb_len - (l2 ? sizeof(struct ethhdr) : 0) : c->p.ip_len;
	c->tick = bpf_jiffies64();
	tf_key(&c->k, &c->p, egress, tf_dev_netns(skb));
	if (egress)
		tf_seen_egress(skb TF_SEEN_PASS(c));
	else
		tf_seen_ingress(skb TF_SEEN_PASS(c));
}

/* The direction is a value, not a constant: one program serves both hooks
 * of an interface, so that a packet that leaves one end of a veth pair and
 * arrives at the other (a container's traffic) runs the same code twice,
 * the second time from the instruction cache. The full path is checked by
 * the verifier once per direction, with the direction a constant. */
static __always_inline int tf_handle(struct __sk_buff *skb, int l2, int egress)
{
	if (!tf_express(skb, l2, egress)) {
		if (egress)
			tf_handle_full(skb, l2, 1);
		else
			tf_handle_full(skb, l2, 0);
	}
	return TF_TC_NEXT;
}

/* Samples jiffies and the boot clock together; run by the agent with
 * BPF_PROG_TEST_RUN, never attached. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tf_clock);
} tf_clock SEC(".maps");

SEC("tc")
int tf_clock_sample(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct tf_clock c = {.jiffies = bpf_jiffies64(), .boot_ns = bpf_ktime_get_boot_ns()};
	bpf_map_update_elem(&tf_clock, &zero, &c, BPF_ANY);
	return TF_TC_NEXT;
}

#ifndef TF_COMPAT
/* Egress unless the kernel runs the program at an ingress hook (tcx or
 * clsact). */
static __always_inline int tf_at_egress(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	return !BPF_CORE_READ_BITFIELD(kskb, tc_at_ingress);
}

/* The classifier, attached at both hooks of every interface. */
SEC("tc")
int tf_tc(struct __sk_buff *skb)
{
	return tf_handle(skb, 1, tf_at_egress(skb));
}

/* For devices without a link-layer header (tun, wireguard, ...). */
SEC("tc")
int tf_tc3(struct __sk_buff *skb)
{
	return tf_handle(skb, 0, tf_at_egress(skb));
}

/* The same code with the direction given, for tests, which run programs
 * with BPF_PROG_TEST_RUN: that never sets tc_at_ingress. The direction is
 * hidden from the compiler so that it compiles the code as for tf_tc.
 * The agent does not load these. */
static __always_inline int tf_opaque(int v)
{
	asm volatile("" : "+r"(v));
	return v;
}

SEC("tc")
int tf_tc_test_egress(struct __sk_buff *skb)
{
	return tf_handle(skb, 1, tf_opaque(1));
}

SEC("tc")
int tf_tc_test_ingress(struct __sk_buff *skb)
{
	return tf_handle(skb, 1, tf_opaque(0));
}
#else
/* Before 6.3 the hook cannot be asked which direction it runs in: one
 * program per direction, the direction a constant. BPF_PROG_TEST_RUN runs
 * them as they are. */
SEC("tc")
int tf_tc_in(struct __sk_buff *skb)
{
	return tf_handle(skb, 1, 0);
}

SEC("tc")
int tf_tc_eg(struct __sk_buff *skb)
{
	return tf_handle(skb, 1, 1);
}

SEC("tc")
int tf_tc3_in(struct __sk_buff *skb)
{
	return tf_handle(skb, 0, 0);
}

SEC("tc")
int tf_tc3_eg(struct __sk_buff *skb)
{
	return tf_handle(skb, 0, 1);
}
#endif

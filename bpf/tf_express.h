/* The express lane of the TC classifier: nearly every packet of a busy
 * flow, counted with the least work.
 *
 * Logic:
 * 1. Read the few header fields a flow key needs (IPv4 without options or
 *    IPv6 without extension headers, straight after Ethernet or on a bare
 *    IP device, TCP or UDP) into registers, never building the key on the
 *    stack.
 * 2. Hash them as tf_slot_hash hashes the key they make, and compare them
 *    with the key in the flow's own slot, then in the others of its group.
 * 3. The flow there, its owner known (or its first packets in this
 *    direction past), seen within the owner recheck interval, and wanting
 *    no payload hints (or its UDP payload showing no protocol the hints
 *    know): add the packet to its counters and stop.
 * Anything else (a miss, a VLAN tag, IP options, a fragment, a new flow, a
 * flow still looking for its owner or reading payloads) leaves everything
 * untouched and returns 0: the packet then takes the full path, which does
 * not depend on anything done here.
 */
#pragma once

#include "tf_hints.h"
#include "tf_slots.h"
#include "headers/bpf_core_read.h"

/* Used by both paths: the express lane's gates mirror the full path's (tc.c). */
#define TF_OWNER_TRIES 8 /* packets per direction and CPU that look for an owner */
#define TF_OWNER_RECHECK_TICKS                                                                                         \
	25 /* idle jiffies (0.1 s at HZ=250) after which a packet
				   * looks for the owner again: the port may have a new socket */

/* The namespace of the interface the packet is on. bpf_get_netns_cookie()
 * would use skb->sk first, and on veth ingress that is the sender's socket
 * in the peer namespace (and kernels before 6.3 do not offer it to TC). */
#ifndef TF_COMPAT
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

static __always_inline __u64 tf_dev_netns(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	return kskb->dev->nd_net.net->net_cookie;
}
#else
/* Before 6.3 there is no kfunc to see the kernel's sk_buff: the context
 * is that sk_buff, and its fields are read by probe (three reads). */
static __always_inline __u64 tf_dev_netns(struct __sk_buff *skb)
{
	struct sk_buff *kskb = (struct sk_buff *)skb;
	return BPF_CORE_READ(kskb, dev, nd_net.net, net_cookie);
}
#endif

/* What the express lane reads of a packet's headers, besides addresses. */
struct tf_express_pkt {
	__u32 ip_len;
	__u16 sport, dport;
	__u8 protocol, dscp, tcp_flags;
	__u8 tcp_payload; /* a TCP segment with payload bytes */
	__u8 ip_hdr;	  /* the IP header's length */
	__u8 pad[3];
};

/* Reads the ports (and TCP's flags); 0 when the packet is not TCP or UDP
 * with its header in the linear data. */
static __always_inline int tf_express_l4(void *l3, void *l4, void *end, struct tf_express_pkt *x)
{
	if (x->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end)
			return 0;
		x->sport = bpf_ntohs(udp->source);
		x->dport = bpf_ntohs(udp->dest);
		x->tcp_flags = 0;
		x->tcp_payload = 0;
		return 1;
	}
	if (x->protocol != IPPROTO_TCP)
		return 0;
	struct tcphdr *tcp = l4;
	if ((void *)(tcp + 1) > end)
		return 0;
	x->sport = bpf_ntohs(tcp->source);
	x->dport = bpf_ntohs(tcp->dest);
	x->tcp_flags = ((__u8 *)tcp)[13];
	x->tcp_payload = x->ip_len > (__u32)(l4 - l3) + tcp->doff * 4;
	return 1;
}

/* Where the express lane looks: the values tf_slot_find needs besides
 * the key, read before the packet. */
struct tf_express_at {
	__u64 netns;
	__u32 base; /* this CPU's first slot */
	__u32 mask; /* slots per CPU - 1 */
};

/* Whether slot idx holds the flow whose key has these words. */
static __always_inline struct tf_flow_slot *tf_express_holds(__u32 idx, __u64 l0, __u64 l1, __u64 p0, __u64 p1,
							     __u64 w4, __u64 netns)
{
	struct tf_flow_slot *s = bpf_map_lookup_elem(&tf_slots, &idx);
	return s && tf_key_is(&s->key, l0, l1, p0, p1, w4, netns) ? s : 0;
}

/* The packet's flow's slot on this CPU: its own, else another of its
 * group (as tf_slot_find), or 0. The addresses come as the key's words (an
 * IPv4 address is the low half of the first word, the second word 0);
 * turned to the local end's view, the words are those tf_key would write. */
static __always_inline struct tf_flow_slot *tf_express_slot(__u64 src0, __u64 src1, __u64 dst0, __u64 dst1,
							    __u64 family, const struct tf_express_pkt *x, int egress,
							    const struct tf_express_at *at)
{
	__u64 l0 = egress ? src0 : dst0, l1 = egress ? src1 : dst1;
	__u64 p0 = egress ? dst0 : src0, p1 = egress ? dst1 : src1;
	__u64 lport = egress ? x->sport : x->dport, pport = egress ? x->dport : x->sport;
	__u64 w4 = lport | pport << 16 | (__u64)x->protocol << 32 | family << 40;
	__u64 h = tf_slot_hash_words(l0, l1, p0, p1, w4, at->netns);
	__u32 idx = at->base + ((__u32)h & at->mask);
	struct tf_flow_slot *s = tf_express_holds(idx, l0, l1, p0, p1, w4, at->netns);
	if (s || at->mask == 0)
		return s;
		/* With 1000 flows in 4096 slots ~9% sit in the second slot of their
	 * group, ~3% further on. */
#pragma unroll
	for (__u32 j = 1; j < TF_SLOT_WAYS; j++) {
		if (j > at->mask)
			break;
		s = tf_express_holds(idx ^ j, l0, l1, p0, p1, w4, at->netns);
		if (s)
			return s;
	}
	return 0;
}

static __always_inline struct tf_flow_slot *tf_express_ipv4(void *l3, void *end, int egress,
							    const struct tf_express_at *at, struct tf_express_pkt *x)
{
	struct iphdr *ip = l3;
	/* No IP options (rare; the full path reads them): one bounds check
	 * covers the IP header and a UDP header, or most of a TCP one. */
	if ((void *)(ip + 1) + sizeof(struct udphdr) > end || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x1FFF)))
		return 0;
	x->protocol = ip->protocol;
	x->ip_hdr = sizeof(*ip);
	x->dscp = ip->tos >> 2;
	x->ip_len = bpf_ntohs(ip->tot_len);
	if (!tf_express_l4(l3, ip + 1, end, x))
		return 0;
	return tf_express_slot(ip->saddr, 0, ip->daddr, 0, 4, x, egress, at);
}

static __always_inline struct tf_flow_slot *tf_express_ipv6(void *l3, void *end, int egress,
							    const struct tf_express_at *at, struct tf_express_pkt *x)
{
	struct ipv6hdr *ip6 = l3;
	if ((void *)(ip6 + 1) > end)
		return 0;
	x->protocol = ip6->nexthdr; /* an extension header: not TCP or UDP here */
	x->ip_hdr = sizeof(*ip6);
	x->dscp = (bpf_ntohs(*(__be16 *)ip6) >> 6) & 0x3F;
	x->ip_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	if (!tf_express_l4(l3, ip6 + 1, end, x))
		return 0;
	__u64 a[4];
	__builtin_memcpy(a, &ip6->saddr, 32); /* saddr and daddr */
	return tf_express_slot(a[0], a[1], a[2], a[3], 6, x, egress, at);
}

/* Whether a UDP packet shows no protocol the hints know (tf_udp_kind),
 * so that reading it there would change nothing. 0 when that takes more
 * than the linear data, and for DNS, whose answers are sampled. */
static __always_inline int tf_express_shows_nothing(struct __sk_buff *skb, const struct tf_express_pkt *x, int l2)
{
	if (tf_udp_dns(x->sport, x->dport))
		return 0;
	__u32 used = x->ip_hdr + sizeof(struct udphdr);
	__u32 len = tf_payload_len(x->ip_len, used);
	if (len < 12)
		return 1;
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u8 *b = data + (l2 ? sizeof(struct ethhdr) : 0) + used;
	if ((void *)(b + 12) > end)
		return 0;
	return tf_udp_kind(b, len) == TF_UDP_NOTHING;
}

/* Whether a known flow's packet needs nothing but counting: its owner
 * known or its search over (the owner itself sits in a line the lane does
 * not read), seen within the owner recheck interval, and no payload hints,
 * or a UDP payload the hints would find nothing in while the flow is still
 * read for a protocol. owner_known implies a packet counted before, so the
 * first packet's clock read stays the full path's. */
static __always_inline int tf_express_only_counts(struct __sk_buff *skb, const struct tf_flow_stats *v,
						  const struct tf_flow_dir *d, const struct tf_express_pkt *x,
						  __u64 tick, int l2, int egress)
{
	if ((d->packets < TF_OWNER_TRIES && !d->owner_known) || tick - d->last > TF_OWNER_RECHECK_TICKS)
		return 0;
	if (!tf_hints_wanted(v, x->protocol, x->tcp_payload, d->packets, egress))
		return 1;
	return x->protocol == IPPROTO_UDP && v->protos == 0 && tf_express_shows_nothing(skb, x, l2);
}

/* Counts the packet when it belongs to a busy flow in one of its slots on
 * this CPU; 1 if so, 0 for the full path. */
static __always_inline int tf_express(struct __sk_buff *skb, int l2, int egress)
{
	__u32 n = tf_slot_count; /* read once: it is volatile */
	if (n == 0)
		return 0;
	/* The calls first: values read before them would have to be saved
	 * on the stack across them. */
	struct tf_express_at at = {.netns = tf_dev_netns(skb), .mask = n - 1};
	at.base = bpf_get_smp_processor_id() * n;
	__u64 tick = bpf_jiffies64();

	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	void *l3 = data;
	__u16 proto = skb->protocol;
	if (l2) {
		struct ethhdr *eth = data;
		if ((void *)(eth + 1) > end)
			return 0;
		proto = eth->h_proto;
		l3 = eth + 1;
	}
	struct tf_express_pkt x;
	struct tf_flow_slot *s = 0;
	if (proto == bpf_htons(ETH_P_IP))
		s = tf_express_ipv4(l3, end, egress, &at, &x);
	else if (proto == bpf_htons(ETH_P_IPV6))
		s = tf_express_ipv6(l3, end, egress, &at, &x);
	if (!s)
		return 0;
	struct tf_flow_stats *v = &s->stats;
	struct tf_flow_dir *d = &v->dir[egress ? 0 : 1];
	if (!tf_express_only_counts(skb, v, d, &x, tick, l2, egress))
		return 0;
	/* Both read before either is chosen (see tf_handle_full). */
	__u32 gso_segs = skb->gso_segs, skb_len = skb->len;
	__u32 segs = gso_segs > 1 ? gso_segs : 1;
	d->packets += segs;
	d->bytes += segs > 1 ? skb_len - (l2 ? sizeof(struct ethhdr) : 0) : x.ip_len;
	d->last = tick;
	d->tcp_flags |= x.tcp_flags;
	d->dscp = x.dscp;
	return 1;
}

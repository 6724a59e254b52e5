/* Header parsing for the TC classifier: Ethernet (with up to two VLAN
 * tags) or a bare IP device, IPv4 or IPv6 (with up to TF_MAX_EXTHDR
 * extension headers), then the TCP or UDP ports. Only the linear part of
 * the packet is read (direct packet access, the cheapest way); the caller
 * pulls more in when a header straddles the linear end.
 */
#pragma once

#include "tf_maps.h"
#include "headers/bpf_endian.h"

#define ETH_P_IP	 0x0800
#define ETH_P_IPV6	 0x86DD
#define ETH_P_8021Q	 0x8100
#define ETH_P_8021AD	 0x88A8
#define IPPROTO_HOPOPTS	 0
#define IPPROTO_ROUTING	 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS	 60
#define IPPROTO_AH	 51
#define TF_MAX_EXTHDR	 6
#define TF_MAX_VLAN	 2

enum tf_parse_result {
	TF_PARSE_OK = 0,
	TF_PARSE_SKIP = 1,  /* not TCP or UDP over IP: not ours to count */
	TF_PARSE_SHORT = 2, /* a header goes past the linear data */
};

/* What one packet contributes to its flow. */
struct tf_pkt {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 protocol;
	__u8 family;
	__u8 tcp_flags;
	__u8 dscp;
	__u32 ip_len;  /* IP header + payload, as the IP header says */
	__u8 fragment; /* non-first fragment: no ports */
	__u8 pad;
	__u16 payload_off; /* L4 payload: offset from the first byte of data */
	__u16 payload_len; /* L4 payload bytes, as the headers say */
	__u16 pad2;
	__u32 tcp_seq;
};

/* The L4 payload's length: what the IP length leaves after used bytes of
 * headers, 0 when the headers claim less than they hold. The express lane
 * (tf_express.h) takes it from here too. */
static __always_inline __u16 tf_payload_len(__u32 ip_len, __u32 used)
{
	return ip_len > used ? (__u16)(ip_len - used) : 0;
}

/* The payload's place, from the header lengths. */
static __always_inline void tf_payload(void *data, void *l3, void *l4, __u32 hdr, struct tf_pkt *p)
{
	__u32 used = (__u32)(l4 - l3) + hdr;
	p->payload_off = (__u16)(l4 - data) + hdr;
	p->payload_len = tf_payload_len(p->ip_len, used);
}

static __always_inline int tf_parse_l4(void *data, void *l3, void *l4, void *end, struct tf_pkt *p)
{
	if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP)
		return TF_PARSE_SKIP;
	if (p->fragment)
		return TF_PARSE_OK;
	if (p->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end)
			return TF_PARSE_SHORT;
		p->sport = bpf_ntohs(udp->source);
		p->dport = bpf_ntohs(udp->dest);
		tf_payload(data, l3, l4, sizeof(*udp), p);
		return TF_PARSE_OK;
	}
	struct tcphdr *tcp = l4;
	if ((void *)(tcp + 1) > end)
		return TF_PARSE_SHORT;
	p->sport = bpf_ntohs(tcp->source);
	p->dport = bpf_ntohs(tcp->dest);
	p->tcp_flags = ((__u8 *)tcp)[13];
	p->tcp_seq = bpf_ntohl(tcp->seq);
	tf_payload(data, l3, l4, tcp->doff * 4, p);
	return TF_PARSE_OK;
}

static __always_inline int tf_parse_ipv4(void *data, void *l3, void *end, struct tf_pkt *p)
{
	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > end)
		return TF_PARSE_SHORT;
	__u32 ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return TF_PARSE_SKIP; /* malformed: not a packet the stack accepts */
	p->family = 4;
	p->protocol = ip->protocol;
	p->dscp = ip->tos >> 2;
	p->ip_len = bpf_ntohs(ip->tot_len);
	__builtin_memcpy(p->src, &ip->saddr, 4);
	__builtin_memcpy(p->dst, &ip->daddr, 4);
	p->fragment = (ip->frag_off & bpf_htons(0x1FFF)) != 0;
	return tf_parse_l4(data, l3, l3 + ihl, end, p);
}

static __always_inline int tf_parse_ipv6(void *data, void *l3, void *end, struct tf_pkt *p)
{
	struct ipv6hdr *ip6 = l3;
	if ((void *)(ip6 + 1) > end)
		return TF_PARSE_SHORT;
	p->family = 6;
	p->dscp = (bpf_ntohs(*(__be16 *)ip6) >> 6) & 0x3F;
	p->ip_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);

	__u8 next = ip6->nexthdr;
	void *cur = (void *)(ip6 + 1);
#pragma unroll
	for (int i = 0; i < TF_MAX_EXTHDR; i++) {
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_FRAGMENT && next != IPPROTO_AH)
			break;
		__u8 *h = cur;
		if ((void *)(h + 8) > end)
			return TF_PARSE_SHORT;
		if (next == IPPROTO_FRAGMENT) {
			/* Fragment offset != 0: this is not the first fragment. */
			p->fragment = (bpf_ntohs(*(__be16 *)(h + 2)) & 0xFFF8) != 0;
			cur += 8;
		} else if (next == IPPROTO_AH) {
			cur += (h[1] + 2) * 4;
		} else {
			cur += (h[1] + 1) * 8;
		}
		next = h[0];
	}
	p->protocol = next;
	return tf_parse_l4(data, l3, cur, end, p);
}

#define TF_MAX_L2 (sizeof(struct ethhdr) + TF_MAX_VLAN * sizeof(struct vlan_hdr))

/* Parses from the IP header on, off bytes into the packet. A global
 * function: the verifier checks it once, for any offset, where inlined it
 * would be checked again after each way the link-layer header can end
 * (no VLAN tag, one, two), and loading took that much longer. */
__noinline int tf_parse_l3(struct __sk_buff *skb, __u32 off, __u32 proto, struct tf_pkt *p)
{
	if (!p || off > TF_MAX_L2)
		return TF_PARSE_SKIP;
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	if (proto == ETH_P_IP)
		return tf_parse_ipv4(data, data + off, end, p);
	if (proto == ETH_P_IPV6)
		return tf_parse_ipv6(data, data + off, end, p);
	return TF_PARSE_SKIP;
}

/* tf_parse reads the packet from its first byte; l2 says whether that is
 * an Ethernet header or already the IP header (tun and other L3 devices). */
static __always_inline int tf_parse(struct __sk_buff *skb, int l2, struct tf_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u16 proto = bpf_ntohs(skb->protocol);
	void *cur = data;

	if (l2) {
		struct ethhdr *eth = data;
		if ((void *)(eth + 1) > end)
			return TF_PARSE_SHORT;
		proto = bpf_ntohs(eth->h_proto);
		cur = eth + 1;
#pragma unroll
		for (int i = 0; i < TF_MAX_VLAN; i++) {
			if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
				break;
			struct vlan_hdr *vh = cur;
			if ((void *)(vh + 1) > end)
				return TF_PARSE_SHORT;
			proto = bpf_ntohs(vh->h_vlan_encapsulated_proto);
			cur = vh + 1;
		}
	}
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return TF_PARSE_SKIP;
	return tf_parse_l3(skb, cur - data, proto, p);
}

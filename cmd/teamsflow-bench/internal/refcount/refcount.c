//go:build ignore

/* The reference flow counter of `make bench`: the least a TC program can do
 * to count packets per flow. It parses Ethernet, IPv4 and UDP/TCP, and adds
 * the packet to its 5-tuple's entry in an LRU hash map, nothing else.
 *
 * Set beside teamsflow's classifier in the same run, it shows what counting
 * per flow costs on this machine by itself: with many flows in turn, every
 * packet's entry has left the CPU caches since that flow's last packet, and
 * that cache miss costs more than all the classifier's other work. */

#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_endian.h"

#define ETH_P_IP 0x0800

char __license[] SEC("license") = "Dual BSD/GPL";

struct ref_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u32 proto;
};

struct ref_count {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ref_key);
	__type(value, struct ref_count);
} ref_flows SEC(".maps");

SEC("tc")
int tfb_refcount(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *l4 = (void *)(ip + 1); /* the ports of UDP and TCP alike */
	if ((void *)(l4 + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return -1;
	struct ref_key k = {
		.saddr = ip->saddr, .daddr = ip->daddr, .sport = l4->source, .dport = l4->dest, .proto = ip->protocol};
	struct ref_count *c = bpf_map_lookup_elem(&ref_flows, &k);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, skb->len);
		return -1; /* TCX_NEXT */
	}
	struct ref_count n = {.packets = 1, .bytes = skb->len};
	bpf_map_update_elem(&ref_flows, &k, &n, BPF_NOEXIST);
	return -1;
}

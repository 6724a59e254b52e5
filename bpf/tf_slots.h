/* The flow slots: where the classifier counts most flows, in front of the
 * tf_flows hash map.
 *
 * Logic:
 * 1. A hash map lookup costs more than everything else the classifier does
 *    for a packet together (~40 ns of ~45 in the test harness: hashing a
 *    48-byte key, walking a bucket, comparing keys). Most packets belong to
 *    a few busy flows, so each CPU gets an array of slots, in groups of
 *    TF_SLOT_WAYS: a flow's slot index is a cheap hash of its key, the
 *    other slots of its group are its next choices, and finding the flow
 *    is nearly always one array access and key comparison.
 * 2. A packet whose group's slots are all held by other flows is counted
 *    in tf_flows as before; otherwise its flow claims the first empty one. A
 *    flow may so have a slot on one CPU and a tf_flows entry from another,
 *    or (after a slot was freed) both: the agent adds them up.
 * 3. Only the agent empties slots (of idle and closed flows), so a slot's
 *    flow never changes under a reader. The slots of a CPU are written by
 *    that CPU only, and TC runs with bottom halves off, so ingress and
 *    egress never interleave on one slot.
 * tf_slot_hash has a Go twin (bpf/slots.go): keep them equal.
 */
#pragma once

#include "tf_maps.h"

/* Slots per CPU, a power of two, set by the loader; 0 turns slots off. */
volatile const __u32 tf_slot_count = 0;

/* The slot array, CPU after CPU (max_entries = possible CPUs x
 * tf_slot_count, set by the loader). Claimed by TC, emptied by the agent,
 * which reads it through a memory mapping. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tf_flow_slot);
} tf_slots SEC(".maps");

_Static_assert(sizeof(struct tf_flow_key) == 48, "tf_slot_hash and tf_key_eq read the key as 6 words");

#define TF_SLOT_MULT 0x9E3779B97F4A7C15ULL

/* The hash of a key given as its six words, for the express lane
 * (tf_express.h), which holds them in registers. */
static __always_inline __u64 tf_slot_hash_words(__u64 w0, __u64 w1, __u64 w2, __u64 w3, __u64 w4, __u64 w5)
{
	__u64 local = (w0 ^ w1) * TF_SLOT_MULT;
	return ((local ^ w2 ^ w3 ^ w4 ^ w5) * TF_SLOT_MULT) >> 32;
}

static __always_inline __u64 tf_slot_hash(const struct tf_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;
	return tf_slot_hash_words(w[0], w[1], w[2], w[3], w[4], w[5]);
}

/* Whether key a is the key given as its six words (see tf_slot_hash_words). */
static __always_inline int tf_key_is(const struct tf_flow_key *a, __u64 w0, __u64 w1, __u64 w2, __u64 w3, __u64 w4,
				     __u64 w5)
{
	const __u64 *x = (const __u64 *)a;
	return ((x[0] ^ w0) | (x[1] ^ w1) | (x[2] ^ w2) | (x[3] ^ w3) | (x[4] ^ w4) | (x[5] ^ w5)) == 0;
}

static __always_inline int tf_key_eq(const struct tf_flow_key *a, const struct tf_flow_key *b)
{
	const __u64 *y = (const __u64 *)b;
	return tf_key_is(a, y[0], y[1], y[2], y[3], y[4], y[5]);
}

/* A flow may hold any slot of its group: TF_SLOT_WAYS slots side by side
 * in memory (fewer when a CPU has fewer slots). Its own slot, by the hash,
 * comes first, then the others of the group (own ^ 1, ^ 2, ^ 3), which it
 * takes when other flows hold the ones before. With two ways, 1000 flows
 * in 4096 slots went to the flow map 3.1% of the time, and 1000 new flows
 * while 1000 closed ones still held their slots (until the agent's next
 * poll) 17%; with four, 0.4% and 6.7%. */
#define TF_SLOT_WAYS 4 /* tf_slot_find and the express lane look at four */

/* Flow k's counters when slot at holds it; else 0, and the slot noted in
 * *empty when it is the first empty one seen. */
static __always_inline struct tf_flow_stats *tf_slot_try(__u32 at, const struct tf_flow_key *k,
							 struct tf_flow_slot **empty)
{
	struct tf_flow_slot *s = bpf_map_lookup_elem(&tf_slots, &at);
	if (!s)
		return 0;
	if (tf_key_eq(&s->key, k))
		return &s->stats;
	if (!*empty && s->key.family == 0)
		*empty = s;
	return 0;
}

/* Flow k's counters in a slot of its group on this CPU, else 0 and the
 * first empty slot of the group in *empty (NULL if none, and when slots
 * are off). One slot after another, not an array of them: the stack has
 * no room for one. */
static __always_inline struct tf_flow_stats *tf_slot_find(const struct tf_flow_key *k, struct tf_flow_slot **empty)
{
	__u32 n = tf_slot_count; /* read once: it is volatile */
	if (n == 0)
		return 0;
	__u32 idx = bpf_get_smp_processor_id() * n + ((__u32)tf_slot_hash(k) & (n - 1));
	struct tf_flow_stats *v = tf_slot_try(idx, k, empty);
	if (v || n < 2) /* n is a power of two */
		return v;
	v = tf_slot_try(idx ^ 1, k, empty);
	if (v || n < 4)
		return v;
	v = tf_slot_try(idx ^ 2, k, empty);
	return v ? v : tf_slot_try(idx ^ 3, k, empty);
}

/* Payload hints for the TC classifier: what a flow carries, read from the
 * first bytes of its payloads, with bounded work per packet.
 *
 * Logic:
 * 1. UDP: the first byte tells STUN (0-3), DTLS (20-63), TURN ChannelData
 *    (64-79) and RTP/RTCP (128-191) apart (RFC 7983). STUN needs the magic
 *    cookie; Microsoft's TURN variant has none but a length that matches.
 *    A UDP flow that showed none of these in its first TF_HINT_TRIES
 *    packets is not read further: a bulk transfer pays one comparison.
 * 2. RTP, also inside ChannelData: per (flow, SSRC, direction) counters in
 *    tf_rtp, with RFC 3550 A.1's sequence state (probation, MAX_DROPOUT,
 *    MAX_MISORDER, resync; duplicates counted apart) and A.8's jitter,
 *    updated as libwebrtc does: once per timestamp, from in-order packets.
 *    Only packets that look like RTP pay for this; other traffic costs one
 *    12-byte read.
 * 3. DNS answers received and TLS ClientHellos sent go to user space as
 *    bounded samples (at most TF_SAMPLE_MAX bytes, TF_SAMPLES_PER_SEC per
 *    CPU) to learn server names. A ClientHello longer than its first
 *    segment is followed into the next segments of the flow.
 * 4. STUN Binding requests and responses, either way, bare, on a TURN
 *    channel or in a Send/Data indication, go up as samples of their first
 *    TF_STUN_SAMPLE bytes (same budget) for the agent to time ICE checks.
 *    Only the STUN and ChannelData branches test for them: bare RTP pays
 *    nothing, RTP on a channel one comparison.
 * Any change here must be made to the Go twin (agent/packet/hints.go).
 */
#pragma once

#include "tf_parse.h"

#define TF_SAMPLES_PER_SEC 256
#define TF_HELLO_TRIES	   8 /* packets per direction and CPU that may start a ClientHello */
#define TF_HINT_TRIES                                                                                                  \
	16 /* UDP packets per direction and CPU read before a flow that
				 * showed no known protocol is left alone */
#define TF_RTP_DEFAULT_CLOCK 90000
#define TF_RTP_SEQ_NEAR	     64	       /* sequence steps a real sender's next packet may take (loss) */
#define TF_RTP_PT_CN	     13	       /* comfort noise (RFC 3389): part of an audio stream */
#define TF_RTP_TS_REBASE     (1 << 28) /* timestamp steps back beyond this (50 min at 90 kHz) re-base */
/* RFC 3550 A.1's parameters, and the duplicate check's reach. */
#define TF_RTP_SEQ_MOD	      0x10000
#define TF_RTP_MAX_DROPOUT    3000
#define TF_RTP_MAX_MISORDER   100
#define TF_RTP_MIN_SEQUENTIAL 2
#define TF_RTP_NO_BAD_SEQ     (TF_RTP_SEQ_MOD + 1)
#define TF_RTP_SEEN	      64	     /* sequence numbers below the highest whose arrival is remembered */
#define TF_RTP_JITTER_JUMP    450000ULL	     /* libwebrtc's bound on |D|: 5 s of the 90 kHz clock, in samples */
#define TF_RTP_JITTER_CAP_NS  60000000000ULL /* a |D| of a minute or more is past it (clocks >= 7.5 kHz) */
#define TF_STUN_MAGIC	      0x2112A442
#define TF_STUN_SAMPLE	      96 /* bytes of a STUN sample: TURN framing and the Binding header in it */
#define TF_STUN_ATTRS	      3	 /* attributes of a TURN indication walked to find DATA */
#define EEXIST_		      17

/* RTP sources. Inserted by TC on a source's first packet, updated on each
 * of its packets; read and deleted (with their flow) by the agent. Not LRU:
 * a full map is counted (TF_CNT_RTP_MAP_FULL). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tf_rtp_key);
	__type(value, struct tf_rtp_stats);
} tf_rtp SEC(".maps");

/* RTP clock rate in Hz by payload type, for jitter. Written by the agent at
 * start; 0 means the video clock, 90 kHz. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u32);
} tf_rtp_clock SEC(".maps");

/* Payload sample rate limit: samples sent in the current second, per CPU. */
struct tf_budget {
	__u64 window_ns;
	__u64 sent;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tf_budget);
} tf_budget SEC(".maps");

/* Room to build a sample: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tf_payload_event);
} tf_scratch SEC(".maps");

const struct tf_rtp_key *unused_tf_rtp_key __attribute__((unused));
const struct tf_rtp_stats *unused_tf_rtp_stats __attribute__((unused));
const struct tf_payload_event *unused_tf_payload_event __attribute__((unused));

/* Reads 12 payload bytes at off: directly when they are in the linear
 * part, else through the helper. */
static __always_inline int tf_load12(struct __sk_buff *skb, __u32 off, __u8 *buf)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	if (off < 0x1000) {
		/* The verifier needs a small bound on a variable packet offset. */
		__u32 o = off & 0xFFF;
		if (data + o + 12 <= end) {
			__builtin_memcpy(buf, data + o, 12);
			return 0;
		}
	}
	return bpf_skb_load_bytes(skb, off & 0xFFFF, buf, 12);
}

static __always_inline int tf_take_sample_budget(void)
{
	__u32 zero = 0;
	struct tf_budget *b = bpf_map_lookup_elem(&tf_budget, &zero);
	if (!b)
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();
	if (now - b->window_ns >= 1000000000ULL) {
		b->window_ns = now;
		b->sent = 0;
	}
	if (b->sent >= TF_SAMPLES_PER_SEC) {
		tf_count(TF_CNT_SAMPLES_RATE_LIMITED);
		return 0;
	}
	b->sent++;
	return 1;
}

/* Hands the packet's payload to user space: DNS answers are received,
 * ClientHellos sent. */
static __noinline void tf_sample(struct __sk_buff *skb, const struct tf_flow_key *k, const struct tf_pkt *p, __u32 kind,
				 __u32 egress)
{
	if (!tf_take_sample_budget())
		return;
	__u32 off = p->payload_off, len = p->payload_len;
	__u32 zero = 0;
	struct tf_payload_event *ev = bpf_map_lookup_elem(&tf_scratch, &zero);
	if (!ev)
		return;
	if (len == 0)
		return;
	if (len > TF_SAMPLE_MAX)
		len = TF_SAMPLE_MAX;
	if (kind == TF_SAMPLE_STUN && len > TF_STUN_SAMPLE)
		len = TF_STUN_SAMPLE;
	/* In 1..TF_SAMPLE_MAX in a way older verifiers (6.1) can follow: they
	 * lost the lower bound of the tests above on the way to the copy
	 * ("R3 min value is outside of the allowed memory range"). The
	 * barrier keeps the compiler from dropping the mask as redundant. */
	asm volatile("" : "+r"(len));
	len = ((len - 1) & (TF_SAMPLE_MAX - 1)) + 1;
	ev->type = TF_EV_PAYLOAD;
	ev->kind = kind;
	ev->egress = egress;
	ev->len = len;
	ev->ts_ns = bpf_ktime_get_boot_ns();
	__builtin_memcpy(&ev->flow, k, sizeof(*k));
	ev->tcp_seq = p->tcp_seq;
	ev->pad = 0;
	_Static_assert((TF_SAMPLE_MAX & (TF_SAMPLE_MAX - 1)) == 0, "the length mask needs a power of two");
	if (bpf_skb_load_bytes(skb, off & 0xFFFF, ev->data, len))
		return;
	if (bpf_ringbuf_output(&tf_events, ev, sizeof(*ev) - TF_SAMPLE_MAX + len, 0))
		tf_count(TF_CNT_SAMPLES_LOST);
}

static __always_inline __u64 tf_rtp_clock_rate(__u32 pt)
{
	__u32 *rate = bpf_map_lookup_elem(&tf_rtp_clock, &pt);
	if (rate && *rate)
		return *rate;
	return TF_RTP_DEFAULT_CLOCK;
}

/* RFC 3550 A.8: J += (|D| - J) / 16, in ns scaled by 16. D compares the
 * arrival spacing with the RTP timestamp spacing of two in-order packets
 * (see tf_rtp_packet). As libwebrtc (receive_statistics_impl.cc,
 * UpdateJitter), a |D| of TF_RTP_JITTER_JUMP samples or more is a jump of
 * the sender's timestamps, not jitter, and leaves J alone. */
static __always_inline void tf_rtp_jitter(struct tf_rtp_stats *st, __u64 now, __u32 ts, __u32 pt)
{
	__u64 clock = tf_rtp_clock_rate(pt);
	__s64 arrival = (__s64)(now - st->jitter_ns);
	__s32 tsd = (__s32)(ts - st->last_ts);
	__u64 mag = tsd < 0 ? (__u64)(-(__s64)tsd) : (__u64)tsd;
	__s64 tsns = (__s64)(mag * 1000000000ULL / clock);
	if (tsd < 0)
		tsns = -tsns;
	__s64 d = arrival - tsns;
	if (d < 0)
		d = -d;
	/* |D| in samples, without a second division per packet: a minute is
	 * past the bound at any clock from 7.5 kHz, and below it the product
	 * cannot overflow. */
	if ((__u64)d >= TF_RTP_JITTER_CAP_NS || (__u64)d * clock >= TF_RTP_JITTER_JUMP * 1000000000ULL)
		return;
	st->jitter16 += (__u64)d - ((st->jitter16 + 8) >> 4);
}

/* RFC 3550 A.1 init_seq. carry is the packets expected before a resync:
 * base_seq moves back by it, so that expected (max_seq - base_seq + 1,
 * modulo 2^32) goes on counting across the resync where A.1 would start
 * again from zero, and received goes on with it. */
static __always_inline void tf_rtp_seq_init(struct tf_rtp_stats *st, __u16 seq, __u32 carry)
{
	st->base_seq = (__u32)seq - carry;
	st->max_seq = seq;
	st->bad_seq = TF_RTP_NO_BAD_SEQ;
	st->seen = 1;
}

/* What RFC 3550 A.1 made of a packet's sequence number. */
enum tf_seq_verdict {
	TF_SEQ_HELD, /* not counted: a large jump (maybe a restart), or a source on probation */
	TF_SEQ_NEW,  /* on probation, not in sequence: probation starts again from it */
	TF_SEQ_NEXT, /* in order: the highest, with a permissible gap, or a resync */
	TF_SEQ_LATE, /* counted, behind the highest: reordered or retransmitted */
	TF_SEQ_DUP,  /* a sequence number in seen: a duplicate, counted apart */
};

/* RFC 3550 A.1 update_seq (MIN_SEQUENTIAL, MAX_DROPOUT, MAX_MISORDER,
 * bad_seq resync, cycles in max_seq's upper half), with two changes: a
 * sequence number received before among the TF_RTP_SEEN highest is a
 * duplicate, counted apart and not received, so that duplicates never
 * make loss negative; and a resync carries the counts on. Also counts
 * seq_steps, the label's sign of a real sender. */
static __always_inline int tf_rtp_seq(struct tf_rtp_stats *st, __u16 seq)
{
	__u16 udelta = seq - (__u16)st->max_seq;
	if (st->packets && udelta >= 1 && udelta <= TF_RTP_SEQ_NEAR)
		st->seq_steps++;
	if (st->probation) {
		if (udelta != 1) {
			st->probation = TF_RTP_MIN_SEQUENTIAL - 1;
			st->max_seq = seq;
			return TF_SEQ_NEW;
		}
		st->max_seq = seq;
		if (--st->probation)
			return TF_SEQ_NEXT;
		tf_rtp_seq_init(st, seq, 0);
		st->received++;
		return TF_SEQ_NEXT;
	}
	if (udelta != 0 && udelta < TF_RTP_MAX_DROPOUT) {
		st->max_seq += udelta;
		st->seen = udelta >= TF_RTP_SEEN ? 1 : (st->seen << udelta) | 1;
		st->received++;
		return TF_SEQ_NEXT;
	}
	if (udelta != 0 && udelta <= TF_RTP_SEQ_MOD - TF_RTP_MAX_MISORDER) {
		if (seq != st->bad_seq) {
			st->bad_seq = (seq + 1) & (TF_RTP_SEQ_MOD - 1);
			return TF_SEQ_HELD;
		}
		/* Two sequential packets after a jump: the sender restarted. */
		tf_rtp_seq_init(st, seq, st->max_seq - st->base_seq + 1);
		st->received++;
		return TF_SEQ_NEXT;
	}
	__u16 behind = -udelta;
	if (behind < TF_RTP_SEEN) {
		__u64 bit = 1ULL << behind;
		if (st->seen & bit) {
			st->duplicates++;
			return TF_SEQ_DUP;
		}
		st->seen |= bit;
	}
	st->received++;
	return TF_SEQ_LATE;
}

/* Frames and clock: a timestamp past the highest is a new frame, and its
 * step adds to the clock (a late or retransmitted packet adds nothing). One
 * far behind is a new base, not a late packet: libwebrtc's first padding
 * may carry timestamp 0 before any media, and the media's then lies half
 * the number space away. */
static __always_inline void tf_rtp_ts(struct tf_rtp_stats *st, __u32 ts)
{
	__s32 step = (__s32)(ts - st->max_ts);
	if (step > 0) {
		st->ts_advance += step;
		st->frames++;
		st->max_ts = ts;
	} else if (step < -TF_RTP_TS_REBASE) {
		st->max_ts = ts;
	}
}

/* The majority payload type (Boyer-Moore): comfort noise at the end of a
 * call does not hide the codec, and neither do RTX or FEC types mixed in. */
static __always_inline void tf_rtp_main_pt(struct tf_rtp_stats *st, __u32 pt)
{
	if (pt == TF_RTP_PT_CN)
		return;
	if (pt == st->main_pt) {
		if (st->main_votes < 0xFFFF)
			st->main_votes++;
	} else if (st->main_votes == 0) {
		st->main_pt = pt;
		st->main_votes = 1;
	} else {
		st->main_votes--;
	}
}

/* An RTP packet: its first 12 bytes, where it starts and how long it is. */
struct tf_rtp_in {
	__u8 b[12];
	__u32 off;
	__u32 len;
	__u32 egress;
	__u32 relayed;
};

/* RFC 3550 5.1: the P bit marks padding at the end of the payload. SRTP
 * encrypts the padding count with the payload (RFC 3711 3.1), so a header
 * reader cannot tell its length, and libwebrtc sets the P bit only on its
 * padding packets (bandwidth probes): a packet with the P bit is padding,
 * all of it. */
static __always_inline __s64 tf_rtp_padding(const struct tf_rtp_in *in, __s64 payload)
{
	return (in->b[0] & 0x20) ? payload : 0;
}

/* A new source's first value (read only). */
static const struct tf_rtp_stats tf_rtp_zero = {};

/* Counts one RTP packet. */
static __noinline void tf_rtp_packet(struct __sk_buff *skb, const struct tf_flow_key *k, const struct tf_rtp_in *in)
{
	const __u8 *b = in->b;
	__u32 off = in->off, len = in->len, egress = in->egress, relayed = in->relayed;
	__u32 cc = b[0] & 0x0F;
	__s64 payload = (__s64)len - 12 - 4 * cc;
	if (b[0] & 0x10) {
		/* Header extension: 4 bytes, then its length in 32-bit words. */
		__u8 ext[4];
		if (bpf_skb_load_bytes(skb, (off + 12 + 4 * cc) & 0xFFFF, ext, 4) == 0)
			payload -= 4 + 4 * (__s64)((ext[2] << 8) | ext[3]);
	}
	if (payload < 0)
		payload = 0;
	__s64 pad = tf_rtp_padding(in, payload);
	payload -= pad;

	struct tf_rtp_key rk = {};
	__builtin_memcpy(&rk.flow, k, sizeof(*k));
	rk.ssrc = ((__u32)b[8] << 24) | ((__u32)b[9] << 16) | ((__u32)b[10] << 8) | b[11];
	rk.egress = egress;
	__u16 seq = (b[2] << 8) | b[3];
	__u32 ts = ((__u32)b[4] << 24) | ((__u32)b[5] << 16) | ((__u32)b[6] << 8) | b[7];
	__u32 pt = b[1] & 0x7F;
	__u64 now = bpf_ktime_get_boot_ns();

	struct tf_rtp_stats *st = bpf_map_lookup_elem(&tf_rtp, &rk);
	if (!st) {
		/* A new source starts from zeros in place: a full value on the
		 * stack would overflow the call chain's 512 bytes. */
		long err = bpf_map_update_elem(&tf_rtp, &rk, &tf_rtp_zero, BPF_NOEXIST);
		if (err && err != -EEXIST_) {
			tf_count(TF_CNT_RTP_MAP_FULL);
			return;
		}
		st = bpf_map_lookup_elem(&tf_rtp, &rk);
		if (!st)
			return;
	}
	if (st->packets == 0) {
		/* A.1: a new source starts on probation. */
		st->first_ns = now;
		st->max_ts = ts;
		tf_rtp_seq_init(st, seq, 0);
		st->max_seq = (__u32)seq - 1;
		st->probation = TF_RTP_MIN_SEQUENTIAL;
	} else {
		tf_rtp_ts(st, ts);
	}
	/* Jitter as libwebrtc computes it (receive_statistics_impl.cc,
	 * UpdateCounters): from in-order packets only, and only when the
	 * timestamp differs from the last in-order packet's, so once per video
	 * frame, measured from the last packet of the frame before; audio has
	 * a timestamp per packet. */
	int verdict = tf_rtp_seq(st, seq);
	if (verdict == TF_SEQ_NEXT || verdict == TF_SEQ_NEW) {
		if (verdict == TF_SEQ_NEXT && st->packets && ts != st->last_ts)
			tf_rtp_jitter(st, now, ts, pt);
		st->last_ts = ts;
		st->jitter_ns = now;
	}
	st->packets++;
	st->payload_bytes += payload;
	st->payload_squares += payload * payload;
	st->markers += b[1] >> 7;
	st->pad_bytes += pad;
	st->pad_only += payload == 0;
	tf_rtp_main_pt(st, pt);
	st->last_ns = now;
	st->payload_type = pt;
	st->relayed = relayed;
}

/* RTP or RTCP (RFC 5761: RTCP packet types 192-223 in the second byte). */
static __always_inline void tf_rtp_or_rtcp(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_flow_key *k,
					   const struct tf_rtp_in *in)
{
	if ((in->b[0] >> 6) != 2)
		return;
	if (in->b[1] >= 192 && in->b[1] <= 223) {
		v->protos |= TF_P_RTCP;
		return;
	}
	v->protos |= TF_P_RTP;
	tf_rtp_packet(skb, k, in);
}

/* What the first 12 bytes of a UDP payload of len bytes show, by their
 * first byte (RFC 7983). The express lane (tf_express.h) asks too: a
 * packet that shows nothing changes nothing here, so it may count it. */
enum tf_udp_kind {
	TF_UDP_NOTHING,
	TF_UDP_STUN,
	TF_UDP_MSTURN,
	TF_UDP_DTLS,
	TF_UDP_CHANNELDATA,
	TF_UDP_RTP
};

static __always_inline enum tf_udp_kind tf_udp_kind(const __u8 *b, __u32 len)
{
	__u8 c = b[0];
	if (c < 4) {
		__u32 magic = ((__u32)b[4] << 24) | ((__u32)b[5] << 16) | ((__u32)b[6] << 8) | b[7];
		__u32 mlen = (b[2] << 8) | b[3];
		if (magic == TF_STUN_MAGIC)
			return TF_UDP_STUN;
		return mlen + 20 == len ? TF_UDP_MSTURN : TF_UDP_NOTHING;
	}
	if (c >= 20 && c < 64)
		return b[1] == 0xFE ? TF_UDP_DTLS : TF_UDP_NOTHING;
	if (c >= 64 && c < 80)
		return ((b[2] << 8) | b[3]) + 4 <= len ? TF_UDP_CHANNELDATA : TF_UDP_NOTHING;
	if (c >= 128 && c < 192)
		return TF_UDP_RTP; /* or RTCP: tf_rtp_or_rtcp tells */
	return TF_UDP_NOTHING;
}

/* DNS on either end: a random query id can look like RTP. */
static __always_inline int tf_udp_dns(__u16 sport, __u16 dport)
{
	return sport == 53 || dport == 53;
}

/* A STUN or TURN message's type, and whether its method is TURN's. */
static __always_inline void tf_stun_type(struct tf_flow_stats *v, const __u8 *b)
{
	__u16 type = (b[0] << 8) | b[1];
	v->stun_type = type;
	/* RFC 5389 method bits; every method but binding (1) is TURN's. */
	if (((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2)) != 1)
		v->protos |= TF_P_TURN;
}

/* A STUN Binding request (0x0001), success (0x0101) or error (0x0111)
 * response, from the first 8 bytes of a message: ICE's connectivity and
 * consent checks (RFC 8445, RFC 7675), whose round trip the agent times. */
static __always_inline int tf_stun_binding(const __u8 *b)
{
	__u32 magic = ((__u32)b[4] << 24) | ((__u32)b[5] << 16) | ((__u32)b[6] << 8) | b[7];
	__u16 type = (b[0] << 8) | b[1];
	return magic == TF_STUN_MAGIC && (type == 0x0001 || type == 0x0101 || type == 0x0111);
}

/* A TURN Send (0x0016) or Data (0x0017) indication (RFC 8656 11): a
 * relayed message inside its DATA attribute, before a channel is bound. */
static __always_inline int tf_stun_indication(const __u8 *b)
{
	return b[0] == 0x00 && (b[1] == 0x16 || b[1] == 0x17);
}

/* Whether the indication of len bytes at off carries a Binding message
 * whose header fits in a sample: its first TF_STUN_ATTRS attributes are
 * walked to DATA (XOR-PEER-ADDRESS comes first), and the message inside
 * is read. Media relayed this way is not sampled. A subprogram: only
 * indications pay for it. */
static __noinline int tf_stun_indicated(struct __sk_buff *skb, __u32 off, __u32 len)
{
	__u32 at = 20;
	for (int i = 0; i < TF_STUN_ATTRS; i++) {
		__u8 a[8];
		if (at + 4 + 20 > TF_STUN_SAMPLE || at + 4 + 20 > len)
			return 0;
		if (bpf_skb_load_bytes(skb, (off + at) & 0xFFFF, a, 4))
			return 0;
		__u32 alen = (a[2] << 8) | a[3];
		if (a[0] == 0x00 && a[1] == 0x13) {
			if (bpf_skb_load_bytes(skb, (off + at + 4) & 0xFFFF, a, 8))
				return 0;
			return alen >= 20 && tf_stun_binding(a);
		}
		at += 4 + ((alen + 3) & ~3U);
	}
	return 0;
}

static __noinline void tf_hints_udp(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_flow_key *k,
				    const struct tf_pkt *p, __u32 egress)
{
	__u32 off = p->payload_off, len = p->payload_len;
	if (tf_udp_dns(p->sport, p->dport)) {
		/* Answers are sampled. */
		if (!egress && p->sport == 53) {
			v->protos |= TF_P_DNS;
			tf_sample(skb, k, p, TF_SAMPLE_DNS, 0);
		}
		return;
	}
	struct tf_rtp_in in = {.off = off, .len = len, .egress = egress};
	__u8 *b = in.b;
	if (len < 12 || tf_load12(skb, off, b))
		return;
	switch (tf_udp_kind(b, len)) {
	case TF_UDP_NOTHING:
		return;
	case TF_UDP_STUN:
		v->protos |= TF_P_STUN;
		tf_stun_type(v, b);
		if (len >= 20 && (tf_stun_binding(b) || (tf_stun_indication(b) && tf_stun_indicated(skb, off, len))))
			tf_sample(skb, k, p, TF_SAMPLE_STUN, egress);
		return;
	case TF_UDP_MSTURN:
		v->protos |= TF_P_MSTURN;
		tf_stun_type(v, b);
		return;
	case TF_UDP_DTLS:
		v->protos |= TF_P_DTLS;
		return;
	case TF_UDP_CHANNELDATA: {
		v->protos |= TF_P_CHANNELDATA;
		__u32 clen = (b[2] << 8) | b[3];
		if (clen < 12 || tf_load12(skb, off + 4, b))
			return;
		if (__builtin_expect(b[0] < 4, 0)) {
			/* STUN relayed on a channel: a check through the relay. */
			if (clen >= 20 && tf_stun_binding(b))
				tf_sample(skb, k, p, TF_SAMPLE_STUN, egress);
			return;
		}
		in.off = off + 4;
		in.len = clen;
		in.relayed = 1;
		tf_rtp_or_rtcp(skb, v, k, &in);
		return;
	}
	case TF_UDP_RTP:
		tf_rtp_or_rtcp(skb, v, k, &in);
		return;
	}
}

/* A ClientHello sent: its first segment (handshake record 0x16 0x03, type
 * 1) and the segments after it until the record is complete. */
static __noinline void tf_hints_tcp(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_flow_key *k,
				    const struct tf_pkt *p)
{
	__u32 off = p->payload_off, len = p->payload_len;
	if (v->dir[0].hello_left) {
		tf_sample(skb, k, p, TF_SAMPLE_CLIENT_HELLO, 1);
		v->dir[0].hello_left = len >= v->dir[0].hello_left ? 0 : v->dir[0].hello_left - len;
		return;
	}
	__u8 b[12];
	if (len < 12 || tf_load12(skb, off, b))
		return;
	if (b[0] != 0x16 || b[1] != 0x03 || b[5] != 0x01)
		return;
	v->protos |= TF_P_TLS;
	__u32 record = ((b[3] << 8) | b[4]) + 5;
	v->dir[0].hello_left = record > len ? record - len : 0;
	tf_sample(skb, k, p, TF_SAMPLE_CLIENT_HELLO, 1);
}

/* Whether a packet gets payload hints, by the checks that leave most
 * packets alone: UDP until a flow showed no known protocol in its first
 * packets, TCP only for ClientHellos sent, in a flow's first packets or
 * their sequel. packets is the direction's count on this CPU. The express
 * lane (tf_express.h) asks too: a packet that gets hints is not its. */
static __always_inline int tf_hints_wanted(const struct tf_flow_stats *v, __u8 protocol, int has_payload, __u64 packets,
					   __u32 egress)
{
	if (protocol == IPPROTO_UDP)
		return v->protos != 0 || packets <= TF_HINT_TRIES;
	return egress && has_payload && (v->dir[0].hello_left != 0 || v->dir[0].packets <= TF_HELLO_TRIES);
}

/* Payload hints for one packet of flow k, whose counters (this CPU's) are
 * v. The checks come first, here, so that only the packets that get hints
 * pay for the call. */
static __always_inline void tf_hints(struct __sk_buff *skb, struct tf_flow_stats *v, const struct tf_flow_key *k,
				     const struct tf_pkt *p, __u32 egress)
{
	if (p->fragment ||
	    !tf_hints_wanted(v, p->protocol, p->payload_len != 0, v->dir[egress ? 0 : 1].packets, egress))
		return;
	if (p->protocol == IPPROTO_UDP)
		tf_hints_udp(skb, v, k, p, egress);
	else
		tf_hints_tcp(skb, v, k, p);
}

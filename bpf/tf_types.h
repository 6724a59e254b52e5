/* Structures shared between the kernel programs and the Go agent.
 *
 * Go reads these in place (bpf2go -type generates the mirrors), so every
 * struct is explicitly padded to a multiple of 8 bytes and compiled with
 * -Wpadded: a hole the compiler would add silently breaks the build instead.
 */
#pragma once

#define TF_COMM_LEN 16
#define TF_PATH_LEN 128
#define TF_ARGS_LEN 256

/* Indexes of the tf_counters array: everything the kernel side had to drop
 * or could not do. The agent reads and reports them; none is silent. Each is
 * reported under its name lower case without TF_CNT_ (bpf/contract). */
enum tf_counter {
	TF_CNT_FLOW_MAP_FULL = 0,	 /* packet not counted: flow map full */
	TF_CNT_EVENTS_LOST = 1,		 /* ring buffer full: socket/process event lost */
	TF_CNT_OWNER_STORE_FAIL = 2,	 /* socket owner storage could not be created */
	TF_CNT_PARSE_SHORT = 3,		 /* packet too short for its headers: counted as such */
	TF_CNT_IP_FRAGMENT = 4,		 /* non-first IP fragment: no ports, counted with ports 0 */
	TF_CNT_RTP_MAP_FULL = 5,	 /* RTP packet not counted: RTP stream map full */
	TF_CNT_SAMPLES_RATE_LIMITED = 6, /* DNS/TLS/STUN payload sample dropped by the rate limit */
	TF_CNT_SAMPLES_LOST = 7,	 /* ring buffer full: payload sample lost */
	TF_CNT_MAX = 8,
};

/* Which kind of record a ring-buffer event is. */
enum tf_event_type {
	TF_EV_SOCK_OPEN = 1,  /* cgroup/sock_create */
	TF_EV_SOCK_CLOSE = 2, /* cgroup/sock_release */
	TF_EV_SOCK_OWNER = 3, /* owner first seen or changed (connect, bind, send, recv) */
	TF_EV_TCP_ESTAB = 4,  /* sock_ops: TCP established, both ends known */
	TF_EV_PROC_EXEC = 5,
	TF_EV_PROC_EXIT = 6,
	TF_EV_PAYLOAD = 7, /* TC: a DNS answer, TLS ClientHello or STUN Binding sample */
};

/* Protocols seen in a flow's payloads (struct tf_flow_stats.protos). UDP
 * payloads are told apart by their first byte (RFC 7983). */
enum tf_proto_bits {
	TF_P_STUN = 1 << 0,	   /* STUN with the RFC 5389 magic cookie */
	TF_P_MSTURN = 1 << 1,	   /* Microsoft TURN: RFC 3489 framing, no cookie */
	TF_P_CHANNELDATA = 1 << 2, /* TURN ChannelData */
	TF_P_DTLS = 1 << 3,
	TF_P_RTP = 1 << 4,
	TF_P_RTCP = 1 << 5,
	TF_P_TLS = 1 << 6,  /* a TLS ClientHello sent */
	TF_P_DNS = 1 << 7,  /* a DNS response received */
	TF_P_TURN = 1 << 8, /* a STUN message of a TURN method (allocate, refresh, send, ...):
				    * kept as a bit because the last type seen depends on the CPU */
};

/* What a payload sample holds (struct tf_payload_event.kind). */
enum tf_sample_kind {
	TF_SAMPLE_DNS = 1,
	TF_SAMPLE_CLIENT_HELLO = 2,
	TF_SAMPLE_STUN = 3, /* a STUN Binding request or response, bare or in TURN framing,
				     * either direction: the agent times checks against answers */
};

/* The process that owns a socket, kept in socket-local storage. start_ns is
 * the thread-group leader's start time since boot, so (tgid, start_ns)
 * names a process even after its pid is reused. */
struct tf_owner {
	__u64 cgroup_id;
	__u64 start_ns;
	__u32 tgid;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	char comm[TF_COMM_LEN];
};

/* Socket lifecycle and ownership, to the ring buffer. Addresses are in
 * network order, IPv4 in the first 4 bytes; ports in host order. */
struct tf_sock_event {
	__u32 type;
	__u16 family;  /* AF_INET / AF_INET6 */
	__u8 protocol; /* IPPROTO_TCP / IPPROTO_UDP (MPTCP reported as TCP) */
	__u8 pad0;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 cookie;
	__u64 netns_cookie;
	struct tf_owner owner;
	__u8 local_addr[16];
	__u8 peer_addr[16];
	__u16 local_port;
	__u16 peer_port;
	__u32 pad1;
};

/* Process exec and exit, to the ring buffer. */
struct tf_proc_event {
	__u32 type;
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u64 ts_ns;
	__u64 start_ns;
	__s32 exit_code;
	__u32 args_len;
	char comm[TF_COMM_LEN];
	char filename[TF_PATH_LEN];
	char args[TF_ARGS_LEN]; /* argv, NUL separated, truncated */
};

/* A flow as seen from the local end, so that both directions share one
 * entry: egress packets are src=local, ingress packets dst=local. netns
 * keeps identical tuples in different network namespaces apart. */
struct tf_flow_key {
	__u8 local_addr[16];
	__u8 peer_addr[16];
	__u16 local_port;
	__u16 peer_port;
	__u8 protocol;
	__u8 family; /* 4 or 6 */
	__u16 pad;
	__u64 netns;
};

/* The jiffies clock next to the boot clock, sampled together by
 * tf_clock_sample so that user space can convert jiffies. */
struct tf_clock {
	__u64 jiffies;
	__u64 boot_ns;
};

/* One direction of a flow. What every packet writes comes first: in a
 * flow slot both directions' hot fields share one cache line (see struct
 * tf_flow_slot). */
struct tf_flow_dir {
	__u64 bytes;	  /* IP bytes (header included) */
	__u64 packets;	  /* GSO/GRO aggregates counted as their segments */
	__u64 last;	  /* jiffies (4 ms or finer): a precise clock read costs
			  * more than the rest of the per-packet work together.
			  * The agent converts it to boot-clock ns when it reads. */
	__u8 tcp_flags;	  /* OR of all flags seen */
	__u8 dscp;	  /* last seen */
	__u16 hello_left; /* egress: bytes of a ClientHello still to sample */
	/* The flow's owner was known after this direction's last look
	 * (tc.c): its next packets need not look. */
	__u8 owner_known;
	/* Egress: the owner is the socket's creator, read while the sender
	 * could not be (a datagram sent from softirq): the next packets
	 * look again. */
	__u8 owner_pending;
	__u8 pad[2];
	__u64 first_ns; /* CLOCK_BOOTTIME, precise: written on the first packet only */
};

/* Per-CPU value of the flow map: the agent sums the CPUs. The owner and
 * cookie are filled on the first packet of each direction on each CPU, the
 * only time the program does more than count. What every packet reads and
 * writes comes first and together (hint state, then the directions'
 * counters), so that a packet touches as few cache lines as it can. */
struct tf_flow_stats {
	__u16 protos;	 /* enum tf_proto_bits seen on this CPU */
	__u16 stun_type; /* last STUN/TURN message type */
	__u32 ifindex;
	struct tf_flow_dir dir[2]; /* 0 = egress (sent), 1 = ingress (received) */
	__u64 cookie;
	struct tf_owner owner;
};

/* One entry of the per-CPU flow slot array (tf_slots): an empty slot has
 * family 0 in its key. */
struct tf_flow_slot {
	struct tf_flow_key key;
	struct tf_flow_stats stats;
};

/* Three cache lines, and slots start on a line (the array's values are
 * page aligned): a packet reads the key and the hint state in the first
 * line and its direction's counters, which end before byte 124, in the
 * second. With 1000 flows in turn those lines have left the cache by the
 * time a flow's next packet comes, so each line a packet touches costs. */
_Static_assert(sizeof(struct tf_flow_slot) == 192, "a flow slot is three cache lines");

/* One RTP source in one direction of a flow: browsers BUNDLE audio, video
 * and screen share into one 5-tuple, so a media stream is (flow, SSRC). */
struct tf_rtp_key {
	struct tf_flow_key flow;
	__u32 ssrc;
	__u8 egress;
	__u8 pad[3];
};

/* Counters of one RTP source. Shared by all CPUs (not per-CPU): sequence
 * and jitter tracking needs one ordered view. Updates are not locked; two
 * CPUs updating the same source at the same instant is rare and at worst
 * skews one jitter sample. */
struct tf_rtp_stats {
	__u64 packets;
	__u64 payload_bytes;   /* RTP payload: after header, CSRCs, extension */
	__u64 payload_squares; /* sum of squared payload sizes, for the spread */
	__u64 markers;	       /* packets with the marker bit (video frames) */
	__u64 first_ns;	       /* CLOCK_BOOTTIME */
	__u64 last_ns;
	__u64 jitter16;	   /* RFC 3550 A.8 interarrival jitter in ns, times 16 */
	__u32 base_seq;	   /* RFC 3550 A.1 base_seq, less the packets expected before a resync */
	__u32 max_seq;	   /* highest sequence number, extended by wraps (A.1's cycles + max_seq) */
	__u32 last_ts;	   /* RTP timestamp of the last in-order packet (jitter, tf_hints.h) */
	__u8 payload_type; /* last seen */
	__u8 relayed;	   /* inside TURN ChannelData */
	__u8 pad[2];
	/* RTP structure for the labels: a frame is the packets that share a
	 * timestamp, the clock is how fast the timestamp advances. */
	__u64 ts_advance; /* sum of the steps of the highest timestamp: the clock over the life */
	__u64 pad_bytes;  /* RTP padding (P bit), left out of payload_bytes and payload_squares */
	__u32 max_ts;	  /* highest RTP timestamp (serial arithmetic, RFC 1982) */
	__u32 frames;	  /* packets that advanced the highest timestamp: new frames */
	__u32 seq_steps;  /* packets 1..TF_RTP_SEQ_NEAR ahead of the highest sequence */
	__u32 pad_only;	  /* packets with no payload once padding is left out (probes) */
	__u8 main_pt;	  /* majority payload type (Boyer-Moore vote); CN (13) does not vote */
	__u8 probation;	  /* RFC 3550 A.1: sequential packets still needed before the source is valid */
	__u16 main_votes; /* the vote's count, saturating */
	__u32 bad_seq;	  /* RFC 3550 A.1: a large jump's sequence number + 1 (0x10001: none) */
	/* RFC 3550 A.1 counts and the duplicate check (tf_hints.h). */
	__u64 seen;	  /* bit i: sequence number (max_seq - i) was received */
	__u64 jitter_ns;  /* arrival of the last in-order packet (CLOCK_BOOTTIME) */
	__u32 received;	  /* packets A.1 counts: valid, not duplicates */
	__u32 duplicates; /* packets whose sequence number was in seen already */
};

#define TF_SAMPLE_MAX 2048

/* A bounded payload sample: a DNS answer received or the start of a TLS
 * ClientHello sent, for naming peers; or the first TF_STUN_SAMPLE bytes
 * of a STUN Binding message either way, for round-trip times. Only len
 * bytes of data are sent. */
struct tf_payload_event {
	__u32 type;  /* TF_EV_PAYLOAD */
	__u8 kind;   /* enum tf_sample_kind */
	__u8 egress; /* sent by the local end */
	__u16 len;   /* bytes of data that follow */
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	struct tf_flow_key flow;
	__u32 tcp_seq; /* sequence number of data[0] (TCP) */
	__u32 pad;
	__u8 data[TF_SAMPLE_MAX];
};

// Package bpf holds teamsflow's kernel programs, their generated Go
// bindings and the loader that attaches them. See README.md in this folder
// for the rules the C code follows.
package bpf

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -Wpadded -mcpu=v3" -target amd64 -type tf_owner -type tf_sock_event -type tf_proc_event -type tf_flow_key -type tf_flow_stats -type tf_flow_dir -type tf_clock -type tf_flow_slot sock sock.c
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -Wpadded -mcpu=v3" -target amd64 proc proc.c
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -Wpadded -mcpu=v3" -target amd64 -type tf_rtp_key -type tf_rtp_stats -type tf_payload_event tc tc.c
// The classifier for kernels without the kfuncs bpf_cast_to_kern_ctx and bpf_rdonly_cast (before 6.3): see tc.c.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -Wpadded -mcpu=v3 -DTF_COMPAT" -target amd64 tcCompat tc.c

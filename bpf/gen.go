// Package bpf holds teamsflow's kernel programs, their generated Go
// bindings and the loader that attaches them. See README.md in this folder
// for the rules the C code follows.
package bpf

// The bindings carry no types (-no-global-types): the types the kernel
// shares with Go are generated once, into bpf/contract, from the objects'
// BTF, after the objects are built.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -Wpadded -mcpu=v3" -target bpfel -no-global-types sock sock.c
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -Wpadded -mcpu=v3" -target bpfel -no-global-types proc proc.c
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -Wpadded -mcpu=v3" -target bpfel -no-global-types tc tc.c
// The classifier for kernels without the kfuncs bpf_cast_to_kern_ctx and bpf_rdonly_cast (before 6.3): see tc.c.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -Wpadded -mcpu=v3 -DTF_COMPAT" -target bpfel -no-global-types tcCompat tc.c
//go:generate go run ./internal/contractgen -out contract/contract_gen.go -test-out contract/contract_gen_test.go sock_bpfel.o proc_bpfel.o tc_bpfel.o tccompat_bpfel.o

#!/bin/sh
# boot-systemd.sh UNITS CGROUP: boots systemd as PID 1 of fresh pid, mount
# and cgroup namespaces, for machines where systemd is not running (CI
# containers). systemd sees only the units in UNITS (stub targets and the
# installed teamsflow.service) and the enablement links in UNITS/wants, so
# nothing else of the machine starts; its cgroups live under CGROUP of
# the cgroup v2 hierarchy.
set -eu
units=$1
cgroup=$2

if [ "${3:-}" != inner ]; then
	# Move into our own cgroup first: the cgroup namespace then makes it
	# systemd's root, so everything it creates can be removed afterwards.
	unified=/sys/fs/cgroup
	[ "$(stat -fc %T $unified)" = cgroup2fs ] || unified=/sys/fs/cgroup/unified
	mkdir -p "$unified/$cgroup"
	echo $$ >"$unified/$cgroup/cgroup.procs"
	exec unshare --pid --fork --mount --cgroup --uts --mount-proc sh "$0" "$units" "$cgroup" inner
fi

mount --make-rprivate /
# A fresh cgroup2 mount is rooted at our cgroup namespace (the machine's
# mounts would show, and let systemd write to, the whole hierarchy), and
# with it alone systemd runs in unified mode and touches no v1 hierarchy.
umount -R /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /usr/lib/systemd/system-generators
mount -t tmpfs tmpfs /etc/systemd/system
mkdir /etc/systemd/system/multi-user.target.wants
cp -P "$units"/wants/* /etc/systemd/system/multi-user.target.wants/
mount --bind "$units" /usr/lib/systemd/system
exec env container=teamsflow-test /lib/systemd/systemd --system --unit=multi-user.target

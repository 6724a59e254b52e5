#!/bin/sh
# boot-systemd.sh UNITS CGROUP: boots systemd as PID 1 of fresh pid, mount
# and cgroup namespaces, for machines where systemd is not running (CI
# containers). systemd sees only the units in UNITS (stub targets and the
# installed teamsflow.service) and the enablement links in UNITS/wants, so
# nothing else of the machine starts; its cgroups live under CGROUP.
set -eu
units=$1
cgroup=$2

if [ "${3:-}" != inner ]; then
	# Move into our own cgroup first: the cgroup namespace then makes it
	# systemd's root, so everything it creates can be removed afterwards.
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		hierarchies=/sys/fs/cgroup
	else
		hierarchies="/sys/fs/cgroup/unified /sys/fs/cgroup/systemd"
	fi
	for h in $hierarchies; do
		[ -d "$h" ] || continue
		mkdir -p "$h/$cgroup"
		echo $$ >"$h/$cgroup/cgroup.procs"
	done
	exec unshare --pid --fork --mount --cgroup --uts --mount-proc sh "$0" "$units" "$cgroup" inner
fi

mount --make-rprivate /
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /usr/lib/systemd/system-generators
mount -t tmpfs tmpfs /etc/systemd/system
mkdir /etc/systemd/system/multi-user.target.wants
cp -P "$units"/wants/* /etc/systemd/system/multi-user.target.wants/
mount --bind "$units" /usr/lib/systemd/system
exec env container=teamsflow-test /lib/systemd/systemd --system --unit=multi-user.target

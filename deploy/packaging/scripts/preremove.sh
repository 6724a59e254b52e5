#!/bin/sh
# Before removal (deb: "remove"; rpm: 0 = erase). An upgrade keeps the
# service running; postinstall restarts it with the new binary.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

command -v systemctl >/dev/null || exit 0
if [ -d /run/systemd/system ]; then
	systemctl stop teamsflow.service || true
fi
systemctl disable teamsflow.service >/dev/null 2>&1 || true
exit 0

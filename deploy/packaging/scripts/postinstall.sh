#!/bin/sh
# After install or upgrade (deb: "configure"; rpm: 1 = install, 2 = upgrade).
# Creates the teamsflow user and group, enables the service, and starts
# (or restarts) it when systemd is running. Without systemd as PID 1
# (containers, image builds, CI) the service is only enabled.
set -e

case "$1" in
configure | 1 | 2) ;;
*) exit 0 ;;
esac

if ! getent group teamsflow >/dev/null; then
	groupadd --system teamsflow
fi
if ! getent passwd teamsflow >/dev/null; then
	useradd --system --gid teamsflow --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "teamsflow agent" teamsflow
fi

command -v systemctl >/dev/null || exit 0
# Enabling works offline (it only writes symlinks), so an image built
# without systemd running starts the agent on its first boot.
systemctl enable teamsflow.service >/dev/null 2>&1 || echo "teamsflow: could not enable teamsflow.service" >&2
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	# A failed start must not fail the installation: the admin fixes the
	# configuration and runs `systemctl restart teamsflow`.
	systemctl restart teamsflow.service ||
		echo "teamsflow: the service did not start; see: journalctl -u teamsflow" >&2
else
	echo "teamsflow: systemd is not running; start the agent with: teamsflow run" >&2
fi
exit 0

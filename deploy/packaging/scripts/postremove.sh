#!/bin/sh
# After removal. deb "purge" deletes the configuration, the user and the
# group: nothing on disk is owned by them once the package is gone (the
# runtime directory goes with the service). rpm has no purge: an erase
# (0) keeps edited configuration as .rpmsave and, as Fedora's packaging
# guidelines ask, the user and group.
set -e

case "$1" in
purge)
	rm -rf /etc/teamsflow
	rm -f /etc/default/teamsflow
	if getent passwd teamsflow >/dev/null; then
		userdel teamsflow || echo "teamsflow: could not remove the user teamsflow" >&2
	fi
	if getent group teamsflow >/dev/null; then
		groupdel teamsflow || echo "teamsflow: could not remove the group teamsflow" >&2
	fi
	;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
	systemctl daemon-reload || true
fi
exit 0

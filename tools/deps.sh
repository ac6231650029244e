#!/bin/sh
# Install the Debian packages Hearth needs to build, run and test.
# As root: apt-get install -y the missing ones. Otherwise: print the exact
# command and stop with status 1.
set -eu
PKGS="build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
libcurl4-openssl-dev libinih-dev libxml2-dev libcmocka-dev sqlite3 curl clang libclang-rt-14-dev
libpaho-mqtt-dev mosquitto mosquitto-clients libgnutls28-dev openssl libssl-dev libcjose-dev jq"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >/dev/null
else
	echo "deps: missing Debian packages; run:"
	echo "  sudo apt-get install -y$missing"
	exit 1
fi

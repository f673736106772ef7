#!/bin/sh
# Build and test dependencies (Debian packages; liburing-dev for the
# batched reads, libaio-dev for where io_uring is off; strace proves in the tests
# that -n opens devices read-only, time is for bench/; util-linux has setpriv
# for the unprivileged read-only test; tests/t_install.sh builds the Debian
# package (debhelper, dpkg-dev, fakeroot, lintian), renders the manual pages
# (groff-base) and drives the bash completion (bash-completion, shellcheck);
# tests/t_fuzz.sh and `make fuzz` build the libFuzzer targets with clang and
# its runtime (clang, libclang-rt-14-dev)).
# Installs the missing ones when run as root; otherwise prints the command to
# run and exits 1.
set -u

PKGS="build-essential pkg-config libblkid-dev libaio-dev liburcu-dev
libsodium-dev libzstd-dev libxxhash-dev libisal-dev libcmocka-dev
libjson-c-dev liburing-dev zstd strace time util-linux
debhelper dpkg-dev fakeroot lintian groff-base bash-completion shellcheck
clang libclang-rt-14-dev"

if ! command -v dpkg-query >/dev/null 2>&1; then
	# shellcheck disable=SC2086 # the list, one line
	echo "deps: dpkg-query not found (not Debian?); make sure these are installed:" $PKGS >&2
	exit 0
fi

missing=
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "run as root:"
	echo "apt-get install -y --no-install-recommends$missing"
	exit 1
fi

echo "deps: installing$missing"
apt-get update || exit 1
# $missing is a list of package names: split on purpose
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing || exit 1
